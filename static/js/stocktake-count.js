// The count page (templates/stocktakes/count.html), blind: scan or type a label → the item
// (name, lot, expiry, serial; the server never sends the books) → the number pad, or 在 / 不在
// for a serial item → 确定 saves the count without reloading the page → the next scan.
//
// The page works without this script (plain forms that post and come back); here the count
// form is sent with fetch and answered in JSON, and each count gets a fresh once-only key.
"use strict";

(function () {
  const fill = (template, values) =>
    template.replace(/\{(\w+)\}/g, (whole, key) => (key in values ? String(values[key]) : whole));

  // A once-only form key (32 hex digits, inventory/idempotency.py), also on plain-HTTP pages,
  // where crypto.randomUUID is not offered.
  function freshKey() {
    const bytes = new Uint8Array(16);
    crypto.getRandomValues(bytes);
    return Array.from(bytes, (byte) => byte.toString(16).padStart(2, "0")).join("");
  }

  function attach(root) {
    const words = root.dataset;
    const base = document.body.dataset.publicBase;
    const card = root.querySelector("[data-item]");
    const form = card.querySelector("[data-count-form]");
    const amount = form.querySelector("input[name=counted]");
    const labelField = form.querySelector("input[name=label]");
    const keyField = form.querySelector("input[name=idempotency_key]");
    const pad = form.querySelector("[data-pad]");
    const plain = form.querySelector("[data-plain-submit]");
    const amountBox = form.querySelector("[data-amount]");
    const presence = form.querySelector("[data-presence]");
    const panel = root.querySelector("[data-scan-panel]");
    const video = panel.querySelector("video");
    const toggle = panel.querySelector("[data-scan-toggle]");
    const status = panel.querySelector("[data-status]");
    const message = panel.querySelector("[data-message]");
    const typed = root.querySelector("[data-type-label]");
    const leftList = root.querySelector("[data-left]");
    const countedList = root.querySelector("[data-counted]");
    const submitForm = root.querySelector("[data-submit-count]");
    const maxDigits = parseInt(amount.getAttribute("maxlength"), 10) || 10;
    let current = null;   // the item on the card
    let sending = false;
    let stop = null;

    const say = (what) => { message.textContent = what || ""; message.hidden = !what; };
    const announce = (what) => { status.textContent = what || ""; status.hidden = !what; };

    function cardError(what) {
      let error = form.querySelector("[data-card-error]");
      if (!what) { if (error) error.remove(); return; }
      if (!error) {
        error = document.createElement("p");
        error.className = "flash flash-error";
        error.setAttribute("role", "alert");
        error.dataset.cardError = "";
        form.prepend(error);
      }
      error.textContent = what;
    }

    function facts(item) {
      const parts = [];
      if (item.serial) parts.push(`${words.serial} ${item.serial}`);
      else if (item.lot) parts.push(`${words.lot} ${item.lot}`);
      if (item.expiry) parts.push(`${words.expiry} ${item.expiry}`);
      if (words.subSites && item.site_name) parts.push(item.site_name);
      parts.push(item.label_text || item.label);
      return parts.join(" · ");
    }

    // --- the card ----------------------------------------------------------------------------

    function show(item) {
      current = item;
      card.querySelector("[data-name]").textContent = item.name;
      card.querySelector("[data-facts]").textContent = facts(item);
      card.querySelector("[data-recount]").hidden = !item.recount;
      card.querySelector("[data-off-shelf]").hidden = item.on_shelf !== false;
      const note = card.querySelector("[data-counted-note]");
      note.hidden = item.counted === null || item.counted === undefined;
      if (!note.hidden) {
        note.textContent = item.counted_by
          ? fill(words.countedByText, { n: item.counted, who: item.counted_by })
          : fill(words.countedText, { n: item.counted });
      }
      form.querySelectorAll(".error, .flash").forEach((node) => node.remove());
      amount.removeAttribute("aria-invalid");
      labelField.value = item.label;
      amount.value = "";
      const serial = Boolean(item.serial);
      amountBox.hidden = serial;
      amount.disabled = serial;
      presence.hidden = !serial;
      card.hidden = false;
      card.scrollIntoView({ block: "nearest" });
    }

    function hide() {
      current = null;
      card.hidden = true;
      labelField.value = "";
      amount.value = "";
    }

    function lookUp(label) {
      const url = words.lookup.replace("LABEL", encodeURIComponent(label));
      return fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
        .then((response) => response.json())
        .catch(() => ({ error: { message: words.offline } }));
    }

    async function open(text) {
      const label = InventoryScanner.labelFrom(text, base);
      if (!label) { say(words.foreign); return; }
      const item = await lookUp(label);
      if (item.error) {
        say(item.error.details && item.error.details.label || item.error.message);
        hide();
        return;
      }
      say("");
      announce("");
      show(item);
    }

    // --- the lists ---------------------------------------------------------------------------

    function countedRow(item) {
      const row = document.createElement("li");
      row.dataset.label = item.label;
      const link = document.createElement("a");
      link.href = `${words.page}?label=${encodeURIComponent(item.label)}`;
      link.dataset.pick = "";
      const title = document.createElement("span");
      title.className = "title";
      title.textContent = item.name;
      const meta = document.createElement("span");
      meta.className = "meta";
      link.append(title, meta);
      const quantity = document.createElement("span");
      quantity.className = "qty";
      quantity.dataset.qty = "";
      row.append(link, quantity);
      return row;
    }

    function counted(item, progress) {
      const waiting = leftList.querySelector(`li[data-label="${item.label}"]`);
      if (waiting) waiting.remove();
      const row = countedList.querySelector(`li[data-label="${item.label}"]`) || countedRow(item);
      row.querySelector(".meta").textContent = facts(item) + (item.counted_by ? ` · ${item.counted_by}` : "");
      row.querySelector("[data-qty]").textContent = String(item.counted);
      countedList.prepend(row);
      const lefts = leftList.querySelectorAll("li").length;
      root.querySelector("[data-left-count]").textContent = String(lefts);
      root.querySelector("[data-left-empty]").hidden = lefts > 0;
      root.querySelector("[data-counted-count]").textContent = String(countedList.querySelectorAll("li").length);
      root.querySelector("[data-counted-empty]").hidden = true;
      root.querySelector("[data-progress]").textContent = fill(words.progressText, progress);
      const bar = root.querySelector("[data-progress-bar]");
      bar.max = Math.max(progress.total, 1);
      bar.value = progress.counted;
      if (submitForm) {
        submitForm.dataset.confirm = progress.left
          ? fill(words.confirmLeft, { left: progress.left }) : words.confirmDone;
      }
    }

    // --- counting ----------------------------------------------------------------------------

    function press(key) {
      if (!current || current.serial) return;
      if (key === "back") amount.value = amount.value.slice(0, -1);
      else if (amount.value.length < maxDigits) amount.value = (amount.value === "0" ? "" : amount.value) + key;
      cardError("");
    }

    async function send(event) {
      event.preventDefault();   // the page stays; app.js's once-only guard sees it prevented
      if (sending || !current) return;
      const data = new FormData(form);
      if (event.submitter && event.submitter.name) data.set(event.submitter.name, event.submitter.value);
      if (!current.serial && !amount.value) { cardError(words.emptyCount); return; }
      sending = true;
      let answer;
      try {
        const response = await fetch(form.action, {
          method: "POST", body: data, credentials: "same-origin", headers: { Accept: "application/json" },
        });
        answer = await response.json().catch(() => ({ error: { message: words.failed } }));
      } catch (error) {
        answer = { error: { message: words.offline } };
      } finally {
        sending = false;
      }
      if (answer.csrf_token) {
        // The page was open past its form token's life: nothing was saved; 确定 again sends it.
        const token = form.querySelector("input[name=csrf_token]");
        if (token) token.value = answer.csrf_token;
      }
      if (answer.error) {
        const details = answer.error.details || {};
        cardError(details.counted || details.label || answer.error.message);
        if (details.counted) amount.setAttribute("aria-invalid", "true");
        return;
      }
      keyField.value = freshKey();   // the next count is another request, not this one again
      const item = answer.item;
      counted(item, answer.progress);
      hide();
      InventoryScanner.beep();
      announce(fill(words.saved, {
        name: item.name,
        n: item.serial ? `${item.counted ? words.present : words.absent} (${item.counted})` : item.counted,
      }));
    }

    // --- wiring --------------------------------------------------------------------------------

    pad.hidden = false;
    plain.hidden = true;
    amount.readOnly = true;
    amount.setAttribute("inputmode", "none");   // the pad, not the phone's keyboard
    pad.addEventListener("click", (event) => {
      const key = event.target.closest("[data-key]");
      if (key) press(key.dataset.key);
    });
    // A hardware keyboard (or a scanner gun typing) works as the pad does.
    document.addEventListener("keydown", (event) => {
      if (card.hidden || !current || current.serial) return;
      if (event.target.matches("input:not([readonly]), select, textarea")) return;
      if (/^[0-9]$/.test(event.key)) { press(event.key); event.preventDefault(); }
      else if (event.key === "Backspace") { press("back"); event.preventDefault(); }
    });
    form.addEventListener("submit", send, true);

    typed.addEventListener("submit", (event) => {
      event.preventDefault();
      const input = typed.querySelector("input[name=label]");
      open(input.value).then(() => {
        if (!current) return;
        input.value = "";
        input.blur();   // the phone's keyboard goes away: the pad (or a hardware keyboard) counts
      });
    });
    root.addEventListener("click", (event) => {
      const pick = event.target.closest("a[data-pick]");
      if (!pick) return;
      event.preventDefault();
      open(pick.closest("li").dataset.label);
    });
    if (!card.hidden && labelField.value) {
      // Opened from a link (?label=): the server drew the card; ask for what the script needs.
      lookUp(labelField.value).then((item) => { if (!item.error) show(item); });
    }

    toggle.hidden = false;
    toggle.addEventListener("click", async () => {
      if (stop) {
        stop();
        stop = null;
        video.hidden = true;
        panel.classList.remove("scanning");
        toggle.textContent = words.start;
        return;
      }
      video.hidden = false;
      panel.classList.add("scanning");
      toggle.textContent = words.stop;
      say("");
      stop = await InventoryScanner.start(video, (code) => {
        const label = InventoryScanner.labelFrom(code, base);
        if (!label) { say(words.foreign); return; }
        if (current && current.label === label) return;   // the same label still in view
        InventoryScanner.beep();
        open(label);
      }, (reason) => {
        say(InventoryScanner.cameraProblem(root, reason));
        video.hidden = true;
      });
    });
  }

  document.addEventListener("DOMContentLoaded", () => {
    document.querySelectorAll("[data-stocktake-count]").forEach((root) => {
      if (root.querySelector("[data-count-form]")) attach(root);
    });
  });
})();
