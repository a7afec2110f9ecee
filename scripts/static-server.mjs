// A small static file server for www/, bound to 127.0.0.1 only. No dependencies.
// Usage: node scripts/static-server.mjs [port] [root]   (port 0 picks a free one)
// Prints "tagtrain: http://127.0.0.1:PORT/" once listening.
// Every response carries the app's Content-Security-Policy: the page's <meta> states the same
// policy, but a module Worker takes its policy from its own script's response, and only a
// header can say frame-ancestors.
import { createServer } from "node:http";
import { readFile, stat } from "node:fs/promises";
import { extname, join, normalize, resolve, sep } from "node:path";
import { fileURLToPath } from "node:url";

const TYPES = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".mjs": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".wasm": "application/wasm",
  ".zip": "application/zip",
  ".png": "image/png",
  ".jpg": "image/jpeg",
  ".json": "application/json",
  ".webmanifest": "application/manifest+json",
  ".svg": "image/svg+xml",
  ".safetensors": "application/octet-stream",
};

/** The app's policy: its own files only, WebAssembly compiled, previews from blob: URLs. */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'self'", "script-src 'self' 'wasm-unsafe-eval'", "connect-src 'self'",
  "img-src 'self' blob: data:", "media-src 'self' blob:", "style-src 'self'", "worker-src 'self'",
  "manifest-src 'self'", "object-src 'none'", "base-uri 'none'", "form-action 'none'",
  "frame-ancestors 'none'",
].join("; ");

/**
 * Serves `root` on 127.0.0.1:`port`. Resolves to the `http.Server` (its `close()` and
 * `closeAllConnections()` stop it for real, as the offline tests do).
 */
export function serve(root, port = 0) {
  const base = resolve(root);
  const server = createServer(async (req, res) => {
    res.setHeader("content-security-policy", CONTENT_SECURITY_POLICY);
    try {
      const url = new URL(req.url, "http://127.0.0.1");
      let path = normalize(join(base, decodeURIComponent(url.pathname)));
      if (path !== base && !path.startsWith(base + sep)) {
        res.writeHead(403).end("forbidden");
        return;
      }
      if ((await stat(path).catch(() => null))?.isDirectory()) path = join(path, "index.html");
      const body = await readFile(path);
      res.writeHead(200, {
        "content-type": TYPES[extname(path)] ?? "application/octet-stream",
        "cache-control": "no-store",
      });
      res.end(body);
    } catch {
      res.writeHead(404, { "content-type": "text/plain" }).end("not found");
    }
  });
  return new Promise((ok) => server.listen(port, "127.0.0.1", () => ok(server)));
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const port = Number(process.argv[2] ?? 8080);
  const root = process.argv[3] ?? join(fileURLToPath(new URL("..", import.meta.url)), "www");
  const server = await serve(root, port);
  console.log(`tagtrain: http://127.0.0.1:${server.address().port}/`);
}
