// 离线工作 (OFFLINE.md §4): the keeper's pages while the network is gone — issue or lend, take
// back, receive, count — each saved into the outbox (offline-sync.js) and sent when the server
// answers: on load, on "online", on becoming visible, every 60 s while records wait, and on
// 立即同步. The page holds no user data of its own: the device token, the snapshot and the
// outbox are the phone's, in IndexedDB ("yjwz-offline"), shared with the devices page.
"use strict";

(function () {
  const EVERY_MS = 60 * 1000;        // resend while records wait
  const AMBER_H = 12, RED_H = 72;    // snapshot age colours
  const KEY = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
  const STATUS_NAMES = {pending: "待同步", deferred: "稍后重试", done: "已入账", held: "待审核",
                        rejected: "已驳回"};
  const CONDITIONS = {good: "完好", damaged: "损坏"};
  const $ = (selector, root = document) => root.querySelector(selector);
  const store = window.offlineStore;
  const outbox = window.offlineSync;
  const dirty = new Set();           // forms typed into since their last save: no update then
  let mode = "issue";
  let paperRow = null;               // a printed row being entered: its key is the record's
  let tookOver = false;
  let installPrompt = null;

  function form(name) {
    return $(`[data-form="${name}"]`);
  }

  function setOnline(state, message) {
    const banner = $("[data-network]");
    banner.textContent = message || (state ? "已联网" : "离线：记录保存在本机，联网后自动同步");
    banner.classList.toggle("warn", !state || Boolean(message));
  }

  async function current() {
    const db = await store;
    const device = await db.get("device", "current");
    const site = $("[data-sites]").value || (device && device.sites[0]);
    return {db, device, site, snapshot: site ? await db.get("snapshots", site) : undefined};
  }

  // A label as the server reads one (labels/codes.py): no spaces or dashes, and the letters a
  // keeper mistypes for digits read as those digits (as scanner.js reads a scanned one).
  function normalized(text) {
    return (text || "").trim().toUpperCase().replace(/[\s-]/g, "").replace(/O/g, "0").replace(/[IL]/g, "1");
  }

  function options(select, entries, empty) {
    const values = entries.map(([value]) => value).join("\n");
    if (select.dataset.values === values) return;  // unchanged: keep what the keeper chose
    const chosen = select.value;
    select.replaceChildren(...entries.map(([value, text]) => new Option(text, value)));
    select.dataset.values = values;
    if (entries.some(([value]) => value === chosen)) select.value = chosen;
    if (empty) empty.hidden = entries.length > 0;
  }

  // --- what the page shows -------------------------------------------------------------------

  async function render() {
    const {db, device, snapshot} = await current();
    $("[data-unregistered]").hidden = Boolean(device);
    $("[data-registered]").hidden = !device;
    if (!device) return;
    $("[data-device]").textContent = `${device.name}（${device.user}）`;
    options($("[data-sites]"), device.sites.map((code) => [code, code]));
    $("[data-last-sync]").textContent = device.lastSync ? new Date(device.lastSync).toLocaleString("zh-CN") : "—";
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
    $("[data-pending]").textContent = String(records.filter((r) => outbox.OPEN.has(r.status)).length);
    $("[data-outbox-empty]").hidden = records.length > 0;
    $("[data-outbox]").replaceChildren(...records.slice().reverse().map((record) => outboxEntry(record, device)));
    document.querySelectorAll("[data-mode]").forEach((button) => {
      button.setAttribute("aria-pressed", String(button.dataset.mode === mode));
    });
    form("issue").hidden = mode !== "issue";
    form("return").hidden = mode !== "return";
    $("[data-form-group=receive]").hidden = mode !== "receive";
    form("count").hidden = mode !== "count";
    const stocktakes = snapshot && snapshot.stocktakes ? snapshot.stocktakes.map((entry) => [String(entry.id), `${entry.number}（${entry.period}）`]) : [];
    if (paperRow && paperRow.kind === "count" && !stocktakes.some(([id]) => id === paperRow.stocktake)) {
      stocktakes.push([paperRow.stocktake, `盘点单 ${paperRow.stocktake}（纸质单）`]);
    }
    options($("[name=stocktake]", form("count")), stocktakes, $("[data-count-none]"));
    // A transfer already recorded as arrived on this phone is not offered again.
    const arrived = new Set(records.filter((r) => r.kind === "transfer_receive" && r.status !== "rejected")
      .map((r) => r.body.number));
    options($("[name=transfer]", form("transfer")),
            ((snapshot && snapshot.incoming_transfers) || []).filter((t) => !arrived.has(t.number))
              .map((t) => [t.number, `${t.number} 来自 ${t.from_site}`]),
            $("[data-transfer-none]"));
    await Promise.all([showProjected(), showLoans(), showTransfer(), showLot()]);
    $("[data-paper-row]").hidden = !paperRow;
    if (paperRow) {
      $("[data-paper-row]").textContent = paperRow.spent
        ? `纸质单行 ${paperRow.key.slice(0, 8)} 已录入（${paperRow.spent}），不必再录`
        : `正在录入纸质单行 ${paperRow.key.slice(0, 8)}（${{issue: "发放", return: "归还", count: "盘点"}[paperRow.kind]}）`;
    }
  }

  function outboxEntry(record, device) {
    const item = document.createElement("li");
    item.dataset.status = record.status;
    item.dataset.kind = record.kind;
    item.textContent = `${record.summary || record.kind} · `;
    const badge = document.createElement("span");
    badge.className = `status outbox-${record.status}`;
    badge.textContent = record.after && record.status === "pending" ? "等待借出记录入账"
      : STATUS_NAMES[record.status] || record.status;
    item.append(badge);
    if (record.detail) item.append(` ${record.detail}`);
    if (record.user && record.user !== device.user && outbox.OPEN.has(record.status)) {
      item.append(` （${record.user} 的记录：${record.user} 在本机登录并登记后同步）`);
    }
    return item;
  }

  function itemOf(snapshot, label) {
    return snapshot && snapshot.items.find((entry) => entry.label === label);
  }

  // Projected stock = snapshot − what waits to be sent: advice, never a block.
  async function showProjected() {
    const issue = form("issue");
    const label = normalized(issue.label.value);
    const out = $("[data-projected]");
    out.textContent = "";
    out.classList.remove("error");
    const {snapshot} = await current();
    const item = itemOf(snapshot, label);
    $("[data-due]").hidden = !(item && item.returnable);
    if (!label) return;
    if (!item) {
      out.textContent = snapshot ? "快照中没有此标签（仍可记录，同步时核对）" : "";
      return;
    }
    const moved = (await outbox.waiting()).reduce((sum, record) => {
      if (record.kind === "issue") return sum - record.body.lines.filter((l) => l.label === label).reduce((s, l) => s + l.quantity, 0);
      if (record.kind === "receipt" && record.label === label) return sum + record.body.quantity;
      return sum;
    }, 0);
    const left = item.quantity + moved;
    out.textContent = `${item.name}：快照 ${item.quantity}${item.unit}，待同步 ${moved}，预计余 ${left}${item.unit}`;
    out.classList.toggle("error", Number(issue.quantity.value) > left);
  }

  // The loans a scanned label may come back from: those in the snapshot, and those lent on this
  // phone not yet answered by the server (their return waits for them on the phone).
  async function showLoans() {
    const back = form("return");
    const label = normalized(back.label.value);
    const {snapshot} = await current();
    const entries = ((snapshot && snapshot.loans) || []).filter((loan) => loan.label === label)
      .map((loan) => [`${loan.issue}|${loan.id}`, `${loan.issue} ${loan.recipient} 未还 ${loan.outstanding}`]);
    if (paperRow && paperRow.kind === "return" && paperRow.label === label
        && !entries.some(([value]) => value === `${paperRow.issue}|${paperRow.line}`)) {
      entries.push([`${paperRow.issue}|${paperRow.line}`, `${paperRow.issue}（纸质单）`]);
    }
    if (label) {
      for (const record of await outbox.records()) {
        // Lent here and not yet answered: once answered, the snapshot fetched after it lists the
        // loan while it is out (and not once it is back).
        const lent = record.kind === "issue" && record.lent && record.body.lines[0].label === label;
        if (lent && (outbox.OPEN.has(record.status) || record.status === "held")) {
          entries.push([`after|${record.key}`, `本机借出 ${record.body.recipient.name} × ${record.body.lines[0].quantity}`]);
        }
      }
    }
    options(back.loan, entries, null);
    $("[data-loan-none]").hidden = !label || entries.length > 0;
  }

  async function showTransfer() {
    const {snapshot} = await current();
    const number = form("transfer").transfer.value;
    const transfer = snapshot && snapshot.incoming_transfers.find((entry) => entry.number === number);
    $("[data-transfer-lines]").textContent = transfer
      ? transfer.lines.map((line) => `${line.material}${line.lot ? ` 批号 ${line.lot}` : ""} × ${line.quantity}`).join("；") : "";
  }

  async function showLot() {
    const {snapshot} = await current();
    const item = itemOf(snapshot, normalized(form("receipt").label.value));
    $("[data-lot]").textContent = item
      ? `${item.name}${item.lot ? ` 批号 ${item.lot}` : ""}${item.expiry_date ? ` 有效期至 ${item.expiry_date}` : ""}`
      : (form("receipt").label.value ? "快照中没有此标签：入库到已有批次需要快照里的标签" : "");
  }

  // --- recording -----------------------------------------------------------------------------

  function said(target, text, isError) {
    const message = $("[data-saved]", target);
    message.hidden = false;
    message.textContent = text;
    message.classList.toggle("flash-error", Boolean(isError));
  }

  // The key of a printed row being entered for this kind, or none; a row entered before is said
  // so and not kept again (the server would answer it as a duplicate anyway).
  async function rowKey(kind, target) {
    if (!paperRow || paperRow.kind !== kind) return {ok: true};
    const kept = await (await store).get("outbox", paperRow.key);
    if (kept || paperRow.spent) {
      said(target, `此纸质单行已录入（${kept ? STATUS_NAMES[kept.status] || kept.status : paperRow.spent}），不再重复记录`,
           true);
      paperRow = null;
      return {ok: false};
    }
    const row = paperRow;
    paperRow = null;
    return {ok: true, key: row.key, position: row.position};
  }

  // Keep one record: "已记录" is said as soon as IndexedDB has it, and the form is locked while
  // it is being kept — a second tap on a slow phone must not keep it twice.
  async function save(target, kind, body, extra) {
    if (target.dataset.saving) return false;
    target.dataset.saving = "1";
    const button = $("[type=submit]", target);
    button.disabled = true;
    try {
      const {site} = await current();
      const row = await rowKey(kind, target);
      if (!row.ok) return false;
      await outbox.keep(kind, body, {site, key: row.key, ...(row.position !== undefined ? {position: row.position} : {}),
                                     ...extra});
      dirty.delete(target);
      said(target, "已记录");
    } catch (error) {
      said(target, `未能保存到本机（${error && error.name || "错误"}）：请重试，或先导出待同步记录`, true);
      return false;
    } finally {
      delete target.dataset.saving;
      button.disabled = false;
    }
    askToPersist().catch(() => {});
    render().catch(() => {});
    outbox.send();
    return true;
  }

  function wholeNumber(input, least) {
    const value = Number(input.value);
    return Number.isInteger(value) && value >= least ? value : null;
  }

  async function recordIssue(event) {
    event.preventDefault();
    const issue = event.target;
    const quantity = wholeNumber(issue.quantity, 1);
    const label = normalized(issue.label.value);
    if (quantity === null || !label) return;
    const {site, snapshot} = await current();
    const item = itemOf(snapshot, label);
    const recipient = issue.recipient.value.trim();
    if (!recipient) {
      said(issue, "请填写领用人", true);
      return;
    }
    const line = {label, quantity, ...(item && item.returnable && issue.due_back.value ? {due_back: issue.due_back.value} : {})};
    const name = item ? item.name : label;
    if (await save(issue, "issue", {site, recipient: {type: "person", name: recipient}, lines: [line]},
                   {summary: `${item && item.returnable ? "借出" : "发放"} ${name} × ${quantity} · ${recipient}`,
                    lent: Boolean(item && item.returnable)})) {
      issue.label.value = "";
      issue.quantity.value = "1";
      issue.due_back.value = "";
      issue.label.focus();
    }
  }

  async function recordReturn(event) {
    event.preventDefault();
    const back = event.target;
    const quantity = wholeNumber(back.quantity, 1);
    const label = normalized(back.label.value);
    if (quantity === null || !back.loan.value) return;
    const [issue, line] = back.loan.value.split("|");
    const condition = back.condition.value;
    const summary = `归还 ${label} × ${quantity}（${CONDITIONS[condition]}）`;
    const saved = issue === "after"
      ? await save(back, "return", {issue: null, lines: [{label, quantity, condition}]}, {summary, after: line})
      : await save(back, "return", {issue, lines: [{issue_line: Number(line), quantity, condition}]}, {summary});
    if (saved) {
      back.label.value = "";
      back.quantity.value = "1";
      back.condition.value = "good";
      await showLoans();
    }
  }

  async function recordTransfer(event) {
    event.preventDefault();
    const number = event.target.transfer.value;
    if (!number) return;
    await save(event.target, "transfer_receive", {number}, {summary: `调拨到货 ${number}（全部）`});
  }

  async function recordReceipt(event) {
    event.preventDefault();
    const receipt = event.target;
    const quantity = wholeNumber(receipt.quantity, 1);
    const label = normalized(receipt.label.value);
    const {site, snapshot} = await current();
    const item = itemOf(snapshot, label);
    if (quantity === null || !item || item.serial) {
      if (item && item.serial) said(receipt, "有序列号的设备请联网后按序列号入库", true);
      return;
    }
    const body = {site, material: item.material, quantity, owner: item.owner,
                  ...(receipt.source.value ? {source: receipt.source.value} : {}),
                  note: "离线记录的入库",
                  ...(item.lot ? {lot: item.lot} : {}), ...(item.expiry_date ? {expiry_date: item.expiry_date} : {})};
    if (await save(receipt, "receipt", body, {summary: `入库 ${item.name} × ${quantity}`, label})) {
      receipt.label.value = "";
      receipt.quantity.value = "1";
    }
  }

  async function recordCount(event) {
    event.preventDefault();
    const count = event.target;
    const counted = wholeNumber(count.counted, 0);
    const label = normalized(count.label.value);
    if (counted === null || !label || !count.stocktake.value) return;
    if (await save(count, "count", {stocktake: Number(count.stocktake.value), label, counted},
                   {summary: `盘点 ${label} = ${counted}`})) {
      count.label.value = "";
      count.counted.value = "";
      count.label.focus();
    }
  }

  async function askToPersist() {
    const db = await store;
    const device = await db.get("device", "current");
    if (device.persistAsked || !navigator.storage || !navigator.storage.persist) return;
    const persisted = await navigator.storage.persist();
    // Read and written in one transaction: a save meanwhile may have moved the sequence on.
    const tx = db.transaction("device", "readwrite");
    const update = await tx.store.get("current");
    update.persistAsked = true;
    update.persisted = persisted;
    await tx.store.put(update, "current");
    await tx.done;
    showStorage(update);
  }

  function showStorage(device) {
    if (!device || !device.persistAsked) return;
    $("[data-storage]").textContent = device.persisted ? "本机存储已设为持久保存" : "浏览器未同意持久保存：请勿清除浏览器数据";
  }

  // --- a printed row, scanned by the phone's camera app (the URL opens this page) or here -----

  function takePaperRow(text) {
    let fields;
    try {
      const url = new URL(text, location.href);
      if (url.origin !== location.origin || url.pathname !== location.pathname) return false;
      fields = new URLSearchParams(url.hash.slice(1));
    } catch (error) {
      return false;
    }
    const row = Object.fromEntries(fields);
    if (!["issue", "return", "count"].includes(row.kind) || !KEY.test(row.key || "")) return false;
    paperRow = {...row, position: row.position !== undefined && /^\d+$/.test(row.position) ? Number(row.position) : undefined};
    mode = row.kind;
    if (row.site && [...$("[data-sites]").options].some((option) => option.value === row.site)) {
      $("[data-sites]").value = row.site;
    }
    if (row.kind === "return") {
      form("return").label.value = row.label || "";
    } else if (row.kind === "count") {
      form("count").label.value = row.label || "";
    }
    return true;
  }

  async function paperFromAddress() {
    if (!location.hash) return;
    const before = paperRow;
    const typing = [...dirty].some((target) => target.dataset.form === (before && before.kind));
    const taken = takePaperRow(location.href);
    history.replaceState(null, "", location.pathname);
    if (!taken) return;
    if (before && before.key !== paperRow.key && typing
        && !window.confirm(`纸质单行 ${before.key.slice(0, 8)} 还没有保存。放弃它，改录新扫描的这一行吗？`)) {
      paperRow = before;
      return;
    }
    const kept = await (await store).get("outbox", paperRow.key);
    if (kept) paperRow.spent = STATUS_NAMES[kept.status] || kept.status;  // said at once, and at save
    await render();
    if (paperRow && paperRow.kind === "return") form("return").loan.value = `${paperRow.issue}|${paperRow.line}`;
    if (paperRow && paperRow.kind === "count") form("count").stocktake.value = paperRow.stocktake;
    const target = {issue: form("issue"), return: form("return"), count: form("count")}[mode];
    $(mode === "issue" ? "[name=label]" : mode === "return" ? "[name=quantity]" : "[name=counted]", target).focus();
  }

  // --- the camera -------------------------------------------------------------------------------

  function attachScanner() {
    const panel = $("[data-offline-scanner]");
    const video = $("video", panel);
    const toggle = $("[data-scan-toggle]", panel);
    const message = $("[data-scan-message]", panel);
    let stop = null;
    const say = (text) => { message.hidden = !text; message.textContent = text || ""; };
    toggle.addEventListener("click", async () => {
      if (stop) {
        stop();
        stop = null;
        video.hidden = true;
        toggle.textContent = "扫码";
        return;
      }
      video.hidden = false;
      toggle.textContent = "停止扫码";
      say("");
      stop = await window.InventoryScanner.start(video, async (code) => {
        if (takePaperRow(code)) {
          window.InventoryScanner.beep();
          history.replaceState(null, "", `${location.pathname}#${new URL(code).hash.slice(1)}`);
          await paperFromAddress();
          return;
        }
        const label = window.InventoryScanner.labelFrom(code, document.body.dataset.publicBase || location.origin);
        if (!label) { say("这不是本系统的标签"); return; }
        window.InventoryScanner.beep();
        say("");
        const target = mode === "receive" ? form("receipt") : form(mode);
        target.label.value = label;
        target.dispatchEvent(new Event("input", {bubbles: true}));
      }, (reason) => {
        say(window.InventoryScanner.cameraProblem(panel, reason));
        video.hidden = true;
      });
    });
  }

  // --- updates: never while a form is being filled or records wait -----------------------------

  async function offerUpdate() {
    const registration = navigator.serviceWorker && await navigator.serviceWorker.getRegistration();
    if (!registration || !registration.waiting) return;
    $("[data-update]").hidden = false;
    if (!dirty.size && !paperRow && !(await outbox.waiting()).length) {
      tookOver = true;
      registration.waiting.postMessage("take-over");
    }
  }

  async function start() {
    if (/MicroMessenger/i.test(navigator.userAgent)) $("[data-wechat]").hidden = false;
    if ("serviceWorker" in navigator) {
      navigator.serviceWorker.register("/sw.js").then((registration) => {
        registration.addEventListener("updatefound", () => {
          registration.installing.addEventListener("statechange", offerUpdate);
        });
        offerUpdate();
      });
      // The new version took over because this page said it could: load it.
      navigator.serviceWorker.addEventListener("controllerchange", () => { if (tookOver) location.reload(); });
    }
    window.addEventListener("beforeinstallprompt", (event) => {
      event.preventDefault();
      installPrompt = event;
      $("[data-install]").hidden = false;
    });
    $("[data-install-button]").addEventListener("click", async () => {
      if (!installPrompt) return;
      installPrompt.prompt();
      await installPrompt.userChoice;
      installPrompt = null;
      $("[data-install]").hidden = true;
    });
    outbox.on("network", setOnline);
    outbox.on("changed", async () => { await render(); offerUpdate(); });
    const handlers = {issue: recordIssue, return: recordReturn, transfer: recordTransfer, receipt: recordReceipt,
                      count: recordCount};
    for (const [name, handler] of Object.entries(handlers)) {
      const target = form(name);
      target.addEventListener("submit", handler);
      target.addEventListener("input", () => {
        dirty.add(target);
        $("[data-saved]", target).hidden = true;  // "已记录" speaks of the last save, not of what is typed now
      });
    }
    form("issue").addEventListener("input", showProjected);
    form("return").addEventListener("input", (event) => { if (event.target.name === "label") showLoans(); });
    form("transfer").addEventListener("input", showTransfer);
    form("receipt").addEventListener("input", showLot);
    $("[data-sites]").addEventListener("change", render);
    document.querySelectorAll("[data-mode]").forEach((button) => {
      button.addEventListener("click", () => { mode = button.dataset.mode; render(); });
    });
    $("[data-sync-now]").addEventListener("click", () => outbox.send());
    $("[data-export]").addEventListener("click", () => outbox.exportWaiting());
    window.addEventListener("online", () => outbox.send());
    window.addEventListener("offline", () => setOnline(false));
    window.addEventListener("hashchange", paperFromAddress);
    document.addEventListener("visibilitychange", () => { if (document.visibilityState === "visible") outbox.send(); });
    setInterval(async () => { if ((await outbox.waiting()).length) outbox.send(); }, EVERY_MS);
    attachScanner();
    await render();
    const device = await (await store).get("device", "current");
    showStorage(device);
    await paperFromAddress();
    if (device) {
      await outbox.send();
    } else {
      setOnline(navigator.onLine);
    }
  }

  document.addEventListener("DOMContentLoaded", start);
})();
