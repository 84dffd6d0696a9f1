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

  // A form is sent once: a second tap on a slow connection must not post it again.
  document.querySelectorAll("form[method=post]").forEach((form) => {
    form.addEventListener("submit", (event) => {
      if (event.defaultPrevented) return;
      if (form.dataset.sent) { event.preventDefault(); return; }
      form.dataset.sent = "1";
    });
  });
});
