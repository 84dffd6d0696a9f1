// The phone's own store for working offline (OFFLINE.md §4), shared by the devices page (which
// registers the phone) and the offline app: "device" (the token, its user and sites, the last
// sequence number), "snapshots" (per site, as GET /sites/{code}/snapshot answered) and
// "outbox" (each operation recorded, by key, in sequence order).
"use strict";

window.offlineStore = idb.openDB("yjwz-offline", 1, {
  upgrade(db) {
    db.createObjectStore("device");
    db.createObjectStore("snapshots", {keyPath: "site"});
    db.createObjectStore("outbox", {keyPath: "key"}).createIndex("seq", "seq");
  },
});
