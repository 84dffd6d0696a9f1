// The outbox and its sending (OFFLINE.md §4), used by the offline app. Each operation is kept in
// IndexedDB with its Idempotency key and the device's next sequence number before the keeper is
// told "已记录"; sending is done by the page — never by Background Sync — and any failed fetch
// counts as offline, since navigator.onLine lies when the server is down.
"use strict";

(function () {
  const BATCH = 100;                 // operations per POST /sync (API.md)
  const TOKEN_REFUSED = "本机令牌已失效：请重新登录并登记本机，记录仍保留在本机";
  const OPEN = new Set(["pending", "deferred"]);
  // Held for a manager: sent again with the rest, so the phone hears when the manager decides
  // (the key then answers as applied, or rejected with the manager's note).
  const ASKED_AGAIN = new Set([...OPEN, "held"]);
  const TIMEOUT_MS = 30 * 1000;      // a request hanging on a half-open mobile link counts as offline
  const STATUS_AFTER = {applied: "done", duplicate: "done", conflict: "held", rejected: "rejected",
                        deferred: "deferred"};
  const store = window.offlineStore;
  const listeners = {network: () => {}, changed: () => {}};
  let sending = null;

  function uuid() {
    if (crypto.randomUUID) return crypto.randomUUID();
    const bytes = crypto.getRandomValues(new Uint8Array(16));
    bytes[6] = (bytes[6] & 0x0f) | 0x40; bytes[8] = (bytes[8] & 0x3f) | 0x80;
    const hex = Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
    return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
  }

  async function records() {
    return (await store).getAllFromIndex("outbox", "seq");
  }

  async function waiting() {
    return (await records()).filter((record) => OPEN.has(record.status));
  }

  // fetch, given up after TIMEOUT_MS (then it throws, as a failed fetch does: offline).
  async function fetchWithin(url, options) {
    const abort = new AbortController();
    const timer = setTimeout(() => abort.abort(), TIMEOUT_MS);
    try {
      return await fetch(url, {...options, signal: abort.signal});
    } finally {
      clearTimeout(timer);
    }
  }

  // Keep one operation. ``key`` is a paper row's pre-printed key, else a new one; ``after`` names
  // the record this one needs an answer from first (a return of a loan lent offline); the rest
  // (a summary to show, …) is the page's own.
  async function keep(kind, body, {site, key, position, ...kept} = {}) {
    const db = await store;
    const snapshot = site ? await db.get("snapshots", site) : undefined;
    const tx = db.transaction(["device", "outbox"], "readwrite");
    const current = await tx.objectStore("device").get("current");
    current.seq = (current.seq || 0) + 1;
    await tx.objectStore("device").put(current, "current");
    const record = {
      key: key || uuid(), seq: current.seq, kind, body, recorded_at: new Date().toISOString(), user: current.user,
      position: position !== undefined ? position : snapshot && snapshot.position,
      ...kept, status: "pending", attempts: 0,
    };
    await tx.objectStore("outbox").add(record);
    await tx.done;
    return record;
  }

  // A return of a loan lent offline names the loan's issue and line once the loan's own record
  // has been answered; until then it waits on the phone (it cannot say which line it returns).
  function resolveAfter(record, byKey) {
    const loan = byKey.get(record.after);
    if (!loan || loan.status !== "done" || !loan.answer) return false;
    const line = loan.answer.lines.find((entry) => entry.label === record.body.lines[0].label);
    if (!line) return false;
    record.body = {issue: loan.answer.number,
                   lines: [{...record.body.lines[0], issue_line: line.id, label: undefined}]};
    delete record.after;
    return true;
  }

  // What may go now, in sequence order, from the records of the device's user (another user's,
  // kept from before the phone was registered again, go only under their own token). A return
  // waiting for its loan ends the batch while the loan is still to be sent, so that nothing
  // recorded after it goes first; a return whose loan was refused is refused with it.
  async function ready(user) {
    const all = await records();
    const byKey = new Map(all.map((record) => [record.key, record]));
    const db = await store;
    const out = [];
    for (const record of all.filter((entry) => ASKED_AGAIN.has(entry.status) && (entry.user || user) === user)) {
      if (record.after) {
        const loan = byKey.get(record.after);
        if (loan && loan.status === "rejected") {
          record.status = "rejected";
          record.detail = "对应的借出记录被拒绝，此归还未入账";
          delete record.after;
          await db.put("outbox", record);
          continue;
        }
        if (!resolveAfter(record, byKey)) {
          if (loan && OPEN.has(loan.status)) break;  // the loan goes first; this one next round
          continue;  // its loan is held: this waits, the rest go
        }
        await db.put("outbox", record);
      }
      out.push(record);
    }
    return out;
  }

  function wire({key, seq, kind, body, recorded_at, position}) {
    const lines = body.lines && body.lines.map(({label, ...rest}) => (label === undefined ? rest : {label, ...rest}));
    return {key, seq, kind, body: lines ? {...body, lines} : body, recorded_at,
            ...(position === undefined || position === null ? {} : {position})};
  }

  async function post(device, batch) {
    let response;
    try {
      response = await fetchWithin(document.body.dataset.sync, {
        method: "POST", headers: {Authorization: `Bearer ${device.token}`, "Content-Type": "application/json"},
        body: JSON.stringify({operations: batch.map(wire)}),
      });
    } catch (error) {
      listeners.network(false);
      return null;
    }
    if (response.status === 401) {
      listeners.network(true, TOKEN_REFUSED);
      return null;
    }
    if (!response.ok) {
      listeners.network(true, `同步暂时失败（${response.status}），稍后重试`);
      return null;
    }
    listeners.network(true);
    try {
      return (await response.json()).results;
    } catch (error) {  // the answer broke off: nothing is known, so everything is sent again
      listeners.network(false);
      return null;
    }
  }

  // What the server said of a record it did not apply: its message and, for bad input, each field's.
  function describe(error) {
    const fields = error.details && typeof error.details === "object" && !Array.isArray(error.details)
      ? Object.values(error.details).filter((text) => typeof text === "string") : [];
    return [error.message, ...fields].join("：");
  }

  async function note(results) {
    const db = await store;
    const tx = db.transaction("outbox", "readwrite");
    for (const result of results) {
      const kept = await tx.store.get(result.key);
      if (!kept) continue;
      kept.attempts += 1;
      kept.status = STATUS_AFTER[result.status] || kept.status;
      kept.detail = result.detail ? describe(result.detail) : (result.answer && result.answer.number) || "";
      if (result.answer) kept.answer = result.answer;
      await tx.store.put(kept);
    }
    await tx.done;
  }

  // Send what waits, each record at most once per call; a return whose loan was answered in this
  // call goes in the next round. Then the snapshots are fetched again. Resolves true when the
  // server was reached throughout.
  async function sendOnce() {
    const db = await store;
    const device = await db.get("device", "current");
    if (!device) return false;
    const sent = new Set();
    for (;;) {
      const batch = (await ready(device.user)).filter((record) => !sent.has(record.key)).slice(0, BATCH);
      if (!batch.length) break;
      const results = await post(device, batch);
      if (!results) return false;
      batch.forEach((record) => sent.add(record.key));
      await note(results);
    }
    device.lastSync = new Date().toISOString();
    const tx = db.transaction("device", "readwrite");
    const current = await tx.store.get("current");
    if (current) await tx.store.put({...current, lastSync: device.lastSync}, "current");
    await tx.done;
    return refreshSnapshots(device);
  }

  function send() {
    if (!sending) {
      sending = sendOnce().finally(() => { sending = null; listeners.changed(); });
    }
    return sending;
  }

  async function refreshSnapshots(device) {
    const db = await store;
    for (const code of device.sites) {
      const kept = await db.get("snapshots", code);
      let response;
      try {
        response = await fetchWithin(`${document.body.dataset.snapshot}${encodeURIComponent(code)}/snapshot`, {
          headers: {Authorization: `Bearer ${device.token}`, ...(kept && kept.etag ? {"If-None-Match": kept.etag} : {})},
        });
      } catch (error) {
        listeners.network(false);
        return false;
      }
      if (response.status === 401) {
        listeners.network(true, TOKEN_REFUSED);
        return false;
      }
      listeners.network(true);
      if (response.status === 304 && kept) {  // the kept one is current: as of now
        await db.put("snapshots", {...kept, taken_at: new Date().toISOString()});
        continue;
      }
      if (!response.ok) continue;
      try {
        const snapshot = await response.json();
        snapshot.etag = response.headers.get("ETag");
        await db.put("snapshots", snapshot);
      } catch (error) {
        return false;  // broke off: the kept snapshot stays
      }
    }
    return true;
  }

  // A file of the records not yet sent, to keep or hand over when the phone cannot sync (a
  // revoked token, a phone about to be reset): each record whole, with its key.
  async function exportWaiting() {
    const file = new Blob([JSON.stringify({exported_at: new Date().toISOString(), operations: await waiting()},
                                          null, 1)], {type: "application/json"});
    const link = document.createElement("a");
    link.href = URL.createObjectURL(file);
    link.download = `待同步记录-${new Date().toISOString().slice(0, 16).replace(/[:T]/g, "")}.json`;
    document.body.append(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(link.href), 10000);
  }

  window.offlineSync = {
    uuid, records, waiting, keep, send, exportWaiting, OPEN,
    idle: () => sending || Promise.resolve(),  // settles when no sending is under way
    on(event, listener) { listeners[event] = listener; },
  };
})();
