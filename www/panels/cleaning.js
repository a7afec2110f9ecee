// 1. Dataset, "Label errors": the loaded dataset's suspected label errors (k-fold
// cross-validation, then confident learning: src/train/cross_validation.rs,
// src/label_errors.rs), each with "Accept" (the suggested value) and "Keep my label"; every
// edit goes to the change log, which can be undone, is trained on by the next run and is
// written by "Download dataset" (src/data/relabel.rs).
import { Progress, Request } from "../protocol.js";
import { onStateChange, state, update } from "../state.js";
import { $, clearError, download, el, fileName, showError, thumbnailCanvas } from "../ui.js";
import { trainingOptions } from "./options.js";
import { labelsChanged, renderSummary } from "./dataset.js";
import { keepSession } from "./session.js";

/** @typedef {import("../protocol.js").Suspect} Suspect */
/** @typedef {import("../protocol.js").ChangesReply} ChangesReply */
/** @typedef {import("../protocol.js").LabelChange} LabelChange */

let searching = false;
/** @type {import("../client.js").WorkerClient} */
let client;

/** @param {import("../client.js").WorkerClient} worker */
export function initCleaningPanel(worker) {
  client = worker;
  $("#find-label-errors").addEventListener("click", findLabelErrors);
  $("#download-dataset").addEventListener("click", downloadDataset);
  const refresh = () => {
    const { datasetLoaded, training, evaluating } = state;
    // The page's search trains ResNetV2 from scratch; a pretrained start is the CLI's
    // (`label-errors --pretrained`) for now.
    const pretrained = $("#opt-start").value === "pretrained";
    $("#cleaning").hidden = !datasetLoaded;
    $("#find-label-errors").disabled = !datasetLoaded || training || evaluating || searching || pretrained;
    $("#download-dataset").disabled = training || evaluating || searching;
  };
  onStateChange(refresh);
  $("#opt-start").addEventListener("change", refresh);
}

/** A new dataset: no suspects, no changes yet (kept edits of another stay kept). */
export function resetCleaning() {
  $("#suspects").replaceChildren();
  $("#clean-status").textContent = "";
  renderChanges([]);
  $("#changes-kept").textContent = "";
}

async function findLabelErrors() {
  clearError();
  const status = $("#clean-status");
  const folds = Number($("#clean-folds").value);
  const training = { ...trainingOptions(), epochs: Number($("#clean-epochs").value), timeBudgetSeconds: null };
  searching = true;
  status.dataset.state = "running"; // read by the browser tests
  status.textContent = "Decoding images…";
  $("#suspects").replaceChildren();
  update({ training: true }); // the runs hold the dataset and the device; Stop stops them
  try {
    const reply = await client.request(Request.FIND_LABEL_ERRORS, { options: { folds, training } }, {
      onProgress: (event) => {
        if (event.kind === Progress.DECODING) {
          status.textContent = `Decoding images: ${event.done} of ${event.total}…`;
        } else if (event.kind === Progress.FOLD_STEP) {
          status.textContent = `Run ${event.fold + 1} of ${event.folds}, epoch ${event.epoch}: step ` +
            `${event.step} of ${event.total} (loss ${event.loss.toFixed(3)})…`;
        }
      },
    });
    if (reply.stopped) {
      status.textContent = "Stopped before every run was done: nothing is suspected.";
      status.dataset.state = "stopped";
      return;
    }
    const shown = reply.suspects.length < reply.found ? ` (the ${reply.suspects.length} most certain shown)` : "";
    status.textContent = reply.found
      ? `${reply.found} labels look wrong${shown}. Accept a suggestion, or keep your label.`
      : "No label looks wrong: every label agrees with the models that did not train on it.";
    status.dataset.state = "done";
    status.dataset.found = String(reply.found);
    $("#suspects").replaceChildren(...reply.suspects.map(suspectItem));
  } catch (e) {
    status.textContent = "";
    status.dataset.state = "failed";
    showError("Label errors could not be found", e);
  } finally {
    searching = false;
    update({ training: false });
  }
}

/** A suspect: its thumbnail, what is suspected, and the two answers. */
function suspectItem(/** @type {Suspect} */ s) {
  const value = (v) => (v ? "present" : "absent");
  const certainty = Math.round(100 * s.score);
  const accept = el("button", { type: "button", class: "small accept" }, `Accept: ${value(s.suggested)}`);
  const keep = el("button", { type: "button", class: "small keep" }, "Keep my label");
  const verdict = el("span", { class: "thumb-verdict" }, "");
  const item = el("li", { "data-index": String(s.index), "data-name": s.name, "data-label": s.label,
    "data-given": String(s.given) },
    thumbnailCanvas(s.thumbnail),
    el("span", { class: "thumb-name", title: s.name }, fileName(s.name)),
    el("span", { class: "thumb-labels" }, `${s.label}: given ${value(s.given)}; the models say ` +
      `${value(s.suggested)} (${certainty} % sure)`),
    el("span", { class: "thumb-why muted" }, s.why),
    accept, keep, verdict);
  const answered = (text) => {
    accept.disabled = keep.disabled = true;
    verdict.textContent = text;
    item.dataset.answer = text;
  };
  accept.addEventListener("click", async () => {
    try {
      const why = `suspected label error (${certainty} % sure), suggestion accepted`;
      await showChanges(await client.request(Request.EDIT_LABEL, { index: s.index, label: s.label, value: s.suggested, why }));
      answered(`${s.label} is now ${value(s.suggested)}`);
    } catch (e) {
      showError("The label could not be changed", e);
    }
  });
  keep.addEventListener("click", () => answered(`kept: ${value(s.given)}`));
  return item;
}

/**
 * A change's reply: the change log shown (a table with an Undo a row), the summary's counts
 * following the edits, and the log kept in the browser.
 */
export async function showChanges(/** @type {ChangesReply} */ reply) {
  renderSummary(state.datasetName, reply.summary);
  renderChanges(reply.changes);
  await keepSession(reply.changes.length);
}

function renderChanges(/** @type {LabelChange[]} */ changes) {
  $("#changes").hidden = changes.length === 0;
  $("#changes-count").textContent = String(changes.length);
  $("#changes-table tbody").replaceChildren(...changes.map((c, k) => {
    const undo = el("button", { type: "button", class: "small" }, "Undo");
    undo.addEventListener("click", async () => {
      try {
        const reply = await client.request(Request.UNDO_CHANGE, { k });
        labelsChanged(reply.summary);
        reopen(c);
        await showChanges(reply);
        document.dispatchEvent(new Event("dataset-edited")); // the gallery shows the page again
      } catch (e) {
        showError("The change could not be undone", e);
      }
    });
    return el("tr", { "data-image": c.image, "data-label": c.label },
      // A row with no image adds, renames or removes a label; one with no label adds an image
      // or leaves it out (src/data/changes.rs).
      ...(c.renamed !== undefined ? [el("td", {}, "—"), el("td", {}, c.label), el("td", {}, `renamed ${c.renamed}`)]
        : !c.image ? [el("td", {}, "—"), el("td", {}, c.label), el("td", {}, c.new ? "label added" : "label removed")]
        : !c.label ? [el("td", {}, c.image), el("td", {}, "—"), el("td", {}, c.new ? "image added" : "left out")]
          : [el("td", {}, c.image), el("td", {}, c.label), el("td", {}, `${c.old} → ${c.new}`)]),
      el("td", {}, c.why),
      el("td", {}, undo));
  }));
}

/** The suspect whose answer `change` was, answerable again after its undo. */
function reopen(/** @type {LabelChange} */ change) {
  for (const item of /** @type {NodeListOf<HTMLElement>} */ ($("#suspects").querySelectorAll("li"))) {
    if (item.dataset.name !== change.image || item.dataset.label !== change.label) continue;
    for (const button of item.querySelectorAll("button")) button.disabled = false;
    item.querySelector(".thumb-verdict").textContent = "";
    delete item.dataset.answer;
  }
}

async function downloadDataset() {
  try {
    const zip = await client.request(Request.EXPORT_DATASET, {});
    download(zip, state.datasetName.replace(/(\.zip)?$/i, "-edited.zip"), "application/zip");
  } catch (e) {
    showError("The dataset could not be written", e);
  }
}
