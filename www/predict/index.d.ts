// Types of @tagtrain/predict (index.js). Checked with `tsc --strict` against an example
// (tests/e2e/predict-types.ts) by scripts/build-predict.sh.

/** One label's verdict for one image. */
export interface LabelResult {
  /** The label's name, as in the training data's `index.csv`. */
  label: string;
  /** Sigmoid probability that the label applies, 0–1. */
  probability: number;
  /** The label's decision threshold, tuned on validation images when the model was trained
   * (or as set in the training page). */
  threshold: number;
  /** Whether the label applies: `probability >= threshold`. */
  positive: boolean;
  /** @deprecated The old name of `positive`, removed in the next release. */
  present: boolean;
}

/** How images are brought to the model's square input, exactly as in training. */
export interface InputSpec {
  /** Side of the square, in pixels. */
  imageSize: number;
  /** 1 (grayscale) or 3 (RGB). */
  channels: number;
  /** `stretch` (aspect changes), `center-crop` (edges cut) or `letterbox` (white padding). */
  resize: "stretch" | "center-crop" | "letterbox";
  normalization: unknown;
}

/** What a model file records (more fields may appear in newer versions). */
export interface ModelMetadata {
  format: string;
  version: number;
  labels: string[];
  thresholds: number[];
  input: InputSpec;
  /** The network: `{ kind, depth, numLabels, inChannels, baseWidth, strideOn }` (older model
   * files spell these in snake_case, `num_labels`, …; they are given here in camelCase too). */
  architecture: { kind: "small" | "large"; depth: number; [key: string]: unknown };
  /** The last training run: options, epochs, validation mAP, … (`null` when never trained). */
  training: Record<string, unknown> | null;
  /** Every earlier run, oldest first. */
  lineage: Record<string, unknown>[];
  /** Display name, e.g. `ResNetV2-Small-11`. */
  model: string;
  imageSize: number;
  backend: "cpu" | "webgpu";
}

/** Where a model file comes from: a URL to fetch, a fetched Response, a File/Blob, or bytes. */
export type ModelSource = string | URL | Response | Blob | ArrayBuffer | ArrayBufferView;

/** An image: encoded JPEG/PNG bytes (File, Blob, ArrayBuffer, Uint8Array), or pixels to read
 * (ImageData, an <img>, <canvas>, <video>, ImageBitmap, OffscreenCanvas, VideoFrame). */
export type ImageSource =
  | Blob
  | ArrayBuffer
  | ArrayBufferView
  | ImageData
  | HTMLImageElement
  | HTMLCanvasElement
  | HTMLVideoElement
  | ImageBitmap
  | OffscreenCanvas
  | VideoFrame;

export interface InitOptions {
  /** Where `tagtrain_predict_bg.wasm` is, when not next to the package's JS. */
  wasm?: string | URL | Response | BufferSource;
}

/** Loads and starts the WebAssembly module once (`Model.load` calls it). */
export function initialize(options?: InitOptions): Promise<unknown>;

/** A tagtrain model, ready to predict. */
export class Model {
  private constructor();
  /** Loads a tagtrain model file (`.safetensors`), from the training page or the CLI. Rejects
   * with a readable error for anything else. */
  static load(source: ModelSource, options?: InitOptions): Promise<Model>;
  /** The labels, in the model's order. */
  readonly labels: string[];
  /** The side of the model's square input, in pixels. */
  readonly inputSize: number;
  /** Everything the model file records. */
  readonly metadata: ModelMetadata;
  /** Every label's probability for one image, highest first. */
  predict(source: ImageSource): Promise<LabelResult[]>;
  /** `predict` for each image, in order, through the network in batches of up to 32. */
  predictBatch(sources: Iterable<ImageSource>): Promise<LabelResult[][]>;
  /** Frees the model's memory; it cannot predict afterwards. */
  dispose(): void;
}
