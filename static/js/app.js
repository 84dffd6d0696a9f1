// Small progressive enhancements; every page works without them.
"use strict";

document.addEventListener("DOMContentLoaded", () => {
  // The agreement section of the site form applies to agreement sites only.
  const kind = document.querySelector("select[name=kind]");
  document.querySelectorAll("[data-show-when-kind]").forEach((section) => {
    if (!kind) return;
    const update = () => { section.hidden = kind.value !== section.dataset.showWhenKind; };
    kind.addEventListener("change", update);
    update();
  });

  // Destructive buttons ask first.
  document.querySelectorAll("form[data-confirm]").forEach((form) => {
    form.addEventListener("submit", (event) => {
      if (!window.confirm(form.dataset.confirm)) event.preventDefault();
    });
  });

  // Printable documents.
  document.querySelectorAll("[data-print]").forEach((button) => {
    button.addEventListener("click", () => window.print());
  });

  // Line forms: one more row on demand — a fresh copy of the row as the page first drew it
  // (before any script dressed it up), emptied, with its index moved on.
  document.querySelectorAll("[data-add-line]").forEach((button) => {
    const container = button.previousElementSibling;
    if (!container || !container.matches("[data-lines]")) return;
    const rows = () => container.querySelectorAll("[data-line]");
    const pristine = rows()[rows().length - 1].cloneNode(true);
    button.hidden = false;
    button.addEventListener("click", () => {
      const copy = pristine.cloneNode(true);
      const next = rows().length;
      copy.querySelectorAll("[name], [id], [for], [aria-describedby]").forEach((node) => {
        ["name", "id", "for", "aria-describedby"].forEach((attribute) => {
          const value = node.getAttribute(attribute);
          if (value) node.setAttribute(attribute, value.replace(/lines-\d+-/, `lines-${next}-`));
        });
        if (node.matches("input")) { node.value = node.dataset.default || ""; node.removeAttribute("aria-invalid"); }
        if (node.matches("select")) node.selectedIndex = 0;
      });
      copy.querySelectorAll(".error").forEach((node) => node.remove());
      const legend = copy.querySelector("legend");
      if (legend) legend.textContent = legend.textContent.replace(/\d+/, String(next + 1));
      container.appendChild(copy);
    });
  });

  // A form is sent once: a second tap on a slow connection must not post it again.
  document.querySelectorAll("form[method=post]").forEach((form) => {
    form.addEventListener("submit", (event) => {
      if (event.defaultPrevented) return;
      if (form.dataset.sent) { event.preventDefault(); return; }
      form.dataset.sent = "1";
    });
  });
});
