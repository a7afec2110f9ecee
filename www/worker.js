// The worker owns the wasm module. It only passes messages: every decision about data, the
// model and metrics is made in Rust.
//
// Protocol: the page sends `{ id, type, ...args }`; every request settles with exactly one
// `{ id, type: "result", value }` or `{ id, type: "error", message }`. While training, the worker
// also posts `{ type: "progress", event }` after each step. `stop` is answered at once and takes
// effect before the next step.
import init, { initBackend, Dataset, Predictor, withThresholds } from "./pkg/tagtrain.js";

let ready = null;          // Promise of the backend info, set by "init"
let wasm = null;           // the module's exports (for its memory size)
let dataset = null;        // Dataset of the last zip that loaded
let predictor = null;      // Predictor of the last good model
let modelBytes = null;     // bytes of that model, for download
let training = false;
let stopRequested = false;

/** Makes the model file `bytes` the current model, if it loads; the previous one is kept otherwise. */
function usePredictor(bytes) {
  const next = Predictor.fromBytes(bytes);
  predictor?.free();
  predictor = next;
  modelBytes = bytes;
  return { model: bytes.slice(), metadata: predictor.metadata() };
}

const handlers = {
  async init({ prefer }) {
    ready ??= init().then((exports) => {
      wasm = exports;
      return initBackend({ prefer: prefer ?? "auto" });
    });
    return await ready;
  },

  async "load-dataset"({ file }) {
    await ready;
    const bytes = new Uint8Array(await file.arrayBuffer());
    // Only replace the current dataset when the new one is usable.
    const next = Dataset.fromZip(bytes);
    dataset?.free();
    dataset = next;
    return dataset.summary();
  },

  async train({ options, initModel }) {
    await ready;
    if (!dataset) throw new Error("Load a dataset zip first.");
    if (training) throw new Error("Training is already running.");
    training = true;
    stopRequested = false;
    let trainer = null;
    try {
      const initBytes = initModel ? new Uint8Array(await initModel.arrayBuffer()) : undefined;
      trainer = await dataset.prepareTraining(options, initBytes, (done, total) =>
        postMessage({ type: "progress", event: { kind: "decoding", done, total } }));
      const info = trainer.info();
      // Decoded pixels live in wasm memory, which only grows: its size is the peak so far.
      info.wasmMemoryBytes = wasm?.memory?.buffer?.byteLength ?? 0;
      postMessage({ type: "progress", event: { kind: "started", info } });
      let event = { done: false, step: 0 };
      while (!event.done && !stopRequested) {
        event = await trainer.step();
        postMessage({ type: "progress", event: { kind: "step", ...event } });
        // Let "stop" (a macrotask) in between two steps.
        await new Promise((resolve) => setTimeout(resolve, 0));
      }
      if (event.step === 0) {
        return { stopped: true, model: null, metadata: null, curves: null };
      }
      const bytes = await trainer.exportModel();
      const curves = trainer.thresholdCurves();
      return { stopped: !event.done, ...usePredictor(bytes), curves };
    } finally {
      trainer?.free();
      training = false;
    }
  },

  async stop() {
    stopRequested = true;
    return { stopping: training };
  },

  async "load-model"({ file }) {
    await ready;
    return usePredictor(new Uint8Array(await file.arrayBuffer()));
  },

  async "set-thresholds"({ thresholds }) {
    if (!predictor) throw new Error("No model yet: train one or load a model file.");
    const bytes = withThresholds(modelBytes, new Float32Array(thresholds));
    predictor.setThresholds(new Float32Array(thresholds));
    modelBytes = bytes;
    return { model: bytes.slice(), metadata: predictor.metadata() };
  },

  async predict({ file }) {
    await ready;
    if (!predictor) throw new Error("No model yet: train one or load a model file.");
    const bytes = new Uint8Array(await file.arrayBuffer());
    return await predictor.predict(bytes);
  },
};

self.onmessage = async ({ data }) => {
  const { id, type, ...args } = data;
  try {
    const handler = handlers[type];
    if (!handler) throw new Error(`unknown request "${type}"`);
    const value = await handler(args);
    postMessage({ id, type: "result", value });
  } catch (e) {
    postMessage({ id, type: "error", message: e instanceof Error ? e.message : String(e) });
  }
};
