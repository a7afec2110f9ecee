// Types of @tagtrain/predict (index.js). Checked with `tsc --strict` against an example
// (tests/e2e/predict-types.ts) by scripts/build-predict.sh.

/** One label's verdict for one image or sound. */
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
  /** For a model of sound clips, how a clip becomes the one-channel picture it was trained on
   * (a log-mel spectrogram); absent or `null` for a model of images. */
  sound?: SoundSettings | null;
}

/** How a model of sound clips hears: recorded in its file, repeated by every prediction. */
export interface SoundSettings {
  /** Samples per second every clip is resampled to. */
  sampleRate: number;
  /** The length of the window the model hears, in seconds (longer sounds: their centre). */
  clipSeconds: number;
  /** STFT window (and FFT) length, in samples. */
  window: number;
  /** Samples between two STFT frames. */
  hop: number;
  /** Mel bands. */
  melBands: number;
  /** Lowest frequency the bands cover, Hz. */
  minHz: number;
  /** Highest frequency the bands cover, Hz. */
  maxHz: number;
}

/** What a model was trained on. */
export type ModelKind = "images" | "sounds";

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

/** A sound for a model of sound clips: a WAV, FLAC, Ogg Vorbis or MP3 file's bytes (File,
 * Blob, ArrayBuffer, Uint8Array), or a Web Audio `AudioBuffer` (its channels mixed to mono as a
 * file's are). */
export type SoundSource = Blob | ArrayBuffer | Uint8Array | AudioBuffer;

/** Raw mono samples (nominally -1 to 1) and their rate, in samples per second. */
export interface Samples {
  samples: Float32Array | ArrayLike<number>;
  sampleRate: number;
}

/** One window of a long recording and every label's verdict on it. */
export interface WindowPrediction {
  /** Where the window starts, seconds from the start of the recording. */
  start: number;
  /** Where it ends (`start` + the model's clip length; the last window may run past the end of
   * the recording, heard as silence). */
  end: number;
  /** Every label's verdict, in the model's label order (`model.labels`). */
  predictions: LabelResult[];
}

export interface WindowOptions {
  /** Seconds from one window's start to the next (the model's clip length when not given). */
  hopSeconds?: number;
}

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
  /** `"sounds"` for a model trained on sound clips, `"images"` for one trained on images. Either
   * refuses the other kind of input with a readable error. */
  readonly kind: ModelKind;
  /** Every label's probability for one image, or for a model of sound clips one sound (its
   * centre window of `metadata.input.sound.clipSeconds`), highest first. */
  predict(source: ImageSource | SoundSource): Promise<LabelResult[]>;
  /** `predict` for each image (or sound file), in order, through the network in batches of up
   * to 32. */
  predictBatch(sources: Iterable<ImageSource | Exclude<SoundSource, AudioBuffer>>): Promise<LabelResult[][]>;
  /** Every label's probability, highest first, for mono samples at `sampleRate` (a model of
   * sound clips: their centre window, as for a file holding them). */
  predictSamples(samples: Float32Array | ArrayLike<number>, sampleRate: number): Promise<LabelResult[]>;
  /** A long recording, window by window, every `hopSeconds` from the start. */
  predictWindows(source: SoundSource | Samples, options?: WindowOptions): Promise<WindowPrediction[]>;
  /** Frees the model's memory; it cannot predict afterwards. */
  dispose(): void;
}
