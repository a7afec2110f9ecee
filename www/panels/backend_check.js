// The header's "Check" beside a WebGPU backend: runs, on this GPU, each form of a layer the
// project computes with its own kernels (the convolutions, the composed batch norm) against
// burn's reference kernels on the same inputs (src/model/agreement.rs). A WebGPU driver that
// computes wrongly shows here in words, instead of as a model that does not learn.
import { Request } from "../protocol.js";
import { onStateChange } from "../state.js";
import { $ } from "../ui.js";

/** @typedef {import("../protocol.js").AgreementReport} AgreementReport */

let checking = false;

/** @param {import("../client.js").WorkerClient} client */
export function initBackendCheck(client) {
  const button = /** @type {HTMLButtonElement} */ ($("#check-backend"));
  button.addEventListener("click", () => check(client, button));
  // One task at a time in the worker: not while training, a rate test or an evaluation runs.
  onStateChange(({ training, evaluating }) => {
    button.disabled = checking || training || evaluating;
  });
}

/** Offered only on WebGPU: the CPU page runs burn's own kernels, so there is nothing to compare. */
export function offerBackendCheck(/** @type {boolean} */ onGpu) {
  $("#check-backend").hidden = !onGpu;
}

async function check(client, /** @type {HTMLButtonElement} */ button) {
  const status = $("#backend-check");
  checking = true;
  button.disabled = true;
  status.dataset.state = "running"; // read by the browser tests
  status.textContent = "comparing this GPU's results with the reference kernels…";
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
  return [
    `✗ ${report.disagreements.length} of ${report.compared} comparisons disagree: this GPU's driver ` +
      "computes some kernels wrongly, and models trained here may not learn. Train on the CPU " +
      "(add ?backend=cpu to the address) or update the graphics driver.",
    list,
  ];
}
