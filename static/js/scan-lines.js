// Continuous scanning inside a form: every scanned label becomes a line (the same label again
// raises that line's quantity); on the receipt form, scanned serial numbers fill the serial list.
"use strict";

document.addEventListener("DOMContentLoaded", () => {
  const panel = document.querySelector("[data-scan-lines]");
  if (!panel) return;
  const form = panel.closest("form");
  const video = panel.querySelector("video");
  const list = panel.querySelector("[data-scanned]");
  const message = panel.querySelector("[data-message]");
  const toggle = panel.querySelector("[data-scan-toggle]");
  const base = document.body.dataset.publicBase;
  const mode = panel.dataset.scanLines;   // "lines" or "serials"
  let stop = null;

  const say = (text) => { message.textContent = text; message.hidden = !text; };

  function rows() { return Array.from(form.querySelectorAll("[data-line]")); }

  function rowFor(label) {
    const existing = rows().find((row) => row.querySelector("input[name$='-label']").value === label);
    if (existing) return { row: existing, fresh: false };
    let empty = rows().find((row) =>
      !row.querySelector("input[name$='-label']").value &&
      !row.querySelector("select[name$='-material']").value &&
      !row.querySelector("input[name$='-quantity']").value);
    if (!empty) {
      form.querySelector("[data-add-line]").click();
      empty = rows()[rows().length - 1];
    }
    return { row: empty, fresh: true };
  }

  async function describe(label) {
    try {
      const answer = await fetch(`/scan/lookup/${label}`, { credentials: "same-origin" });
      return answer.ok ? await answer.json() : null;
    } catch (error) { return null; }
  }

  function show(label, quantity, item) {
    let entry = list.querySelector(`[data-label="${label}"]`);
    if (!entry) {
      entry = document.createElement("li");
      entry.dataset.label = label;
      list.appendChild(entry);
    }
    const name = item ? `${item.material}${item.serial ? " · " + item.serial : ""}` : label;
    entry.textContent = `${name} × ${quantity}`;
  }

  async function addLine(label) {
    const { row, fresh } = rowFor(label);
    const quantity = row.querySelector("input[name$='-quantity']");
    row.querySelector("input[name$='-label']").value = label;
    quantity.value = fresh ? "1" : String((parseInt(quantity.value, 10) || 0) + 1);
    InventoryScanner.beep();
    show(label, quantity.value, null);
    const item = await describe(label);
    if (!item) say(panel.dataset.unknown);
    show(label, quantity.value, item);
  }

  function addSerial(text) {
    const serials = form.querySelector("textarea[name=serials]");
    const known = serials.value.split("\n").map((s) => s.trim()).filter(Boolean);
    if (known.includes(text)) return;
    known.push(text);
    serials.value = known.join("\n");
    form.querySelector("input[name=quantity]").value = String(known.length);
    InventoryScanner.beep();
    show(text, 1, null);
  }

  toggle.hidden = false;
  toggle.addEventListener("click", async () => {
    if (stop) {
      stop();
      stop = null;
      video.hidden = true;
      toggle.textContent = panel.dataset.start;
      return;
    }
    video.hidden = false;
    toggle.textContent = panel.dataset.stop;
    stop = await InventoryScanner.start(video, (text) => {
      if (mode === "serials") { addSerial(text.trim()); return; }
      const label = InventoryScanner.labelFrom(text, base);
      if (label) { say(""); addLine(label); } else { say(panel.dataset.foreign); }
    }, () => say(panel.dataset.noCamera));
  });
});
