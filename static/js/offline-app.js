// 离线工作 (OFFLINE.md §4): the keeper's outbox in IndexedDB, sent by this page — on load, on
// "online", on becoming visible, every 60 s while records wait, and on 立即同步 — never by
// Background Sync. Any failed fetch counts as offline: navigator.onLine lies when the server is
// down. The page holds no user data of its own: the device token, the snapshot and the outbox
// are the phone's, in IndexedDB ("yjwz-offline"), shared with the devices page that registers.
"use strict";

(function () {
  const BATCH = 100;                 // operations per POST /sync (API.md)
  const EVERY_MS = 60 * 1000;        // resend while records wait
  const AMBER_H = 12, RED_H = 72;    // snapshot age colours
  const body = document.body;
  const $ = (selector) => document.querySelector(selector);
  const TOKEN_REFUSED = "本机令牌已失效：请重新登录并登记本机，记录仍保留在本机";
  const STATUS_NAMES = {pending: "待同步", deferred: "稍后重试", done: "已入账", held: "待审核",
                        rejected: "已驳回"};
  let sending = false;
  let tookOver = false;

  const store = window.offlineStore;

  function uuid() {
    if (crypto.randomUUID) return crypto.randomUUID();
    const bytes = crypto.getRandomValues(new Uint8Array(16));
    bytes[6] = (bytes[6] & 0x0f) | 0x40; bytes[8] = (bytes[8] & 0x3f) | 0x80;
    const hex = Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
    return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
  }

  function setOnline(state, message) {
    const banner = $("[data-network]");
    banner.textContent = message || (state ? "已联网" : "离线：记录保存在本机，联网后自动同步");
    banner.classList.toggle("warn", !state);
  }

  async function waiting() {
    const db = await store;
    return (await db.getAllFromIndex("outbox", "seq"))
      .filter((record) => record.status === "pending" || record.status === "deferred");
  }

  // --- what the page shows -------------------------------------------------------------------

  async function render() {
    const db = await store;
    const device = await db.get("device", "current");
    $("[data-unregistered]").hidden = Boolean(device);
    $("[data-registered]").hidden = !device;
    if (!device) return;
    $("[data-device]").textContent = `${device.name}（${device.user}）`;
    const sites = $("[data-sites]");
    if (sites.options.length !== device.sites.length) {
      sites.replaceChildren(...device.sites.map((code) => new Option(code, code)));
    }
    const snapshot = await db.get("snapshots", sites.value || device.sites[0]);
    const age = $("[data-snapshot-age]");
    if (snapshot) {
      const hours = (Date.now() - Date.parse(snapshot.taken_at)) / 36e5;
      age.textContent = `${snapshot.site_name} ${new Date(snapshot.taken_at).toLocaleString("zh-CN")}`;
      age.className = `status ${hours < AMBER_H ? "age-fresh" : hours < RED_H ? "age-old" : "age-stale"}`;
    } else {
      age.textContent = "尚未下载";
      age.className = "status age-stale";
    }
    const records = await db.getAllFromIndex("outbox", "seq");
    $("[data-pending]").textContent = String(
      records.filter((r) => r.status === "pending" || r.status === "deferred").length);
    $("[data-outbox-empty]").hidden = records.length > 0;
    $("[data-outbox]").replaceChildren(...records.slice().reverse().map((record) => {
      const item = document.createElement("li");
      item.dataset.status = record.status;
      item.textContent = `${describe(record)} · `;
      const badge = document.createElement("span");
      badge.className = `status outbox-${record.status}`;
      badge.textContent = STATUS_NAMES[record.status] || record.status;
      item.append(badge);
      if (record.detail) item.append(` ${record.detail}`);
      return item;
    }));
    const stocktakes = $("[data-stocktakes]");
    const open = snapshot ? snapshot.stocktakes : [];
    $("[data-count-form]").hidden = open.length === 0;
    if (stocktakes.options.length !== open.length) {
      stocktakes.replaceChildren(...open.map((entry) => new Option(`${entry.number}（${entry.period}）`, entry.id)));
    }
    await showProjected();
  }

  function describe(record) {
    if (record.kind === "count") return `盘点 ${record.body.label} = ${record.body.counted}`;
    const line = record.body.lines[0];
    return `发放 ${line.label} × ${line.quantity} · ${record.body.recipient.name}`;
  }

  // Projected stock = snapshot − records not yet sent: advice, never a block.
  async function showProjected() {
    const form = $("[data-issue-form]");
    const label = form.label.value.trim().toUpperCase();
    const out = $("[data-projected]");
    out.textContent = "";
    if (!label) return;
    const db = await store;
    const snapshot = await db.get("snapshots", form.site.value);
    const item = snapshot && snapshot.items.find((entry) => entry.label === label);
    if (!item) {
      out.textContent = snapshot ? "快照中没有此标签（仍可记录，同步时核对）" : "";
      return;
    }
    const pending = (await waiting()).filter((r) => r.kind === "issue")
      .reduce((sum, r) => sum + r.body.lines.filter((l) => l.label === label).reduce((s, l) => s + l.quantity, 0), 0);
    const left = item.quantity - pending;
    out.textContent = `${item.name}：快照 ${item.quantity}${item.unit}，待同步发放 ${pending}，预计余 ${left}${item.unit}`;
    out.classList.toggle("error", Number(form.quantity.value) > left);
  }

  // --- recording -----------------------------------------------------------------------------

  // Keep one operation in the outbox with its key and the device's next sequence number; answer
  // only once the IndexedDB transaction has completed (then it is "已记录").
  async function keep(kind, operationBody, site) {
    const db = await store;
    const snapshot = await db.get("snapshots", site);
    const tx = db.transaction(["device", "outbox"], "readwrite");
    const current = await tx.objectStore("device").get("current");
    current.seq = (current.seq || 0) + 1;
    await tx.objectStore("device").put(current, "current");
    await tx.objectStore("outbox").add({
      key: uuid(), seq: current.seq, kind, body: operationBody, recorded_at: new Date().toISOString(),
      position: snapshot ? snapshot.position : undefined, status: "pending", attempts: 0,
    });
    await tx.done;
    await askToPersist();
    await render();
    send();
  }

  async function askToPersist() {
    const db = await store;
    const device = await db.get("device", "current");
    if (device.persistAsked || !navigator.storage || !navigator.storage.persist) return;
    const persisted = await navigator.storage.persist();
    $("[data-storage]").textContent = persisted ? "本机存储已设为持久保存" : "浏览器未同意持久保存：请勿清除浏览器数据";
    // Read and written in one transaction: a save meanwhile may have moved the sequence on.
    const tx = db.transaction("device", "readwrite");
    const update = await tx.store.get("current");
    update.persistAsked = true;
    await tx.store.put(update, "current");
    await tx.done;
  }

  function saved(selector, text) {
    const message = $(selector);
    message.hidden = false;
    message.textContent = text;
  }

  async function recordIssue(event) {
    event.preventDefault();
    const form = event.target;
    const quantity = Number(form.quantity.value);
    if (!Number.isInteger(quantity) || quantity < 1) return;
    const site = form.site.value;
    const operationBody = {site, recipient: {type: "person", name: form.recipient.value.trim()},
                           lines: [{label: form.label.value.trim().toUpperCase(), quantity}]};
    await keep("issue", operationBody, site);
    form.label.value = "";
    form.quantity.value = "1";
    saved("[data-saved]", "已记录");
    form.label.focus();
  }

  async function recordCount(event) {
    event.preventDefault();
    const form = event.target;
    const counted = Number(form.counted.value);
    if (!Number.isInteger(counted) || counted < 0) return;
    const operationBody = {stocktake: Number(form.stocktake.value), label: form.label.value.trim().toUpperCase(),
                           counted};
    await keep("count", operationBody, $("[data-sites]").value);
    form.label.value = "";
    form.counted.value = "";
    saved("[data-counted]", "已记录");
    form.label.focus();
  }

  // --- sending -------------------------------------------------------------------------------

  async function send() {
    if (sending) return;
    sending = true;
    try {
      const db = await store;
      const device = await db.get("device", "current");
      if (!device) return;
      const open = await waiting();
      for (let start = 0; start < open.length; start += BATCH) {
        const batch = open.slice(start, start + BATCH);
        let response;
        try {
          response = await fetch(body.dataset.sync, {
            method: "POST", headers: {Authorization: `Bearer ${device.token}`, "Content-Type": "application/json"},
            body: JSON.stringify({operations: batch.map(({key, seq, kind, body: operation, recorded_at, position}) => (
              {key, seq, kind, body: operation, recorded_at, ...(position === undefined ? {} : {position})}))}),
          });
        } catch (error) {
          setOnline(false);
          return;
        }
        if (response.status === 401) {
          setOnline(true, TOKEN_REFUSED);
          return;
        }
        if (!response.ok) {
          setOnline(true, `同步暂时失败（${response.status}），稍后重试`);
          return;
        }
        setOnline(true);
        const {results} = await response.json();
        const tx = db.transaction("outbox", "readwrite");
        for (const result of results) {
          const kept = await tx.store.get(result.key);
          if (!kept) continue;
          kept.attempts += 1;
          kept.status = {applied: "done", duplicate: "done", conflict: "held", rejected: "rejected",
                         deferred: "deferred"}[result.status] || kept.status;
          kept.detail = result.detail ? result.detail.message : (result.answer && result.answer.number) || "";
          await tx.store.put(kept);
        }
        await tx.done;
      }
      await refreshSnapshots(device);
    } finally {
      sending = false;
      await render();
      offerUpdate();
    }
  }

  async function refreshSnapshots(device) {
    const db = await store;
    for (const code of device.sites) {
      const kept = await db.get("snapshots", code);
      let response;
      try {
        response = await fetch(`${body.dataset.snapshot}${encodeURIComponent(code)}/snapshot`, {
          headers: {Authorization: `Bearer ${device.token}`, ...(kept && kept.etag ? {"If-None-Match": kept.etag} : {})},
        });
      } catch (error) {
        setOnline(false);
        return;
      }
      if (response.status === 401) {
        setOnline(true, TOKEN_REFUSED);
        return;
      }
      setOnline(true);
      if (!response.ok) continue;  // 304: the kept one is current
      const snapshot = await response.json();
      snapshot.etag = response.headers.get("ETag");
      await db.put("snapshots", snapshot);
    }
  }

  // A file of the records not yet sent, to keep or hand over when the phone cannot sync (a
  // revoked token, a phone about to be reset): each record whole, with its key.
  async function exportWaiting() {
    const records = await waiting();
    const file = new Blob([JSON.stringify({exported_at: new Date().toISOString(), operations: records}, null, 1)],
                          {type: "application/json"});
    const link = document.createElement("a");
    link.href = URL.createObjectURL(file);
    link.download = `待同步记录-${new Date().toISOString().slice(0, 16).replace(/[:T]/g, "")}.json`;
    document.body.append(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(link.href), 10000);
  }

  // --- updates: never while a form is being filled or records wait -----------------------------

  async function offerUpdate() {
    const registration = navigator.serviceWorker && await navigator.serviceWorker.getRegistration();
    if (!registration || !registration.waiting) return;
    const form = $("[data-issue-form]");
    const busy = form.label.value.trim() || form.recipient.value.trim() || (await waiting()).length;
    $("[data-update]").hidden = false;
    if (!busy) {
      tookOver = true;
      registration.waiting.postMessage("take-over");
    }
  }

  async function start() {
    if (/MicroMessenger/i.test(navigator.userAgent)) $("[data-wechat]").hidden = false;
    if ("serviceWorker" in navigator) {
      navigator.serviceWorker.register("/sw.js").then((registration) => {
        registration.addEventListener("updatefound", offerUpdate);
      });
      // The new version took over because this page said it could: load it.
      navigator.serviceWorker.addEventListener("controllerchange", () => { if (tookOver) location.reload(); });
    }
    $("[data-issue-form]").addEventListener("submit", recordIssue);
    $("[data-count-form]").addEventListener("submit", recordCount);
    $("[data-count-form]").addEventListener("input", () => { $("[data-counted]").hidden = true; });
    $("[data-issue-form]").addEventListener("input", () => {
      $("[data-saved]").hidden = true;  // "已记录" speaks of the last save, not of what is typed now
      showProjected();
    });
    $("[data-sync-now]").addEventListener("click", send);
    $("[data-export]").addEventListener("click", exportWaiting);
    window.addEventListener("online", send);
    window.addEventListener("offline", () => setOnline(false));
    document.addEventListener("visibilitychange", () => { if (document.visibilityState === "visible") send(); });
    setInterval(async () => { if ((await waiting()).length) send(); }, EVERY_MS);
    await render();
    const device = await (await store).get("device", "current");
    if (device) {
      await send();
    } else {
      setOnline(navigator.onLine);
    }
  }

  document.addEventListener("DOMContentLoaded", start);
})();
