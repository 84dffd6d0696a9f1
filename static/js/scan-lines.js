// The scanning part of a line form — one component for the issue, transfer and receipt forms,
// and for the later ones that count or issue by scanning.
//
// Each scanned label becomes a line at once: a card with the material, lot, expiry and quantity
// available, and − / + steppers; the same label again adds one to its line ("棉被 +1 = 2").
// A label typed by hand is looked up when its field loses focus (Enter moves on to the
// quantity instead of sending the form), and an unknown one is flagged on its row, with a
// near-miss suggested when the server knows one. A returnable material's line asks for its
// due-back date (prefilled); other lines do not show the field. On the receipt form, scanned
// serial numbers fill the serial list instead.
"use strict";

(function () {
  const text = (template, values) =>
    template.replace(/\{(\w+)\}/g, (whole, key) => (key in values ? String(values[key]) : whole));

  function attach(panel) {
    const form = panel.closest("form");
    const words = panel.dataset;
    const video = panel.querySelector("video");
    const message = panel.querySelector("[data-message]");
    const status = panel.querySelector("[data-status]");
    const toggle = panel.querySelector("[data-scan-toggle]");
    const base = document.body.dataset.publicBase;
    const known = new Map();   // label → what the server said about it (null: unknown)
    let stop = null;

    const say = (what) => { message.textContent = what || ""; message.hidden = !what; };
    const announce = (what) => { status.textContent = what; status.hidden = !what; };

    const rows = () => Array.from(form.querySelectorAll("[data-line]"));
    const field = (row, name) => row.querySelector(`[name$='-${name}']`);
    const siteCode = () => (form.querySelector("select[name=site], select[name=from_site]") || {}).value;

    function lookUp(label) {
      if (known.has(label)) return Promise.resolve(known.get(label));
      const answer = fetch(`/scan/lookup/${encodeURIComponent(label)}?site=${encodeURIComponent(siteCode() || "")}`,
        { credentials: "same-origin", headers: { Accept: "application/json" } })
        .then((response) => response.json().then((body) => (response.ok ? body : { missing: true, ...body })))
        .catch(() => ({ offline: true }));
      return answer.then((item) => {
        if (!item.offline) known.set(label, item);
        return item;
      });
    }

    // --- one row -----------------------------------------------------------------------------

    function rowError(row, what) {
      let error = row.querySelector("[data-row-error]");
      if (!what) { if (error) error.remove(); return; }
      if (!error) {
        error = document.createElement("p");
        error.className = "error";
        error.dataset.rowError = "";
        row.querySelector(".line-label, [data-card]").after(error);
      }
      error.textContent = what;
      return error;
    }

    function showDue(row, returnable) {
      const due = field(row, "due_back");
      if (!due) return;
      const wrapper = due.closest(".field");
      wrapper.hidden = !returnable;
      due.required = returnable;
      if (returnable && !due.value) due.value = due.dataset.default || "";
    }

    function fieldWrapper(row, name) { const f = field(row, name); return f && f.closest(".field"); }

    function showCard(row, item) {
      const card = row.querySelector("[data-card]");
      card.replaceChildren();
      const title = document.createElement("p");
      title.className = "title";
      title.textContent = item.material + (item.serial ? ` · ${words.serial} ${item.serial}`
        : item.lot ? ` · ${words.lot} ${item.lot}` : "");
      const meta = document.createElement("p");
      meta.className = "meta";
      const facts = [text(words.available, { n: item.quantity, unit: item.unit })];
      if (item.expiry) facts.push(`${words.expiry} ${item.expiry}`);
      facts.push(item.label_text || item.label);
      meta.textContent = facts.join(" · ");
      const remove = document.createElement("button");
      remove.type = "button";
      remove.className = "button small";
      remove.textContent = words.remove;
      remove.addEventListener("click", () => clearRow(row));
      card.append(title, meta, remove);
      card.hidden = false;
      fieldWrapper(row, "material").hidden = true;
      fieldWrapper(row, "label").hidden = true;
      const quantity = field(row, "quantity");
      quantity.max = String(item.quantity);
      if (!quantity.value) quantity.value = "1";
      showDue(row, item.returnable);
      const problems = [];
      if (item.site && siteCode() && item.site !== siteCode()) {
        problems.push(text(words.otherSite, { site: item.site_name || item.site }));
      }
      if (!item.usable) problems.push(text(words.notUsable, { status: item.status_name || item.status }));
      rowError(row, problems.join("；"));
      checkQuantity(row);
    }

    function clearRow(row) {
      ["label", "quantity"].forEach((name) => { field(row, name).value = ""; });
      field(row, "material").selectedIndex = 0;
      row.querySelector("[data-card]").hidden = true;
      fieldWrapper(row, "material").hidden = false;
      fieldWrapper(row, "label").hidden = false;
      field(row, "quantity").removeAttribute("max");
      showDue(row, false);
      rowError(row, "");
    }

    function showUnknown(row, item) {
      row.querySelector("[data-card]").hidden = true;
      fieldWrapper(row, "material").hidden = false;
      fieldWrapper(row, "label").hidden = false;
      const error = rowError(row, item.error || words.unknown);
      field(row, "label").setAttribute("aria-invalid", "true");
      if (item.suggestion) {
        const offer = document.createElement("button");
        offer.type = "button";
        offer.className = "link suggestion";
        offer.textContent = `${words.suggest}${item.suggestion.label_text}（${item.suggestion.material}）`;
        offer.addEventListener("click", () => {
          field(row, "label").value = item.suggestion.label;
          resolve(row);
        });
        error.append(" ", offer);
      }
    }

    // What the row's label is: a card when known, a flag on the row when not.
    async function resolve(row) {
      const input = field(row, "label");
      const label = InventoryScanner.labelFrom(input.value, base);
      input.removeAttribute("aria-invalid");
      if (!input.value.trim()) { rowError(row, ""); return null; }
      if (!label) { showUnknown(row, { error: words.foreign }); return null; }
      input.value = label;
      const item = await lookUp(label);
      if (field(row, "label").value !== label) return null;   // the row changed meanwhile
      if (item.offline) return null;   // no answer: the server checks it on sending
      if (item.missing) { showUnknown(row, item); return null; }
      showCard(row, item);
      return item;
    }

    function checkQuantity(row) {
      const quantity = field(row, "quantity");
      const most = parseInt(quantity.max, 10);
      const wanted = parseInt(quantity.value, 10);
      let note = row.querySelector("[data-too-many]");
      if (!Number.isNaN(most) && wanted > most) {
        if (!note) {
          note = document.createElement("p");
          note.className = "error";
          note.dataset.tooMany = "";
          quantity.closest(".field").append(note);
        }
        note.textContent = words.more;
      } else if (note) { note.remove(); }
    }

    function enhance(row) {
      if (row.dataset.enhanced) return;
      row.dataset.enhanced = "1";
      const quantity = field(row, "quantity");
      const stepper = document.createElement("div");
      stepper.className = "stepper";
      quantity.before(stepper);
      const step = (by, sign) => {
        const button = document.createElement("button");
        button.type = "button";
        button.className = "button step";
        button.textContent = sign;
        button.setAttribute("aria-label", sign === "+" ? "+1" : "-1");
        button.addEventListener("click", () => {
          const now = parseInt(quantity.value, 10) || 0;
          quantity.value = String(Math.max(by < 0 ? 1 : 0, now + by));
          checkQuantity(row);
        });
        return button;
      };
      stepper.append(step(-1, "−"), quantity, step(1, "+"));
      quantity.addEventListener("input", () => checkQuantity(row));

      const label = field(row, "label");
      label.addEventListener("blur", () => { if (label.value.trim()) resolve(row); });
      label.addEventListener("keydown", (event) => {
        if (event.key !== "Enter") return;
        event.preventDefault();   // Enter in a label field moves on; it never sends the form
        if (!quantity.value) quantity.value = "1";
        quantity.focus();
        quantity.select();
      });
      const material = field(row, "material");
      const fromMaterial = () => {
        if (label.value.trim()) return;
        const option = material.options[material.selectedIndex];
        showDue(row, Boolean(option && option.dataset.returnable));
      };
      material.addEventListener("change", fromMaterial);
      if (label.value.trim()) resolve(row); else fromMaterial();
    }

    // --- scanning ----------------------------------------------------------------------------

    function rowFor(label) {
      const same = rows().find((row) => field(row, "label").value === label);
      if (same) return { row: same, fresh: false };
      let empty = rows().find((row) => !field(row, "label").value && !field(row, "material").value
        && !field(row, "quantity").value);
      if (!empty) {
        form.querySelector("[data-add-line]").click();
        empty = rows()[rows().length - 1];
      }
      return { row: empty, fresh: true };
    }

    async function addLabel(label) {
      const { row, fresh } = rowFor(label);
      const quantity = field(row, "quantity");
      field(row, "label").value = label;
      quantity.value = fresh ? "1" : String((parseInt(quantity.value, 10) || 0) + 1);
      const total = quantity.value;
      InventoryScanner.beep();
      const item = fresh ? await resolve(row) : known.get(label);
      if (!fresh) checkQuantity(row);
      announce(text(words.counted, { name: item && !item.missing ? item.material : label, total }));
    }

    function addSerial(serial) {
      const serials = form.querySelector("textarea[name=serials]");
      const list = serials.value.split("\n").map((s) => s.trim()).filter(Boolean);
      if (list.includes(serial)) return;
      list.push(serial);
      serials.value = list.join("\n");
      form.querySelector("input[name=quantity]").value = String(list.length);
      InventoryScanner.beep();
      announce(text(words.counted, { name: serial, total: list.length }));
    }

    rows().forEach(enhance);
    new MutationObserver(() => rows().forEach(enhance))
      .observe(form.querySelector("[data-lines]") || form, { childList: true });

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
        if (panel.dataset.scanLines === "serials") { addSerial(code.trim()); return; }
        const label = InventoryScanner.labelFrom(code, base);
        if (label) { say(""); addLabel(label); } else { say(words.foreign); }
      }, (reason) => {
        say(InventoryScanner.cameraProblem(panel, reason));
        video.hidden = true;
      });
    });

    // A loan needs its due-back date; say so on the row rather than send the form to be told.
    // (Capturing: this runs before app.js marks the form as sent.)
    form.addEventListener("submit", (event) => {
      const empty = rows().map((row) => field(row, "due_back")).filter((due) => due && due.required && !due.value);
      if (!empty.length) return;
      event.preventDefault();
      empty.forEach((due) => due.setAttribute("aria-invalid", "true"));
      say(words.dueMissing);
      empty[0].focus();
    }, true);
  }

  document.addEventListener("DOMContentLoaded", () => {
    document.querySelectorAll("[data-scan-lines]").forEach(attach);
  });
})();
