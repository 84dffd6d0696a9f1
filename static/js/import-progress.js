// An import's progress bar: asks how far the check or the commit has come every second, shows
// the rows done and the time left, and loads the page again once it has finished.
"use strict";

document.addEventListener("DOMContentLoaded", () => {
  const panel = document.querySelector("[data-import-progress]");
  if (!panel) return;
  const bar = panel.querySelector("[data-bar]");
  const text = panel.querySelector("[data-progress-text]");
  const left = panel.querySelector("[data-left]");
  const started = Date.now();
  let firstDone = null;

  async function poll() {
    let state;
    try {
      const response = await fetch(panel.dataset.importProgress, {headers: {Accept: "application/json"}});
      if (!response.ok) throw new Error(String(response.status));
      state = await response.json();
    } catch (error) {
      setTimeout(poll, 3000);  // the network or the server is slow: ask again, a little later
      return;
    }
    if (state.status !== panel.dataset.status) {
      window.location.reload();
      return;
    }
    bar.max = state.total || 1;
    bar.value = state.done;
    text.textContent = panel.dataset.doneText.replace("{done}", state.done).replace("{total}", state.total);
    if (firstDone === null && state.done > 0) firstDone = {at: Date.now(), done: state.done};
    if (firstDone && state.done > firstDone.done && state.total) {
      const perRow = (Date.now() - firstDone.at) / (state.done - firstDone.done);
      left.hidden = false;
      const seconds = Math.max(1, Math.round((state.total - state.done) * perRow / 1000));
      left.textContent = panel.dataset.leftText.replace("{seconds}", seconds);
    }
    setTimeout(poll, Date.now() - started < 60_000 ? 1000 : 3000);
  }

  setTimeout(poll, 1000);
});
