// The page's side of the service worker (sw.js), which keeps the app for offline use: register
// it, and when a new build has been installed behind the running one, offer to reload into it.

/** Registers sw.js; a failure leaves the page working online, so it is only a warning. */
export async function initOffline() {
  if (!("serviceWorker" in navigator)) return;
  let registration;
  try {
    registration = await navigator.serviceWorker.register("sw.js", { scope: "./" });
  } catch (e) {
    console.warn("tagtrain: no offline copy (the service worker could not be registered):", e);
    return;
  }
  offerUpdate(registration);
  registration.addEventListener("updatefound", () => {
    const installing = registration.installing;
    installing?.addEventListener("statechange", () => {
      if (installing.state === "installed") offerUpdate(registration);
    });
  });
}

/**
 * Shows "A new version is ready" when a new service worker waits behind the one controlling
 * this page (a first install has no controller and takes the page at once). The new version
 * waits rather than taking over, so a page never runs files of two builds; the button lets it
 * take over, and the page reloads once it has.
 */
function offerUpdate(/** @type {ServiceWorkerRegistration} */ registration) {
  const waiting = registration.waiting;
  if (!waiting || !navigator.serviceWorker.controller) return;
  const notice = /** @type {HTMLElement} */ (document.querySelector("#update-notice"));
  const button = /** @type {HTMLButtonElement} */ (document.querySelector("#update-reload"));
  notice.hidden = false;
  button.onclick = () => {
    button.disabled = true;
    navigator.serviceWorker.addEventListener("controllerchange", () => location.reload(), { once: true });
    waiting.postMessage({ type: "SKIP_WAITING" });
  };
}
