// The page's entry: starts the worker (which owns the Rust module: data, model, metrics and
// prediction) and wires the panels together. The page itself is UI and message passing only.
import { WorkerClient } from "./client.js";
import { state, update } from "./state.js";
import { Request } from "./protocol.js";
import { $, clearError, el, initErrorArea, showError } from "./ui.js";
import { initDatasetPanel } from "./panels/dataset.js";
import { applyRecommendation, initOptionsForm, showChoices, showSoundSettings, updateMemoryPlan } from "./panels/options.js";
import { initTrainingPanel } from "./panels/training.js";
import { initLrFinder } from "./panels/lr_find.js";
import { initModelPanel, measureAgain, showModel } from "./panels/model.js";
import { initPredictPanel } from "./panels/predict.js";
import { initGalleryPanel } from "./panels/gallery.js";
import { initReviewPanel } from "./panels/review.js";
import { initLibraryPanel } from "./panels/library.js";
import { initBackendCheck, offerBackendCheck } from "./panels/backend_check.js";
import { initCleaningPanel, resetCleaning, showChanges } from "./panels/cleaning.js";
import { initLabelling } from "./panels/labelling.js";
import { initSession, newDataset, reapplyEdits } from "./panels/session.js";
import { labelsChanged } from "./panels/dataset.js";
import { initOffline } from "./offline.js";

/** @typedef {import("./protocol.js").BackendInfo} BackendInfo */

/** The backend badge and its adapter. */
function showBadge(/** @type {BackendInfo} */ info) {
  const badge = $("#backend");
  badge.textContent = info.kind === "webgpu" ? "WebGPU" : "CPU";
  badge.dataset.kind = info.kind; // styles the badge; read by the browser tests
  badge.dataset.maxBuffer = String(info.maxBufferBytes ?? ""); // read by the browser tests
  $("#adapter").textContent = info.adapter ? `(${info.adapter})` : "";
  offerBackendCheck(info.kind === "webgpu");
}

function showBackend(/** @type {BackendInfo} */ info) {
  showBadge(info);
  $("#backend-notice").hidden = !info.notice;
  $("#backend-notice").textContent = info.notice ?? "";
  update({ choices: info.choices });
  showChoices(info.choices);
  // Time from navigation start to a usable backend (read by benches/browser.mjs); the tests
  // wait for data-ready, so the options form is filled before it is set.
  document.body.dataset.readyMs = String(Math.round(performance.now()));
  document.body.dataset.ready = "true";
}

initErrorArea();
// `?backend=cpu` forces the CPU backend (useful to compare speeds).
const prefer = new URLSearchParams(location.search).get("backend") ?? "auto";
const client = new WorkerClient({ prefer }, (ready, crash) => {
  // A restarted worker has the same choices (the form keeps what the person set), and the same
  // backend unless the GPU was lost.
  const started = !crash ? ready.then(showBackend) : crash.deviceLost ? ready.then(showBadge) : ready;
  started.catch((e) => {
    $("#backend").textContent = "unavailable";
    showError("The compute backend could not start", e);
  });
  if (crash) started.then(() => restoreAfterCrash(crash));
  // A run saved in the browser (a reload, a crash, a closed tab) is offered for resuming.
  started.then(() => training.offerResume());
});

/**
 * A new worker after a crash holds nothing: give it the dataset and the model the page shows,
 * so that both stay usable without reloading the page.
 */
async function restoreAfterCrash(/** @type {import("./client.js").Crash} */ crash) {
  const restored = [];
  try {
    if (state.datasetFile) {
      await client.request(Request.LOAD_DATASET, { file: state.datasetFile, newLabels: state.datasetNewLabels });
      await reapplyEdits();
      restored.push("the dataset");
    }
    if (state.modelFile) {
      await client.request(Request.LOAD_MODEL, { file: state.modelFile });
      restored.push("the model");
    }
    // The new worker has not measured the model (Evaluate again to see the views).
    await measureAgain();
    const again = restored.length ? `; ${restored.join(" and ")} were loaded into it again` : "";
    const notice = $("#backend-notice");
    notice.hidden = false;
    if (crash.deviceLost) {
      // A step in flight may have failed first with the backend's own words; this says why.
      showError("The GPU stopped working", `${crash.message.replace(/^the/, "The")}. The last ` +
        "good model is kept, and the page moved to the CPU.");
      notice.replaceChildren(
        `The GPU stopped working (${crash.message.replace(/^the GPU device was lost /, "device lost ")}). ` +
        `The page now trains on the CPU${again}; reload the page to try WebGPU again. `,
        el("button", { type: "button", id: "train-on-cpu" }, "Continue on the CPU"));
      // The same run again, on the CPU, with the options the form holds.
      $("#train-on-cpu").addEventListener("click", () => {
        clearError();
        $("#train").click();
      });
    } else {
      notice.textContent = `The worker stopped (${crash.message}) and was restarted${again}.`;
    }
  } catch (e) {
    showError("The worker was restarted, but it could not take the dataset and model again", e);
  }
  // Read by the browser tests: how many restarts have been recovered from.
  document.body.dataset.restored = String(Number(document.body.dataset.restored ?? 0) + 1);
}

initBackendCheck(client);
initCleaningPanel(client);
initOptionsForm(client);
initLrFinder(client);
const dataset = initDatasetPanel(client, {
  onSummary: (summary) => {
    resetCleaning();
    newDataset();
    showSoundSettings(summary.sound);
    applyRecommendation(summary.recommended);
    // The model's review may have been of the previous dataset's images.
    if (state.model) measureAgain();
  },
  onLabelsChosen: () => updateMemoryPlan(),
});
initGalleryPanel(client, { onOpenImage: (index) => reviewPanel.openImage(index) });
initLabelling(client);
initSession(client, {
  loadDataset: dataset.loadDataset,
  onRestored: async (reply) => {
    labelsChanged(reply.summary);
    await showChanges(reply);
    document.dispatchEvent(new Event("dataset-edited"));
  },
});
const library = initLibraryPanel(client, {
  onOpen: (bytes, metadata, origin) => showModel(bytes, metadata, origin),
});
const training = initTrainingPanel(client, {
  onModel: (result) => {
    showModel(result.model, result.metadata, "trained here", { curves: result.curves, review: result.review ?? null });
    const when = new Date().toLocaleString();
    library.add(result.model, result.metadata, {
      name: `${state.datasetName.replace(/\.zip$/i, "")} · ${result.metadata.model} · ${when}`,
      origin: result.failure ? "trained here (stopped early: the loss diverged)" : result.stopped ? "trained here (stopped)" : "trained here",
    });
  },
  loadDataset: dataset.loadDataset,
});
const predictPanel = initPredictPanel(client);
const reviewPanel = initReviewPanel(client);
initModelPanel(client, {
  onThresholdsChanged: (bytes) => {
    predictPanel.predictAgain();
    library.modelChanged(bytes);
  },
  onModelLoaded: (bytes, metadata, fileName) =>
    library.add(bytes, metadata, { name: fileName.replace(/\.safetensors$/i, ""), origin: `loaded from ${fileName}` }),
});
library.refresh();
// Every panel shows the initial state (buttons disabled until there is something to act on).
update({});
initOffline();
