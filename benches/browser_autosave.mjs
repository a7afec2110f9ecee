// What keeping runs and models in the browser costs (run by hand, never in CI): for each
// network and backend, a fresh page trains the sample for 2 epochs; the autosave after epoch 1
// reports its time (reading the state back from the device + writing it to the private file
// system) and size, and the library entry gives the model file's size.
//
//   bash scripts/build-web.sh
//   node benches/browser_autosave.mjs [--backend cpu|webgpu|both]
//
// Prints a Markdown table for BENCHMARKS.md.
import { openApp } from "../tests/e2e/harness.mjs";

const backendArg = process.argv.includes("--backend") ? process.argv[process.argv.indexOf("--backend") + 1] : "both";
const backends = backendArg === "both" ? ["cpu", "webgpu"] : [backendArg];
const settings = [
  { depth: 11, imageSize: 64, name: "Small-11, 64 px" },
  { depth: 26, imageSize: 128, name: "Large-26, 128 px" },
];
const mb = (n) => (n / 2 ** 20).toFixed(2);

console.log("| network | page | autosave (read back + write) | run file | model file |");
console.log("|---|---|---|---|---|");
for (const backend of backends) {
  for (const s of settings) {
    const app = await openApp({ webgpu: backend === "webgpu", query: backend === "cpu" ? "?backend=cpu" : "" });
    const { page } = app;
    await page.waitForSelector("body[data-ready=true]", { timeout: 60_000 });
    await page.click("#try-sample");
    await page.waitForSelector("#summary:not([hidden])");
    await page.fill("#opt-image-size", String(s.imageSize));
    await page.selectOption("#opt-depth", String(s.depth));
    await page.fill("#opt-epochs", "2");
    await page.fill("#opt-batch-size", "16");
    await page.click("#train");
    await page.waitForSelector("#train-status[data-autosaved-epoch='1']", { timeout: 3_600_000 });
    const ms = Number(await page.getAttribute("#train-status", "data-autosave-ms"));
    const bytes = Number(await page.getAttribute("#train-status", "data-autosave-bytes"));
    await page.waitForSelector("#train-status[data-state=done]", { timeout: 3_600_000 });
    await page.waitForSelector("#library tbody tr");
    const model = Number(await page.getAttribute("#library tbody tr", "data-bytes"));
    console.log(`| ${s.name} | ${backend === "webgpu" ? "WebGPU (SwiftShader)" : "CPU"} | ${ms} ms | ${mb(bytes)} MB | ${mb(model)} MB |`);
    if (app.problems.length) console.log("problems:", app.problems);
    await app.close();
  }
}
