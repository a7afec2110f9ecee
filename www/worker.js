// The worker owns the wasm module. It only passes messages (protocol.js): every decision about
// data, the model and metrics is made in Rust.
import init, {
  initBackend, trainingChoices, checkZipSize, Dataset, Predictor, withThresholds, webExportFiles, exportForWeb,
  savedRunInfo, Explainer,
} from "./pkg/tagtrain.js";
import { Progress, Reply, Request } from "./protocol.js";
import { saveRunState } from "./store.js";

/** @typedef {import("./protocol.js").Requests} Requests */
/** @typedef {import("./protocol.js").ProgressEvent} ProgressEvent */

/**
 * Every GPU device the module asks for, so that its loss is reported (Reply.DEVICE_LOST) instead
 * of leaving a training step waiting forever. `globalThis.tagtrainGpuDevices` is a diagnostic
 * hook: the browser tests destroy a device through it to test the loss for real.
 */
const gpuDevices = [];
globalThis.tagtrainGpuDevices = gpuDevices;
if (globalThis.GPUAdapter) {
  const requestDevice = GPUAdapter.prototype.requestDevice;
  GPUAdapter.prototype.requestDevice = async function (descriptor) {
    const device = await requestDevice.call(this, descriptor);
    gpuDevices.push(device);
    device.lost.then(({ reason, message }) =>
      postMessage({ type: Reply.DEVICE_LOST, reason: reason ?? "unknown", message: message ?? "" }));
    return device;
  };
}

let ready = null;          // Promise of the backend info, set by "init"
let wasm = null;           // the module's exports (for its memory size)
let dataset = null;        // Dataset of the last zip that loaded
let datasetFile = null;    // its File: the zip's bytes are read again from it for each decoding
let predictor = null;      // Predictor of the last good model
let modelBytes = null;     // bytes of that model, for download
let predictorTta = false; // whether the predictor averages over shifted copies (test-time augmentation)
let review = null;         // Review of that model (validation images, or the last evaluation)
let explainer = null;      // Explainer of that model (Grad-CAM), made when first asked
let datasetName = "";      // the dataset zip's file name, for the report
let training = false;
let evaluating = false;    // the dataset is being decoded for an evaluation
let stopRequested = false;

/** The worker's wasm memory: it only grows, so this is also its peak so far. */
const wasmMemoryBytes = () => wasm?.memory?.buffer?.byteLength ?? 0;

const NO_MODEL = "No model yet: train one or load a model file.";

/**
 * The dataset drops its zip's bytes after each decoding, so that the tab holds the decoded
 * images and the network, not the zip as well; this gives them back before the next one.
 */
async function attachZip() {
  if (dataset.holdsZip()) return;
  let bytes;
  try {
    bytes = new Uint8Array(await datasetFile.arrayBuffer());
  } catch (e) {
    throw new Error(`The dataset zip can no longer be read (${e?.name ?? e}): it was moved or ` +
      "changed on disk. Choose it again.");
  }
  dataset.attachZip(bytes);
}

/** Makes the model file `bytes` the current model, if it loads; the previous one is kept otherwise. */
function usePredictor(bytes, nextReview = null) {
  const next = Predictor.fromBytes(bytes);
  predictor?.free();
  predictor = next;
  predictorTta = false;
  modelBytes = bytes;
  useReview(nextReview);
  explainer?.free();
  explainer = null;
  return { model: bytes.slice(), metadata: predictor.metadata() };
}

/** Makes `next` (or none) the review of the current model. */
function useReview(next) {
  if (review && review !== next) review.free();
  review = next ?? null;
}

const NO_REVIEW = "The model has not been measured on labelled images yet: train it, or Evaluate it on a dataset.";

/** The review, with the dataset's zip held for thumbnails. */
async function reviewWithImages() {
  await ready;
  if (!review) throw new Error(NO_REVIEW);
  await datasetWithZip();
  return review;
}

/** The loaded dataset with its zip held (thumbnails are decoded from it). */
async function datasetWithZip() {
  await ready;
  if (!dataset) throw new Error("Load a dataset zip first.");
  // While training runs the tab holds the decoded images and the network; the zip stays out.
  if (training) throw new Error("Training is running; the images can be shown when it is done.");
  if (evaluating) throw new Error("An evaluation is running; the images can be shown when it is done.");
  await attachZip();
  return dataset;
}

/**
 * Runs training to its end (or Stop, or a failure): `prepare(onDecoded)` decodes the dataset
 * and resolves to the Trainer (a new run, or a resumed one). With `autosave`, the run's state is
 * written to the browser's storage at the end of every epoch but the last, so that a reload or a
 * crash loses at most one epoch.
 */
async function train(prepare, autosave, progress) {
  await ready;
  if (!dataset) throw new Error("Load a dataset zip first.");
  if (training) throw new Error("Training is already running.");
  // Both decode the dataset, which one decoding at a time holds.
  if (evaluating) throw new Error("An evaluation is running; train when it is done.");
  training = true;
  stopRequested = false;
  let trainer = null;
  try {
    await attachZip();
    trainer = await prepare((done, total) => progress({ kind: Progress.DECODING, done, total }));
    const info = trainer.info();
    // Decoded pixels live in wasm memory, which only grows: its size is the peak so far.
    info.wasmMemoryBytes = wasmMemoryBytes();
    // A resumed run's earlier epochs, to redraw its curves.
    info.history = trainer.history();
    progress({ kind: Progress.STARTED, info });
    let event = { done: false, step: 0 };
    let failure = null;
    while (!event.done && !stopRequested) {
      try {
        event = await trainer.step();
      } catch (e) {
        failure = e instanceof Error ? e.message : String(e);
        break;
      }
      progress({ kind: Progress.STEP, ...event, wasmMemoryBytes: wasmMemoryBytes() });
      if (autosave && event.validation && !event.done) await saveEpoch(trainer, event.epoch, progress);
      // Let "stop" (a macrotask) in between two steps.
      await new Promise((resolve) => setTimeout(resolve, 0));
    }
    if (failure) {
      // A run that fails mid-way (the loss diverged) keeps its best validated epoch; with
      // none, exporting fails too and the failure stands (the previous model stays).
      const bytes = await trainer.exportModel().catch(() => { throw new Error(failure); });
      const used = usePredictor(bytes, trainer.review() ?? null);
      return { stopped: true, failure, ...used, curves: trainer.thresholdCurves(), review: review?.summary() ?? null };
    }
    if (trainer.history().stepLosses.length === 0) {
      return { stopped: true, model: null, metadata: null, curves: null };
    }
    const bytes = await trainer.exportModel();
    const curves = trainer.thresholdCurves();
    const used = usePredictor(bytes, trainer.review() ?? null);
    return { stopped: !event.done, ...used, curves, review: review?.summary() ?? null };
  } finally {
    trainer?.free();
    training = false;
  }
}

/** Writes the run's state after `epoch`; a failure (storage full) is reported, not fatal. */
async function saveEpoch(trainer, epoch, progress) {
  const started = performance.now();
  try {
    const bytes = await trainer.saveState();
    await saveRunState(bytes);
    progress({ kind: Progress.AUTOSAVED, epoch, bytes: bytes.byteLength, ms: performance.now() - started });
  } catch (e) {
    progress({ kind: Progress.AUTOSAVE_FAILED, epoch, message: e instanceof Error ? e.message : String(e) });
  }
}

/**
 * Each handler gets the request's arguments and `progress(event)`, which posts a progress reply.
 * @type {{ [T in keyof Requests]: (args: Requests[T][0], progress: (event: ProgressEvent) => void)
 *   => Promise<Requests[T][1]> }}
 */
const handlers = {
  async [Request.INIT]({ prefer }) {
    ready ??= init().then(async (exports) => {
      wasm = exports;
      const info = await initBackend({ prefer: prefer ?? "auto" });
      return { ...info, choices: trainingChoices() };
    });
    return await ready;
  },

  async [Request.LOAD_DATASET]({ file }) {
    await ready;
    // A zip the tab cannot hold is refused before its bytes are read.
    checkZipSize(file.size);
    const bytes = new Uint8Array(await file.arrayBuffer());
    // Only replace the current dataset when the new one is usable.
    const next = Dataset.fromZip(bytes);
    dataset?.free();
    dataset = next;
    datasetFile = file;
    datasetName = file.name ?? "dataset.zip";
    // A review's images are indices into the dataset it was measured on.
    useReview(null);
    return dataset.summary();
  },

  async [Request.TRAIN]({ options, initModel, autosave }, progress) {
    const initBytes = initModel ? new Uint8Array(await initModel.arrayBuffer()) : undefined;
    return train((onDecoded) => dataset.prepareTraining(options, initBytes, onDecoded), autosave, progress);
  },

  async [Request.RESUME]({ state }, progress) {
    const bytes = new Uint8Array(await state.arrayBuffer());
    return train((onDecoded) => dataset.resumeTraining(bytes, onDecoded), true, progress);
  },

  async [Request.RUN_INFO]({ state }) {
    await ready;
    // Only the file's header (8-byte length, then JSON): a run file can be hundreds of MB, and
    // wasm memory never shrinks.
    const head = await state.slice(0, 8).arrayBuffer();
    const length = head.byteLength === 8 ? Number(new DataView(head).getBigUint64(0, true)) : 0;
    const header = await state.slice(0, 8 + length).arrayBuffer();
    return savedRunInfo(new Uint8Array(header));
  },

  async [Request.MEMORY_PLAN]({ options }) {
    await ready;
    if (!dataset) throw new Error("Load a dataset zip first.");
    return dataset.memoryPlan(options);
  },

  async [Request.EXPORT_WEB]() {
    await ready;
    if (!predictor) throw new Error(NO_MODEL);
    // The package and the page, as this app serves them (the worker sits at the app's root).
    const files = await Promise.all(webExportFiles().map(async (path) => {
      const response = await fetch(new URL(path, import.meta.url));
      if (!response.ok) throw new Error(`the app's file ${path} cannot be read (HTTP ${response.status}); rebuild the app`);
      return [path, new Uint8Array(await response.arrayBuffer())];
    }));
    return exportForWeb(modelBytes, files);
  },

  async [Request.STOP]() {
    stopRequested = true;
    return { stopping: training };
  },

  async [Request.LOAD_MODEL]({ file }) {
    await ready;
    return usePredictor(new Uint8Array(await file.arrayBuffer()));
  },

  async [Request.SET_THRESHOLDS]({ thresholds }) {
    if (!predictor) throw new Error(NO_MODEL);
    // The predictor is shared with a running evaluation and cannot change under it.
    if (evaluating) throw new Error("An evaluation is running; change the thresholds when it is done.");
    const bytes = withThresholds(modelBytes, new Float32Array(thresholds));
    predictor.setThresholds(new Float32Array(thresholds));
    review?.setThresholds(new Float32Array(thresholds));
    modelBytes = bytes;
    return { model: bytes.slice(), metadata: predictor.metadata(), review: review?.summary() ?? null };
  },

  async [Request.PREDICT]({ file, tta = false }) {
    await ready;
    if (!predictor) throw new Error(NO_MODEL);
    if (tta !== predictorTta) {
      predictor.setTestTimeAugmentation(tta);
      predictorTta = tta;
    }
    const bytes = new Uint8Array(await file.arrayBuffer());
    return await predictor.predict(bytes);
  },

  async [Request.EVALUATE](_args, progress) {
    await ready;
    if (!dataset) throw new Error("Load a dataset zip first: the model is evaluated on it.");
    if (!predictor) throw new Error(NO_MODEL);
    if (training) throw new Error("Training is running; evaluate when it is done.");
    if (evaluating) throw new Error("An evaluation is already running.");
    evaluating = true;
    try {
      await attachZip();
      const next = await predictor.reviewDataset(dataset, (done, total) =>
        progress({ kind: Progress.DECODING, done, total }));
      useReview(next);
      return review.evaluation();
    } finally {
      evaluating = false;
    }
  },

  async [Request.LR_FIND]({ options }, progress) {
    await ready;
    if (!dataset) throw new Error("Load a dataset zip first.");
    if (training) throw new Error("Training is running; test learning rates when it is done.");
    if (evaluating) throw new Error("An evaluation is running; test learning rates when it is done.");
    training = true;
    stopRequested = false;
    let finder = null;
    try {
      await attachZip();
      finder = await dataset.prepareLearningRateTest(options, (done, total) =>
        progress({ kind: Progress.DECODING, done, total }));
      const total = finder.totalSteps();
      for (let step = 1; !stopRequested; step++) {
        const point = await finder.step();
        if (!point) break;
        progress({ kind: Progress.LR_POINT, point, step, total });
        // Let "stop" (a macrotask) in between two batches.
        await new Promise((resolve) => setTimeout(resolve, 0));
      }
      return finder.report();
    } finally {
      finder?.free();
      training = false;
    }
  },

  async [Request.GALLERY]({ label = null, split = null, page = 0, perPage = 48, side }) {
    const data = await datasetWithZip();
    return data.gallery({ label, split, page, perPage, side });
  },

  async [Request.REVIEW]() {
    await ready;
    return review?.summary() ?? null;
  },

  async [Request.ERRORS]({ label, limit = 24, side }) {
    const current = await reviewWithImages();
    return current.errors(dataset, label, limit, side);
  },

  async [Request.MOST_WRONG]({ limit = 24, side }) {
    const current = await reviewWithImages();
    return current.mostWrong(dataset, limit, side);
  },

  async [Request.IMAGE_DETAIL]({ index }) {
    await ready;
    if (!review) throw new Error(NO_REVIEW);
    return review.verdicts(dataset, index);
  },

  async [Request.SALIENCY]({ index, file, label }) {
    await ready;
    if (!predictor) throw new Error(NO_MODEL);
    explainer ??= Explainer.fromBytes(modelBytes);
    if (file) return await explainer.ofFile(new Uint8Array(await file.arrayBuffer()), label);
    const data = await datasetWithZip();
    return await explainer.ofImage(data, index, label);
  },

  async [Request.REPORT]({ title } = {}) {
    const current = await reviewWithImages();
    const model = title ?? predictor?.metadata()?.model ?? "model";
    return current.report(dataset, model, datasetName);
  },
};

self.onmessage = async ({ data }) => {
  const { id, type, ...args } = data;
  const progress = (event) => postMessage({ id, type: Reply.PROGRESS, event });
  try {
    const handler = handlers[type];
    if (!handler) throw new Error(`unknown request "${type}"`);
    const value = await handler(args, progress);
    postMessage({ id, type: Reply.RESULT, value });
  } catch (e) {
    postMessage({ id, type: Reply.ERROR, message: e instanceof Error ? e.message : String(e) });
  }
};
