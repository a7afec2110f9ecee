// A copy of www/ whose worker is the stand-in of tests/e2e/mock/worker.js (REVIEW_MOCK=1).
import { execFileSync } from "node:child_process";
import { copyFileSync, cpSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ROOT } from "../harness.mjs";

/** The copy's folder (left in the temporary directory). */
export async function mockRoot() {
  const root = join(mkdtempSync(join(tmpdir(), "tagtrain-mock-")), "www");
  cpSync(join(ROOT, "www"), root, { recursive: true, filter: (path) => !path.includes(`${join("www", "pkg")}`) });
  copyFileSync(join(ROOT, "tests", "e2e", "mock", "worker.js"), join(root, "worker.js"));
  // The service worker's list must match the copy's files.
  execFileSync("node", [join(ROOT, "scripts", "precache.mjs"), root], { stdio: "ignore" });
  return root;
}
