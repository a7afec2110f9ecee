// The worker owns the wasm module and passes messages (protocol.js) to its `Workspace`, which
// holds what is loaded and what runs: every decision about data, the model, metrics and what
// may run when is made in Rust. What stays here is the browser's side: files, storage, fetch.
import init, { checkZipSize, initBackend, trainingChoices, savedRunInfo, Workspace, zipFolder } from "./pkg/tagtrain.js";
import { Reply, Request } from "./protocol.js";
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

/** Promise of the backend info and the workspace, set by "init". */
let ready = null;

/** The workspace, once the module and its backend are up. */
async function workspace() {
  const started = await ready;
  if (!started) throw new Error("the worker is not started; send init first");
  return started.workspace;
}

/** An app file's bytes (the worker sits at the app's root), for "Export for the web". */
async function appFile(path) {
  const response = await fetch(new URL(path, import.meta.url));
  if (!response.ok) throw new Error(`the app's file ${path} cannot be read (HTTP ${response.status}); rebuild the app`);
  return new Uint8Array(await response.arrayBuffer());
}

/** @type {Promise<Uint8Array> | null} */
let pretrained = null;

/**
 * EfficientNet-Lite0's ImageNet weights, served with the app (and kept offline by the service
 * worker), read once per worker.
 */
function pretrainedWeights() {
  pretrained ??= appFile("pretrained/efficientnet-lite0.safetensors").catch((e) => {
    pretrained = null;
    throw e;
  });
  return pretrained;
}

/**
 * Each handler gets the request's arguments and `progress(event)`, which posts a progress reply.
 * @type {{ [T in keyof Requests]: (args: Requests[T][0], progress: (event: ProgressEvent) => void)
 *   => Promise<Requests[T][1]> }}
 */
const handlers = {
  async [Request.INIT]({ prefer }) {
    ready ??= init().then(async () => {
      const info = await initBackend({ prefer: prefer ?? "auto" });
      return { info: { ...info, choices: trainingChoices() }, workspace: new Workspace() };
    });
    return (await ready).info;
  },
  async [Request.LOAD_DATASET]({ file, newLabels }) {
    return (await workspace()).loadDataset(file, newLabels ?? []);
  },
  async [Request.TRAIN]({ options, initModel, autosave }, progress) {
    const weights = options.pretrained ? await pretrainedWeights() : undefined;
    return (await workspace()).train(options, initModel ?? null, weights, autosave ? saveRunState : null, progress);
  },
  async [Request.RESUME]({ state }, progress) {
    return (await workspace()).resume(state, saveRunState, progress);
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
    return (await workspace()).memoryPlan(options);
  },
  async [Request.EXPORT_WEB]() {
    return (await workspace()).exportForWeb(appFile);
  },
  async [Request.STOP]() {
    return (await workspace()).stop();
  },
  async [Request.LOAD_MODEL]({ file }) {
    return (await workspace()).loadModel(file);
  },
  async [Request.SET_THRESHOLDS]({ thresholds }) {
    return (await workspace()).setThresholds(new Float32Array(thresholds));
  },
  async [Request.PREDICT]({ file, tta = false }) {
    return (await workspace()).predict(file, tta);
  },
  async [Request.PREDICT_WINDOWS]({ file, stepSeconds }) {
    return (await workspace()).predictWindows(file, stepSeconds);
  },
  async [Request.EVALUATE](_args, progress) {
    return (await workspace()).evaluate(progress);
  },
  async [Request.LR_FIND]({ options }, progress) {
    return (await workspace()).findLearningRate(options, progress);
  },
  async [Request.GALLERY]({ label = null, split = null, page = 0, perPage = 48, side }) {
    return (await workspace()).gallery({ label, split, page, perPage, side });
  },
  async [Request.DATASET_FILE]({ index }) {
    return (await workspace()).file(index);
  },
  async [Request.REVIEW]() {
    return (await workspace()).review();
  },
  async [Request.ERRORS]({ label, limit = 24, side }) {
    return (await workspace()).errors(label, limit, side);
  },
  async [Request.MOST_WRONG]({ limit = 24, side }) {
    return (await workspace()).mostWrong(limit, side);
  },
  async [Request.IMAGE_DETAIL]({ index }) {
    return (await workspace()).imageDetail(index);
  },
  async [Request.SALIENCY]({ index, file, label }) {
    return (await workspace()).saliency(file ?? null, index, label);
  },
  async [Request.REPORT]({ title } = {}) {
    return (await workspace()).report(title);
  },
  async [Request.CHECK_BACKEND]() {
    return (await workspace()).checkBackend();
  },
  async [Request.FIND_LABEL_ERRORS]({ options }, progress) {
    return (await workspace()).findLabelErrors(options ?? null, progress);
  },
  async [Request.EDIT_LABEL]({ index, label, value, why }) {
    return (await workspace()).editLabel(index, label, value, why);
  },
  async [Request.UNDO_CHANGE]({ k }) {
    return (await workspace()).undoChange(k);
  },
  async [Request.EXPORT_DATASET]() {
    return (await workspace()).exportDataset();
  },
  async [Request.ZIP_FOLDER]({ files }) {
    await workspace(); // the module is up
    checkZipSize(files.reduce((n, f) => n + f.file.size, 0));
    const contents = [];
    for (const { file } of files) contents.push(new Uint8Array(await file.arrayBuffer()));
    return zipFolder(files.map((f) => f.path), contents);
  },
  async [Request.EDIT_LABELS]({ edits, why }) {
    return (await workspace()).editLabels(edits, why);
  },
  async [Request.ADD_LABEL]({ name }) {
    return (await workspace()).addLabel(name);
  },
  async [Request.RENAME_LABEL]({ from, to }) {
    return (await workspace()).renameLabel(from, to);
  },
  async [Request.REMOVE_LABEL]({ name }) {
    return (await workspace()).removeLabel(name);
  },
  async [Request.EXCLUDE_IMAGES]({ indices }) {
    return (await workspace()).excludeImages(new Uint32Array(indices));
  },
  async [Request.ADD_FRAME]({ rgba, width, height, labels }) {
    return (await workspace()).addFrame(rgba, width, height, labels);
  },
  async [Request.CHANGES_CSV]() {
    return (await workspace()).changesCsv();
  },
  async [Request.RESTORE_CHANGES]({ csv, files }) {
    return (await workspace()).restoreChanges(csv, files);
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
