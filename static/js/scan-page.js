// The /scan page: one code opens its item; a label can be typed instead.
"use strict";

document.addEventListener("DOMContentLoaded", () => {
  const root = document.querySelector("[data-scanner-page]");
  if (!root) return;
  const video = root.querySelector("video");
  const message = root.querySelector("[data-message]");
  const base = document.body.dataset.publicBase;
  const open = (label) => { window.location.href = `/s/${label}`; };
  const say = (text) => { message.textContent = text; message.hidden = false; };

  InventoryScanner.start(video, (text) => {
    const label = InventoryScanner.labelFrom(text, base);
    if (label) {
      InventoryScanner.beep();
      open(label);
    } else {
      say(root.dataset.foreign);
    }
  }, (reason) => say(InventoryScanner.cameraProblem(root, reason)));

  root.querySelector("form").addEventListener("submit", (event) => {
    event.preventDefault();
    const label = InventoryScanner.labelFrom(root.querySelector("input").value, base);
    if (label) open(label); else say(root.dataset.foreign);
  });
});
