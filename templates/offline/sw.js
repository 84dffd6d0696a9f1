// The offline app's service worker (inventory/offline/shell.py). Version {{ version }}.
// It keeps the shell and its files, from a versioned list; it never stores a signed-in page or
// anything of the API, and it lets every write through untouched.
const CACHE = "offline-{{ version }}";
const PRECACHED = {{ precached|tojson }};

self.addEventListener("install", (event) => {
  event.waitUntil(caches.open(CACHE).then((cache) => cache.addAll(PRECACHED)));
  // No skipWaiting here: an update waits until the page says it may take over (never while a
  // form is open or records wait to be sent), see offline-app.js.
});

self.addEventListener("activate", (event) => {
  event.waitUntil(caches.keys()
    .then((keys) => Promise.all(keys.filter((key) => key.startsWith("offline-") && key !== CACHE)
      .map((key) => caches.delete(key))))
    .then(() => self.clients.claim()));
});

self.addEventListener("message", (event) => {
  if (event.data === "take-over") self.skipWaiting();
});

self.addEventListener("fetch", (event) => {
  const request = event.request;
  if (request.method !== "GET") return;
  const url = new URL(request.url);
  if (url.origin !== self.location.origin || !PRECACHED.includes(url.pathname)) return;
  // What this version keeps, from the cache: the shell and its files change together, with a
  // new worker (adopted when the page allows it). Anything else goes to the network untouched.
  event.respondWith(caches.match(url.pathname, {cacheName: CACHE}).then((kept) => kept || fetch(request)));
});
