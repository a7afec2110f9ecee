// The service worker: keeps the app (page, wasm module, sample, predict package, example page)
// in a cache so that it starts and trains with no network, and installs a new build only whole.
// precache.js (written by scripts/precache.mjs at each build) lists the files with their
// SHA-256 and a version made of them all; the browser compares imported scripts byte for byte
// when it checks for updates, so a new build is a new service worker with its own cache.
// A classic script: module service workers cannot use importScripts and are not everywhere.
importScripts("./precache.js");

/** This script's global: a service worker's (tsc's worker library calls it a plain worker's). */
const sw = /** @type {ServiceWorkerGlobalScope} */ (/** @type {unknown} */ (self));
const { version, files } = self.TAGTRAIN_PRECACHE;
const CACHE_PREFIX = "tagtrain-";
const CACHE = `${CACHE_PREFIX}${version}`;

/** The listed path of a URL of this origin: a folder means its index.html. */
function pathOf(/** @type {URL} */ url) {
  const scope = new URL(sw.registration.scope);
  if (url.origin !== scope.origin || !url.pathname.startsWith(scope.pathname)) return null;
  const path = url.pathname.slice(scope.pathname.length);
  return path === "" || path.endsWith("/") ? `${path}index.html` : path;
}

const hex = (buffer) => [...new Uint8Array(buffer)].map((b) => b.toString(16).padStart(2, "0")).join("");

/**
 * Fetches every listed file past the HTTP cache and checks its SHA-256 against the list: a file
 * of another build (the server was updated mid-way) fails the install, and the worker in use
 * keeps serving its own complete set.
 */
async function precache() {
  const cache = await caches.open(CACHE);
  try {
    await Promise.all(files.map(async ({ path, sha256 }) => {
      const url = new URL(path, sw.registration.scope);
      const response = await fetch(url, { cache: "reload" });
      if (!response.ok) throw new Error(`${path}: HTTP ${response.status}`);
      const body = await response.arrayBuffer();
      const got = hex(await crypto.subtle.digest("SHA-256", body));
      if (got !== sha256) throw new Error(`${path} is not the file of build ${version} (SHA-256 ${got})`);
      // The headers are kept: worker.js's Content-Security-Policy header is the worker's policy.
      const { status, statusText, headers } = response;
      await cache.put(url, new Response(body, { status, statusText, headers }));
    }));
  } catch (e) {
    await caches.delete(CACHE);
    throw e;
  }
}

sw.addEventListener("install", (event) => {
  // No skipWaiting(): a page keeps the build it started with until the person reloads (app.js
  // offers it), so a running training never has its files swapped under it.
  event.waitUntil(precache());
});

sw.addEventListener("activate", (event) => {
  event.waitUntil((async () => {
    const old = (await caches.keys()).filter((name) => name.startsWith(CACHE_PREFIX) && name !== CACHE);
    await Promise.all(old.map((name) => caches.delete(name)));
    await sw.clients.claim();
  })());
});

sw.addEventListener("message", (event) => {
  // The page's "Reload to update".
  if (event.data?.type === "SKIP_WAITING") sw.skipWaiting();
});

/** The cached response for a same-origin GET, or the network's (which is not cached). */
async function respond(/** @type {Request} */ request) {
  const url = new URL(request.url);
  const path = pathOf(url);
  if (path !== null) {
    const cache = await caches.open(CACHE);
    const key = new URL(path, sw.registration.scope);
    key.search = url.search;
    // A navigation with a query (`./?backend=cpu`) is the same page.
    const cached = await cache.match(key, { ignoreSearch: request.mode === "navigate" });
    if (cached) return cached;
  }
  return fetch(request);
}

sw.addEventListener("fetch", (event) => {
  const { request } = event;
  // Other origins and other methods are left to the browser, never cached.
  if (request.method !== "GET" || new URL(request.url).origin !== sw.location.origin) return;
  event.respondWith(respond(request));
});
