// @tagtrain/predict: a tagtrain model in any web page, no server. The model runs in Rust
// compiled to WebAssembly (the same code, image preparation and thresholds as the training
// page and the CLI), on the CPU, on the main thread or in a worker.
//
//   import { Model } from "./predict/index.js";
//   const model = await Model.load("model.safetensors");
//   const results = await model.predict(document.querySelector("img"));
//   // [{ label: "cat", probability: 0.93, threshold: 0.41, positive: true }, …]
//
//   const sounds = await Model.load("birds.safetensors"); // a model trained on sound clips
//   await sounds.predict(file);                          // WAV/FLAC/Ogg Vorbis/MP3: its centre
//   await sounds.predictSamples(float32Samples, 16000);  // or an AudioBuffer to predict()
//   await sounds.predictWindows(longRecording, { hopSeconds: 0.5 }); // [{ start, end, predictions }]
//
// Types and docs: index.d.ts. Colour: pixels are taken as sRGB; transparent areas are put on
// white, as in training. Sound is decoded, mixed to mono, resampled and turned into the
// spectrogram the model was trained on by the Rust core.
import * as firstInstance from "./pkg/tagtrain_predict.js";

/** The module in use: its glue's exports, started once (`initialize`). */
let started = null;
/** How many times the module was started afresh after a trap (the next glue URL's tag). */
let restarts = 0;

/**
 * Loads and starts the WebAssembly module once. Called by `Model.load`; call it yourself to
 * start early or to give the module's URL when it is served elsewhere.
 * @param {{ wasm?: string | URL | Response | BufferSource }} [options]
 */
export function initialize({ wasm } = {}) {
  started ??= startModule(firstInstance, wasm).catch((e) => {
    started = null;
    throw e;
  });
  return started.then(() => undefined);
}

/** Instantiates the glue `glue` (with the wasm at `wasm`, if given) on the CPU backend. */
async function startModule(glue, wasm) {
  await glue.default(wasm === undefined ? undefined : { module_or_path: wasm });
  await glue.initBackend({ prefer: "cpu" });
  return { glue, wasm, dead: false, pending: new Set() };
}

/**
 * A trap inside the module (a Rust panic, which should never happen, or running out of memory)
 * leaves that instance unusable: every later call into it would fail or hang. Start a new
 * instance (a new copy of the glue, so its state is fresh) for every later call; each `Model`
 * reloads its file into it on its next call. Returns the error to throw, in words.
 */
function restartAfter(instance, error) {
  const words = new Error(`the prediction module stopped (${error.message}); it was restarted, and ` +
    "the model will be loaded again on the next call");
  if (instance.dead) return words;
  instance.dead = true;
  for (const reject of instance.pending) reject(words);
  instance.pending.clear();
  const previous = started;
  restarts += 1;
  const tag = restarts;
  started = previous.then(({ wasm }) =>
    import(`./pkg/tagtrain_predict.js?instance=${tag}`).then((glue) => startModule(glue, wasm)));
  started.catch(() => { started = null; });
  return words;
}

// A trap inside an asynchronous call happens in the module's own task queue, not in the call's
// promise, which would then never settle: the trap reaches the global scope, where it stops the
// instance in use and settles its pending calls.
for (const [event, reason] of [["error", (e) => e.error], ["unhandledrejection", (e) => e.reason]]) {
  globalThis.addEventListener?.(event, (e) => {
    const error = reason(e);
    if (!isTrap(error) || started === null) return;
    started.then((instance) => restartAfter(instance, error), () => {});
  });
}

/** Whether `error` is a trap of the WebAssembly module rather than an error it returned. */
function isTrap(error) {
  return typeof WebAssembly !== "undefined" && error instanceof WebAssembly.RuntimeError;
}

/** The bytes of a model source (or of a file, `what` says which): a URL (string or URL), a
 * Response, a Blob/File, or bytes. */
async function bytesOf(source, what = "the model") {
  if (typeof source === "string" || source instanceof URL) {
    const response = await fetch(source);
    if (!response.ok) throw new Error(`cannot fetch ${what} ${source}: HTTP ${response.status}`);
    return new Uint8Array(await response.arrayBuffer());
  }
  if (typeof Response !== "undefined" && source instanceof Response) return new Uint8Array(await source.arrayBuffer());
  if (typeof Blob !== "undefined" && source instanceof Blob) return new Uint8Array(await source.arrayBuffer());
  if (source instanceof ArrayBuffer) return new Uint8Array(source);
  if (ArrayBuffer.isView(source)) return new Uint8Array(source.buffer, source.byteOffset, source.byteLength);
  throw new TypeError(what === "the model"
    ? "a model is loaded from a URL, a Response, a Blob/File, an ArrayBuffer or a Uint8Array"
    : `${what} is a URL, a Response, a Blob/File, an ArrayBuffer, a Uint8Array or an AudioBuffer`);
}

/** Image sources that are drawn to a canvas to read their pixels. */
function drawable(source) {
  const is = (name) => typeof globalThis[name] !== "undefined" && source instanceof globalThis[name];
  return ["HTMLImageElement", "HTMLCanvasElement", "HTMLVideoElement", "ImageBitmap",
    "OffscreenCanvas", "VideoFrame", "SVGImageElement"].some(is);
}

/** The pixel size of a drawable source. */
function sizeOf(source) {
  if ("naturalWidth" in source) return [source.naturalWidth, source.naturalHeight];
  if ("videoWidth" in source) return [source.videoWidth, source.videoHeight];
  if ("displayWidth" in source) return [source.displayWidth, source.displayHeight];
  return [source.width, source.height];
}

/** Draws `source` at its own size and returns its RGBA pixels. */
function pixelsOf(source) {
  const [width, height] = sizeOf(source);
  if (!width || !height) throw new Error("the image has no pixels yet (not loaded, or a video with no frame)");
  const canvas = new OffscreenCanvas(width, height);
  // sRGB, unpremultiplied, as the decoder gives a file's pixels.
  const context = canvas.getContext("2d", { colorSpace: "srgb", willReadFrequently: true });
  context.drawImage(source, 0, 0, width, height);
  return context.getImageData(0, 0, width, height, { colorSpace: "srgb" });
}

/** Whether `source` is a Web Audio `AudioBuffer`. */
function isAudioBuffer(source) {
  return typeof AudioBuffer !== "undefined" && source instanceof AudioBuffer;
}

/** An `AudioBuffer`'s channels, for the module to mix to mono as it mixes a file's. */
function channelsOf(buffer) {
  return Array.from({ length: buffer.numberOfChannels }, (_, i) => buffer.getChannelData(i));
}

/** Mono samples as a `Float32Array` (a copy only when given another kind of array). */
function float32(samples) {
  if (samples instanceof Float32Array) return samples;
  if (samples === null || typeof samples !== "object" || typeof samples.length !== "number") {
    throw new TypeError("samples are a Float32Array (or an array of numbers) of mono samples");
  }
  return Float32Array.from(samples);
}

/** A window of `predictWindows`, as the package names it. */
function windowOf({ startSeconds, endSeconds, labels }) {
  return { start: startSeconds, end: endSeconds, predictions: labels.map(withOldName) };
}

/** A label's prediction with `present`, the old name of `positive`, kept for one release
 * (README: "Names"). */
function withOldName({ label, probability, threshold, positive }) {
  return { label, probability, threshold, positive, present: positive };
}

const samplesNotFile = "a Float32Array holds samples, not a file: give it to predictSamples(samples, sampleRate) " +
  "(or predictWindows({ samples, sampleRate }))";

/** What the module takes for one image: file bytes, or `{ rgba, width, height }` pixels. */
async function inputOf(source) {
  if (typeof ImageData !== "undefined" && source instanceof ImageData) {
    return { rgba: source.data, width: source.width, height: source.height };
  }
  if (drawable(source)) {
    const pixels = pixelsOf(source);
    return { rgba: pixels.data, width: pixels.width, height: pixels.height };
  }
  if (source instanceof Float32Array) throw new TypeError(samplesNotFile);
  return bytesOf(source);
}

export class Model {
  /** The predictor in the module instance `#instance`; `null` once disposed. */
  #predictor;
  #instance;
  #bytes;
  #metadata;

  /** Use `Model.load`. */
  constructor(instance, predictor, bytes) {
    this.#instance = instance;
    this.#predictor = predictor;
    this.#bytes = bytes;
    this.#metadata = predictor.metadata();
  }

  /**
   * Loads a tagtrain model file (`.safetensors`). A file that is not a usable tagtrain model
   * (cut short, edited, another program's) is refused with an `Error` saying what is wrong.
   * @param {string | URL | Response | Blob | ArrayBuffer | ArrayBufferView} source
   * @param {{ wasm?: string | URL | Response | BufferSource }} [options]
   */
  static async load(source, options) {
    await initialize(options);
    const bytes = await bytesOf(source);
    const instance = await started;
    return new Model(instance, guarded(instance, () => instance.glue.Predictor.fromBytes(bytes)), bytes.slice());
  }

  /** The predictor, in the module instance in use (reloaded there after a restart). */
  async #current() {
    if (this.#predictor === null) {
      throw new Error("this model was disposed; load it again with Model.load to predict");
    }
    const instance = await started;
    if (instance !== this.#instance) {
      this.#predictor = guarded(instance, () => instance.glue.Predictor.fromBytes(this.#bytes));
      this.#instance = instance;
    }
    return this.#predictor;
  }

  /** The labels, in the model's order. */
  get labels() {
    return [...this.#metadata.labels];
  }

  /** The square side, in pixels, images are brought to (with `metadata.input.resize`). */
  get inputSize() {
    return this.#metadata.input.imageSize;
  }

  /** `"sounds"` for a model trained on sound clips (its `metadata.input.sound` holds the
   * spectrogram settings), else `"images"`: the values of a dataset summary's `kind`. */
  get kind() {
    return this.#metadata.input.sound ? "sounds" : "images";
  }

  /** Everything the model file records: architecture, input, labels, thresholds, training. */
  get metadata() {
    return structuredClone(this.#metadata);
  }

  /**
   * Per-label probabilities for one image, or for a model of sound clips one sound (a file's
   * bytes, or an `AudioBuffer`: its centre window), highest first.
   * @param {Blob | ArrayBuffer | ArrayBufferView | ImageData | CanvasImageSource | VideoFrame | AudioBuffer} source
   */
  async predict(source) {
    if (isAudioBuffer(source)) return this.#predictChannels(channelsOf(source), source.sampleRate);
    const [results] = await this.predictBatch([source]);
    return results;
  }

  /**
   * Per-label probabilities, highest first, for mono samples (nominally -1 to 1) at
   * `sampleRate` samples per second: a model of sound clips hears their centre window, as for
   * a file holding them.
   * @param {Float32Array | ArrayLike<number>} samples
   * @param {number} sampleRate
   */
  async predictSamples(samples, sampleRate) {
    return this.#predictChannels([float32(samples)], sampleRate);
  }

  async #predictChannels(channels, sampleRate) {
    const predictor = await this.#current();
    const { predictions } = await guardedAsync(this.#instance, () => predictor.predictSamples(channels, sampleRate));
    return predictions.map(withOldName);
  }

  /**
   * A long recording, window by window: windows of the model's clip length
   * (`metadata.input.sound.clipSeconds`) starting every `hopSeconds` (the clip length when not
   * given) from the start. `source`: a sound file (Blob/File/ArrayBuffer/Uint8Array), an
   * `AudioBuffer`, or `{ samples, sampleRate }` of mono samples. Resolves to
   * `[{ start, end, predictions }]` (seconds; `predictions` in the model's label order).
   * @param {Blob | ArrayBuffer | ArrayBufferView | AudioBuffer | { samples: Float32Array | ArrayLike<number>, sampleRate: number }} source
   * @param {{ hopSeconds?: number }} [options]
   */
  async predictWindows(source, { hopSeconds } = {}) {
    let call;
    if (isAudioBuffer(source)) {
      const channels = channelsOf(source);
      call = (p) => p.predictSampleWindows(channels, source.sampleRate, hopSeconds);
    } else if (source !== null && typeof source === "object" && "samples" in source) {
      const channels = [float32(source.samples)];
      call = (p) => p.predictSampleWindows(channels, source.sampleRate, hopSeconds);
    } else {
      if (source instanceof Float32Array) throw new TypeError(samplesNotFile);
      const bytes = await bytesOf(source, "the recording");
      call = (p) => p.predictFileWindows(bytes, hopSeconds);
    }
    const predictor = await this.#current();
    const { windows } = await guardedAsync(this.#instance, () => call(predictor));
    return windows.map(windowOf);
  }

  /**
   * `predict` for each source, in order, through the network in batches (faster than one by
   * one).
   * @param {Iterable<Blob | ArrayBuffer | ArrayBufferView | ImageData | CanvasImageSource | VideoFrame>} sources
   */
  async predictBatch(sources) {
    const inputs = [];
    for (const source of sources) {
      if (isAudioBuffer(source)) throw new TypeError("predictBatch takes files and images; give an AudioBuffer to predict()");
      inputs.push(await inputOf(source));
    }
    const predictor = await this.#current();
    const replies = await guardedAsync(this.#instance, () => predictor.predictMany(inputs));
    return replies.map((predictions) => predictions.map(withOldName));
  }

  /** Frees the model's memory in the module; the model cannot predict afterwards. */
  dispose() {
    if (this.#predictor !== null && !this.#instance.dead) this.#predictor.free();
    this.#predictor = null;
  }
}

/** `call()` into `instance`, a trap of the module turned into a restart and a readable error. */
function guarded(instance, call) {
  try {
    return call();
  } catch (e) {
    throw isTrap(e) ? restartAfter(instance, e) : asError(e);
  }
}

/** `guarded` for a call that returns a promise, which also settles if the module traps. */
async function guardedAsync(instance, call) {
  let reject;
  const trapped = new Promise((_, r) => { reject = r; });
  instance.pending.add(reject);
  try {
    return await Promise.race([call(), trapped]);
  } catch (e) {
    throw isTrap(e) ? restartAfter(instance, e) : asError(e);
  } finally {
    instance.pending.delete(reject);
  }
}

/** The module's errors as `Error`s (wasm-bindgen's `JsError` already is one). */
function asError(e) {
  return e instanceof Error ? e : new Error(String(e));
}
