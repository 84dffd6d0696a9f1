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

  // Signing out never touches the phone's offline records (they are the device's, not the
  // session's), but a keeper about to hand the phone on should sync or export them first.
  document.querySelectorAll("form[data-logout]").forEach((form) => {
    form.addEventListener("submit", async (event) => {
      if (form.dataset.checked) return;
      event.preventDefault();
      const waiting = await offlineRecordsWaiting();
      if (waiting && !window.confirm(form.dataset.logout.replace("{n}", String(waiting)))) {
        window.location.href = form.dataset.offlineApp;
        return;
      }
      form.dataset.checked = "1";
      form.requestSubmit();
    }, true);
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

// How many records the phone's offline outbox holds unsent (0 when there is no outbox): read
// without creating the database, which belongs to offline-store.js and its upgrade.
function offlineRecordsWaiting() {
  return new Promise((resolve) => {
    if (!window.indexedDB) { resolve(0); return; }
    let request;
    try {
      request = indexedDB.open("yjwz-offline");
    } catch (error) { resolve(0); return; }
    request.onupgradeneeded = () => request.transaction.abort();  // no outbox here: make none
    request.onerror = () => resolve(0);
    request.onsuccess = () => {
      const db = request.result;
      if (!db.objectStoreNames.contains("outbox")) { db.close(); resolve(0); return; }
      const all = db.transaction("outbox").objectStore("outbox").getAll();
      all.onsuccess = () => {
        db.close();
        resolve(all.result.filter((record) => record.status === "pending" || record.status === "deferred").length);
      };
      all.onerror = () => { db.close(); resolve(0); };
    };
  });
}
