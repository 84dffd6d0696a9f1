// 登记本机 on the devices page: ask the server for this phone's token (the signed-in session
// and its CSRF token vouch for the keeper) and keep it in the phone's IndexedDB, where the
// offline app finds it. The token is never shown.
"use strict";

(function () {
  async function start() {
    const section = document.querySelector("[data-register]");
    if (!section || !("indexedDB" in window)) return;
    section.hidden = false;
    const state = section.querySelector("[data-register-state]");
    const db = await window.offlineStore;
    const kept = await db.get("device", "current");
    if (kept) state.textContent = `本机已登记为“${kept.name}”（${kept.user}）`;
    section.querySelector("form").addEventListener("submit", async (event) => {
      event.preventDefault();
      const form = event.target;
      let response;
      try {
        response = await fetch(form.action, {method: "POST", body: new FormData(form),
                                              headers: {Accept: "application/json"}});
      } catch (error) {
        state.textContent = "未联网：请联网后再登记";
        return;
      }
      const answer = (response.headers.get("Content-Type") || "").includes("json") ? await response.json() : null;
      if (!response.ok || !answer || answer.error) {
        state.textContent = answer && answer.error ? answer.error.message : `登记失败（${response.status}），请刷新页面后重试`;
        return;
      }
      // Read and written in one transaction: a record saved meanwhile may have moved the sequence on.
      // The records of a keeper who registered the phone before stay theirs (offline-sync.js).
      const tx = db.transaction("device", "readwrite");
      const previous = await tx.store.get("current");
      await tx.store.put({...answer, seq: previous ? previous.seq : 0}, "current");
      await tx.done;
      state.textContent = `本机已登记为“${answer.name}”`;
      section.querySelector("[data-open-app]").hidden = false;
    });
  }

  document.addEventListener("DOMContentLoaded", start);
})();
