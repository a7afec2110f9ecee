// A model trained by the native CLI loads in the page and predicts the same probabilities
// (within 1e-4) as the CLI does for the same image.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { homedir, tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "node:test";
import { backendOf, FIXTURES, openApp, shownPredictions } from "./harness.mjs";

const targetDir = process.env.CARGO_TARGET_DIR ?? join(homedir(), ".cache", "tagtrain-target");
const binary = join(targetDir, "release", "tagtrain");

test("a model trained by the CLI predicts the same in the browser", { timeout: 10 * 60_000 }, async () => {
  assert.ok(existsSync(binary), `${binary} is built by \`cargo test --release\` (scripts/test.sh runs it first)`);
  const dir = mkdtempSync(join(tmpdir(), "tagtrain-cli-model-"));
  const model = join(dir, "cli.safetensors");
  const image = join(FIXTURES, "digit.png");
  execFileSync(binary, ["train", join(FIXTURES, "smoke_mnist32.zip"), "-o", model, "--epochs", "2",
    "--batch-size", "8", "--quiet"], { stdio: ["ignore", "ignore", "pipe"] });
  const [cli] = JSON.parse(execFileSync(binary, ["predict", model, image, "--json"], { encoding: "utf8" }));
  const expected = Object.fromEntries(cli.predictions.map((p) => [p.label, p.probability]));

  const app = await openApp({ webgpu: true });
  const { page } = app;
  try {
    assert.equal(await backendOf(page), "webgpu");
    await page.setInputFiles("#model-file", model);
    await page.waitForFunction(() => /loaded from/.test(document.querySelector("#model-info").textContent));
    await page.setInputFiles("#predict-file", image);
    const shown = await shownPredictions(page);
    assert.equal(shown.length, cli.predictions.length);
    for (const p of shown) {
      assert.ok(Math.abs(p.probability - expected[p.label]) <= 1e-4,
        `${p.label}: browser ${p.probability}, CLI ${expected[p.label]}`);
    }
    assert.deepEqual(app.problems, []);
  } finally {
    await app.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
