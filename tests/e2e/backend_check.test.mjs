// "Check" beside the backend, as a person uses it: the project's own forms of a layer compared
// with burn's kernels on the same backend. On WebGPU (SwiftShader here): the convolution kernels,
// the strided pair's shared subsample, the composed batch norm — the comparisons the native GPU
// tests make (src/model/gpu_conv's tests run the same `check_agreement` on a native adapter). On
// the CPU page: the CPU convolution kernels and the fused batch norm + ReLU in the page's wasm
// (SIMD128 code the native tests never run). Here they run in the page's own module, as a
// user's would.
import assert from "node:assert/strict";
import { test } from "node:test";
import { backendOf, openApp } from "./harness.mjs";

// GPU_CASES (10 convolutions × forward and two gradients), or CPU_CASES' 9 stride-1 cases for the
// CPU kernels; the strided pair (3 × two outputs and the input's gradient); the batch norm alone
// and followed by a ReLU (3 × 2 × output, three gradients, two statistics).
const COMPARED = { webgpu: 10 * 3 + 3 * 3 + 3 * 2 * 6, cpu: 9 * 3 + 3 * 3 + 3 * 2 * 6 };

for (const kind of ["webgpu", "cpu"]) {
  test(`the ${kind} backend's own kernels agree with burn's on it`, { timeout: 10 * 60_000 }, async () => {
    const app = await openApp({ webgpu: kind === "webgpu" });
    const { page } = app;
    try {
      assert.equal(await backendOf(page), kind);
      assert.ok(await page.isVisible("#check-backend"), `Check is offered on ${kind}`);
      await page.click("#check-backend");
      assert.ok(await page.isDisabled("#check-backend"), "one check at a time");
      await page.waitForSelector("#backend-check[data-state=agrees], #backend-check[data-state=disagrees], " +
        "#backend-check[data-state=failed]", { timeout: 8 * 60_000 });
      const text = await page.textContent("#backend-check");
      assert.equal(await page.getAttribute("#backend-check", "data-state"), "agrees", text);
      assert.match(text, new RegExp(`^✓ all ${COMPARED[kind]} comparisons agree with the reference kernels ` +
        "\\(largest difference \\d\\.\\de-\\d+\\)$"));
      const largest = Number(text.match(/difference (\S+)\)/)[1]);
      assert.ok(largest > 0 && largest < 1e-4, `${largest}`);
      const box = await page.locator("#backend-check").boundingBox();
      assert.ok(box && box.width > 100 && box.height > 0, "the verdict is on screen");
      assert.ok(await page.isEnabled("#check-backend"), "it can run again");
      assert.deepEqual(app.problems, []);
    } finally {
      await app.close();
    }
  });
}
