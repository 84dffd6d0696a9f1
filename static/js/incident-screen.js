// The incident screen (templates/dispatch/screen.html) keeps itself current while it is open:
// every data-refresh seconds it asks data-live (dispatch.live) for the counts, the transfers on
// the road (with their lines on the map) and the newest events, and redraws those parts. It
// pauses while the tab is hidden and asks at once when it is shown again. Without it the page
// is the same as of its loading.
"use strict";

(() => {
  const screen = document.querySelector("[data-live]");
  if (!screen) return;
  const url = screen.dataset.live;
  const every = Math.max(5, Number(screen.dataset.refresh) || 20) * 1000;
  const svg = "http://www.w3.org/2000/svg";
  let timer = null;
  let busy = false;

  const text = (tag, content, className) => {
    const node = document.createElement(tag);
    if (className) node.className = className;
    node.textContent = content;
    return node;
  };

  function showCounts(counts) {
    Object.entries(counts || {}).forEach(([name, value]) => {
      const tile = screen.querySelector(`[data-count="${name}"]`);
      const figure = tile && tile.querySelector(".figure");
      if (figure && figure.textContent !== String(value)) figure.textContent = String(value);
    });
  }

  function showTransfers(transfers) {
    const list = screen.querySelector("[data-transfers]");
    if (!list) return;
    const empty = list.querySelector(".empty");
    const emptyText = empty ? empty.textContent : "";
    list.replaceChildren(...transfers.map((t) => {
      const item = document.createElement("li");
      const link = document.createElement("a");
      link.href = t.url;
      link.append(text("span", `${t.number} · ${t.from} → ${t.to}`, "title"));
      const meta = [t.driver, t.vehicle, t.dispatched]
        .filter(Boolean).join(" · ");
      link.append(text("span", meta, "meta"));
      item.append(link);
      return item;
    }));
    if (!transfers.length) list.append(text("li", emptyText || "—", "empty"));
  }

  function showLines(lines) {
    const group = screen.querySelector("[data-roads]");
    if (!group) return;
    group.replaceChildren(...lines.map((line) => {
      const node = document.createElementNS(svg, "line");
      node.setAttribute("class", "road");
      ["x1", "y1", "x2", "y2"].forEach((name) => node.setAttribute(name, line[name]));
      const title = document.createElementNS(svg, "title");
      title.textContent = line.title;
      node.append(title);
      return node;
    }));
  }

  function showTimeline(events) {
    const list = screen.querySelector("[data-timeline]");
    if (!list || !events.length) return;
    const known = new Set([...list.querySelectorAll("[data-event]")].map((node) => node.dataset.event));
    const fresh = events.filter((event) => !known.has(String(event.id)));
    if (!fresh.length) return;
    list.querySelectorAll(".empty").forEach((node) => node.remove());
    // Newest first, as the page draws them.
    fresh.slice().reverse().forEach((event) => {
      const item = document.createElement("li");
      item.dataset.event = String(event.id);
      const line = text("span", "", "line-text");
      line.append(text("span", event.when, "meta"));
      line.append(document.createTextNode(` ${event.text}`));
      item.append(line);
      list.prepend(item);
    });
  }

  async function refresh() {
    if (busy || document.hidden) return;
    busy = true;
    try {
      const answer = await fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" });
      if (!answer.ok) return;
      const news = await answer.json();
      showCounts(news.counts);
      showTransfers(news.transfers || []);
      showLines(news.lines || []);
      showTimeline(news.timeline || []);
      const elapsed = screen.querySelector("[data-elapsed]");
      if (elapsed && news.elapsed) elapsed.textContent = news.elapsed.text;
      const stamp = screen.querySelector("[data-refreshed]");
      if (stamp) {
        const now = new Date();
        stamp.hidden = false;
        stamp.textContent = `${stamp.dataset.label} ${now.toTimeString().slice(0, 8)}`;
      }
      screen.dataset.refreshes = String(Number(screen.dataset.refreshes || 0) + 1);
    } catch (error) {
      // Offline for a moment: the next round tries again.
    } finally {
      busy = false;
    }
  }

  function start() {
    if (timer === null) timer = window.setInterval(refresh, every);
  }

  function stop() {
    if (timer !== null) window.clearInterval(timer);
    timer = null;
  }

  document.addEventListener("visibilitychange", () => {
    if (document.hidden) {
      stop();
    } else {
      refresh();
      start();
    }
  });
  // For tests and the impatient: refresh now.
  screen.addEventListener("incident:refresh", refresh);
  if (!document.hidden) start();
})();
