// The header's "Check" beside the backend: runs, on this backend, each form of a layer the
// project computes with its own kernels (on WebGPU the convolutions and the composed batch
// norm; on the CPU the convolutions and the fused batch norm + ReLU, in SIMD128) against burn's
// reference kernels on the same inputs (src/model/agreement.rs). A WebGPU driver (or a browser's
// wasm engine) that computes wrongly shows here in words, instead of as a model that does not
// learn.
import { Request } from "../protocol.js";
import { onStateChange } from "../state.js";
import { $ } from "../ui.js";

/** @typedef {import("../protocol.js").AgreementReport} AgreementReport */

let checking = false;
/** Whether the backend is WebGPU (else the CPU): the words of the verdict. */
let onGpu = false;
/** Whose results are compared, in words. */
const whose = () => (onGpu ? "this GPU's" : "the CPU backend's");

/** @param {import("../client.js").WorkerClient} client */
export function initBackendCheck(client) {
  const button = /** @type {HTMLButtonElement} */ ($("#check-backend"));
  button.addEventListener("click", () => check(client, button));
  // One task at a time in the worker: not while training, a rate test or an evaluation runs.
  onStateChange(({ training, evaluating }) => {
    button.disabled = checking || training || evaluating;
  });
}

/** Offered on both backends: each runs kernels of the project's own. */
export function offerBackendCheck(/** @type {boolean} */ gpu) {
  onGpu = gpu;
  $("#check-backend").hidden = false;
  $("#check-backend").title = `Compare ${whose()} results with the reference kernels on the same inputs`;
}

async function check(client, /** @type {HTMLButtonElement} */ button) {
  const status = $("#backend-check");
  checking = true;
  button.disabled = true;
  status.dataset.state = "running"; // read by the browser tests
  status.textContent = `comparing ${whose()} results with the reference kernels…`;
  try {
    /** @type {AgreementReport} */
    const report = await client.request(Request.CHECK_BACKEND, {});
    status.replaceChildren(...describe(report));
    status.dataset.state = report.disagreements.length ? "disagrees" : "agrees";
    status.dataset.compared = String(report.compared);
  } catch (e) {
    status.textContent = `the check could not run: ${e instanceof Error ? e.message : e}`;
    status.dataset.state = "failed";
  } finally {
    checking = false;
    button.disabled = false;
  }
}

function describe(/** @type {AgreementReport} */ report) {
  const largest = report.largestError.toExponential(1);
  if (!report.disagreements.length) {
    return [`✓ all ${report.compared} comparisons agree with the reference kernels (largest difference ${largest})`];
  }
  const list = document.createElement("ul");
  // The first few say what kind of fault it is; a broken kernel fails dozens alike.
  const shown = 8;
  for (const c of report.disagreements.slice(0, shown)) {
    const item = document.createElement("li");
    item.textContent = `${c.case}: ${c.quantity} differs by ${c.error.toExponential(1)} (at most ${c.tolerance.toExponential(0)})`;
    list.append(item);
  }
  if (report.disagreements.length > shown) {
    const more = document.createElement("li");
    more.textContent = `and ${report.disagreements.length - shown} more`;
    list.append(more);
  }
  const advice = onGpu
    ? "this GPU's driver computes some kernels wrongly, and models trained here may not learn. " +
      "Train on the CPU (add ?backend=cpu to the address) or update the graphics driver."
    : "this browser computes some of the CPU kernels wrongly, and models trained here may not " +
      "learn. Train in another browser, and please report it with the list below.";
  return [`✗ ${report.disagreements.length} of ${report.compared} comparisons disagree: ${advice}`, list];
}
