// @tagtrain/predict: a tagtrain model in any web page, no server. The model runs in Rust
// compiled to WebAssembly (the same code, image preparation and thresholds as the training
// page and the CLI), on the CPU, on the main thread or in a worker.
//
//   import { Model } from "./predict/index.js";
//   const model = await Model.load("model.safetensors");
//   const results = await model.predict(document.querySelector("img"));
//   // [{ label: "cat", probability: 0.93, threshold: 0.41, positive: true }, …]
//
// Types and docs: index.d.ts. Colour: pixels are taken as sRGB; transparent areas are put on
// white, as in training.
import init, { initBackend, Predictor } from "./pkg/tagtrain_predict.js";

let started = null;

/**
 * Loads and starts the WebAssembly module once. Called by `Model.load`; call it yourself to
 * start early or to give the module's URL when it is served elsewhere.
 * @param {{ wasm?: string | URL | Response | BufferSource }} [options]
 */
export function initialize({ wasm } = {}) {
  started ??= init(wasm === undefined ? undefined : { module_or_path: wasm })
    .then(() => initBackend({ prefer: "cpu" }))
    .catch((e) => {
      started = null;
      throw e;
    });
  return started;
}

/** The bytes of a model source: a URL (string or URL), a Response, a Blob/File, or bytes. */
async function bytesOf(source) {
  if (typeof source === "string" || source instanceof URL) {
    const response = await fetch(source);
    if (!response.ok) throw new Error(`cannot fetch the model ${source}: HTTP ${response.status}`);
    return new Uint8Array(await response.arrayBuffer());
  }
  if (typeof Response !== "undefined" && source instanceof Response) return new Uint8Array(await source.arrayBuffer());
  if (typeof Blob !== "undefined" && source instanceof Blob) return new Uint8Array(await source.arrayBuffer());
  if (source instanceof ArrayBuffer) return new Uint8Array(source);
  if (ArrayBuffer.isView(source)) return new Uint8Array(source.buffer, source.byteOffset, source.byteLength);
  throw new TypeError("a model is loaded from a URL, a Response, a Blob/File, an ArrayBuffer or a Uint8Array");
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

/** What the module takes for one image: file bytes, or `{ rgba, width, height }` pixels. */
async function inputOf(source) {
  if (typeof ImageData !== "undefined" && source instanceof ImageData) {
    return { rgba: source.data, width: source.width, height: source.height };
  }
  if (drawable(source)) {
    const pixels = pixelsOf(source);
    return { rgba: pixels.data, width: pixels.width, height: pixels.height };
  }
  return bytesOf(source);
}

export class Model {
  #predictor;
  #metadata;

  /** @param {Predictor} predictor */
  constructor(predictor) {
    this.#predictor = predictor;
    this.#metadata = predictor.metadata();
  }

  /**
   * Loads a tagtrain model file (`.safetensors`).
   * @param {string | URL | Response | Blob | ArrayBuffer | ArrayBufferView} source
   * @param {{ wasm?: string | URL | Response | BufferSource }} [options]
   */
  static async load(source, options) {
    await initialize(options);
    return new Model(Predictor.fromBytes(await bytesOf(source)));
  }

  /** The labels, in the model's order. */
  get labels() {
    return [...this.#metadata.labels];
  }

  /** The square side, in pixels, images are brought to (with `metadata.input.resize`). */
  get inputSize() {
    return this.#metadata.input.imageSize;
  }

  /** Everything the model file records: architecture, input, labels, thresholds, training. */
  get metadata() {
    return structuredClone(this.#metadata);
  }

  /**
   * Per-label probabilities for one image, highest first.
   * @param {Blob | ArrayBuffer | ArrayBufferView | ImageData | CanvasImageSource | VideoFrame} source
   */
  async predict(source) {
    const [results] = await this.predictBatch([source]);
    return results;
  }

  /**
   * `predict` for each source, in order, through the network in batches (faster than one by
   * one).
   * @param {Iterable<Blob | ArrayBuffer | ArrayBufferView | ImageData | CanvasImageSource | VideoFrame>} sources
   */
  async predictBatch(sources) {
    const inputs = [];
    for (const source of sources) inputs.push(await inputOf(source));
    const replies = await this.#predictor.predictMany(inputs);
    // `present` is the old name of `positive`, kept for one release (README: "Names").
    return replies.map((predictions) => predictions.map(({ label, probability, threshold, positive }) =>
      ({ label, probability, threshold, positive, present: positive })));
  }

  /** Frees the model's memory in the module; the model cannot predict afterwards. */
  dispose() {
    this.#predictor.free();
  }
}
