// The QR scanner: the phone camera through barcode-detector (zxing-cpp compiled to WebAssembly,
// served from static/, never a CDN). It reads our labels — a scan URL {base}/s/{label} or a bare
// 16-character label — and refuses anything else.
"use strict";

(function () {
  const LABEL = /^[0-9A-HJKMNP-TV-Z]{16}$/;
  // A label held in front of the camera counts once: it counts again only after it has been out
  // of sight this long (a frame or two that fails to read it does not make it "gone").
  const GONE_AFTER_MS = 1200;
  let detectorPromise = null;

  function detector() {
    if (!detectorPromise) {
      const api = window.BarcodeDetectionAPI;
      api.prepareZXingModule({
        overrides: {
          locateFile: (path, prefix) => path.endsWith(".wasm")
            ? document.body.dataset.zxingWasm : prefix + path,
        },
      });
      detectorPromise = Promise.resolve(new api.BarcodeDetector({ formats: ["qr_code"] }));
    }
    return detectorPromise;
  }

  // A label from what a QR code says; null when it is not one of ours.
  function labelFrom(text, base) {
    let value = (text || "").trim();
    const prefix = base.replace(/\/+$/, "") + "/s/";
    if (value.startsWith(prefix)) {
      value = value.slice(prefix.length);
    } else {
      try {
        const url = new URL(value);
        if (url.origin !== window.location.origin || !url.pathname.startsWith("/s/")) return null;
        value = url.pathname.slice(3);
      } catch (error) { /* not a URL: perhaps a bare label */ }
    }
    value = value.toUpperCase().replace(/[\s-]/g, "").replace(/O/g, "0").replace(/[IL]/g, "1");
    return LABEL.test(value) ? value : null;
  }

  function beep() {
    try {
      const context = new (window.AudioContext || window.webkitAudioContext)();
      const tone = context.createOscillator();
      tone.frequency.value = 1200;
      tone.connect(context.destination);
      tone.start();
      tone.stop(context.currentTime + 0.08);
    } catch (error) { /* no sound: the vibration and the list still say it */ }
    if (navigator.vibrate) navigator.vibrate(80);
  }

  // Start the camera in ``video``; call onCode(text) when a code comes into view (a code that
  // stays in view is not reported again). Returns a function that stops the camera.
  async function start(video, onCode, onError) {
    let stream;
    // Browsers open the camera only for HTTPS pages (and localhost): elsewhere there is no
    // navigator.mediaDevices at all, and the keeper needs to hear what to do instead.
    if (!window.isSecureContext || !navigator.mediaDevices) {
      onError("insecure");
      return () => {};
    }
    try {
      stream = await navigator.mediaDevices.getUserMedia({
        video: { facingMode: "environment" }, audio: false,
      });
    } catch (error) {
      onError(error && error.name === "NotFoundError" ? "none" : "denied");
      return () => {};
    }
    video.srcObject = stream;
    await video.play();
    const found = await detector();
    let running = true;
    const lastSeen = new Map();
    (async function tick() {
      if (!running) return;
      if (video.readyState >= 2) {
        try {
          const now = Date.now();
          for (const code of await found.detect(video)) {
            const seen = lastSeen.get(code.rawValue);
            lastSeen.set(code.rawValue, now);
            if (seen === undefined || now - seen > GONE_AFTER_MS) onCode(code.rawValue);
          }
        } catch (error) { /* a frame that could not be read: try the next */ }
      }
      setTimeout(tick, 120);
    })();
    return () => {
      running = false;
      stream.getTracks().forEach((track) => track.stop());
      video.srcObject = null;
    };
  }

  // The message for a camera that would not open; ``element`` carries the page's wording
  // (templates/labels/_camera_messages.html).
  function cameraProblem(element, reason) {
    const key = { insecure: "cameraInsecure", none: "cameraNone" }[reason] || "cameraDenied";
    return element.dataset[key];
  }

  window.InventoryScanner = { start, labelFrom, beep, cameraProblem };
})();
