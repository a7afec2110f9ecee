// The protocol between the page and the worker (worker.js), imported by both sides so that a
// message type is spelled once.
//
// The page sends `{ id, type, ...args }` with `type` one of `Request`. Every request settles
// with exactly one `{ id, type: Reply.RESULT, value }` or `{ id, type: Reply.ERROR, message }`.
// Long requests (train, evaluate) also post `{ id, type: Reply.PROGRESS, event }` before they
// settle, `event.kind` being one of `Progress`. `stop` is answered at once and takes effect
// before the next training step.
//
// The shapes are made in Rust. Those of the structs it serialises (camelCase) are generated from
// them into www/types/ (src/payload_types.rs) and only named here; this file writes down what
// src/wasm/ and worker.js put together around them. `tsc` checks the page and the worker
// against both (tsconfig.json, scripts/test.sh): a field removed in Rust fails that check.

/** Request types, page → worker; each one's arguments and result are in `Requests` below. */
export const Request = Object.freeze({
  INIT: "init",
  /** a dataset zip, with labels to add; `{ unlabelled }` for images with no labels and none given */
  LOAD_DATASET: "load-dataset",
  /** with decoding, started and step progress */
  TRAIN: "train",
  /** a saved run resumed on the loaded dataset (the one it started with), with `train`'s progress */
  RESUME: "resume",
  /** what a saved run is, without loading it */
  RUN_INFO: "run-info",
  STOP: "stop",
  /** a `.safetensors` model file */
  LOAD_MODEL: "load-model",
  /** one threshold a label, in the model's order */
  SET_THRESHOLDS: "set-thresholds",
  /** a JPEG or PNG image; predictions highest first */
  PREDICT: "predict",
  /** a sound clip scored window by window, a window of the model's length every `stepSeconds` */
  PREDICT_WINDOWS: "predict-windows",
  /** the current model on the loaded dataset, with decoding progress */
  EVALUATE: "evaluate",
  /** the memory plan of training the loaded dataset with `options`; nothing is decoded */
  MEMORY_PLAN: "memory-plan",
  /** a zip of the current model, the predict package and a page that predicts (src/export.rs) */
  EXPORT_WEB: "export-web",
  /** a page of the loaded dataset's images, labels and thumbnails (refused while training runs) */
  GALLERY: "gallery",
  /** one row's file as the zip holds it (the gallery plays a clip's original bytes) */
  DATASET_FILE: "dataset-file",
  /** the current model on the images it was last measured on, at the thresholds in force; or null */
  REVIEW: "review",
  /** one label's false positives and negatives (at most 200 a list) */
  ERRORS: "errors",
  /** the reviewed images with the highest loss, highest first */
  MOST_WRONG: "most-wrong",
  /** every label's probability against the truth for one image */
  IMAGE_DETAIL: "image-detail",
  /** Grad-CAM heat map of one label on one image */
  SALIENCY: "saliency",
  /** the evaluation report, one self-contained HTML file */
  REPORT: "report",
  /** the learning-rate range test, with {@link LrPointEvent} progress; `stop` ends it */
  LR_FIND: "lr-find",
  /** the project's own forms of a layer on this device against burn's kernels (src/model/agreement.rs) */
  CHECK_BACKEND: "check-backend",
  /** k-fold cross-validation, then confident learning, with {@link FoldStepEvent} progress; `stop` ends it */
  FIND_LABEL_ERRORS: "find-label-errors",
  /** one label of one image set to 0 or 1, noted in the change log (the next run trains on it) */
  EDIT_LABEL: "edit-label",
  /** change `k` of the log undone (the rest of the log replayed) */
  UNDO_CHANGE: "undo-change",
  /** the loaded dataset as a zip: its files untouched, `index.csv` edited, `changes.csv` beside it */
  EXPORT_DATASET: "export-dataset",
  /** several labels set at once (the labelling grid's selection); values already set are left */
  EDIT_LABELS: "edit-labels",
  /** a label added to the loaded dataset, 0 on every image */
  ADD_LABEL: "add-label",
  /** a label of the loaded dataset renamed, its values kept */
  RENAME_LABEL: "rename-label",
  /** a label and its values removed from the loaded dataset */
  REMOVE_LABEL: "remove-label",
  /** images left out of the loaded dataset (their files kept in the zip) */
  EXCLUDE_IMAGES: "exclude-images",
  /** a webcam frame (RGBA) added as a JPEG image with those labels */
  ADD_FRAME: "add-frame",
  /** the loaded dataset's change log as `changes.csv` bytes */
  CHANGES_CSV: "changes-csv",
  /** a kept session's edits made again on the same dataset, with the files they added */
  RESTORE_CHANGES: "restore-changes",
  /** a folder's files (each with its path in it) as a zip, which loads as a dataset zip does */
  ZIP_FOLDER: "zip-folder",
});

/** Reply types, worker → page. */
export const Reply = Object.freeze({
  /** `{ id, type, value }`: the request succeeded. */
  RESULT: "result",
  /** `{ id, type, message }`: the request failed; `message` is for people. */
  ERROR: "error",
  /** `{ id, type, event }`: progress of a request still running ({@link ProgressEvent}). */
  PROGRESS: "progress",
  /**
   * `{ type, reason, message }`, unasked: the worker's GPU device was lost (a driver reset, the
   * GPU's memory ran out, or it was destroyed). The worker cannot go on with it; the page
   * replaces the worker with one on the CPU.
   */
  DEVICE_LOST: "device-lost",
});

/** `event.kind` of a progress reply. */
export const Progress = Object.freeze({
  /** {@link DecodingEvent}: images decoded so far (training and evaluation). */
  DECODING: "decoding",
  /** {@link StartedEvent}: the network is built; training steps follow. */
  STARTED: "started",
  /** {@link StepEvent}: one training step is done. */
  STEP: "step",
  /** {@link AutosavedEvent}: the run's state after an epoch is in the browser's storage. */
  AUTOSAVED: "autosaved",
  /** {@link AutosaveFailedEvent}: that epoch could not be saved (storage full); training goes on. */
  AUTOSAVE_FAILED: "autosave-failed",
  /** {@link LrPointEvent}: one rate of the learning-rate range test is tried. */
  LR_POINT: "lr-point",
  /** {@link FoldStepEvent}: one training step of one fold's run (label errors). */
  FOLD_STEP: "fold-step",
});

// ---------------------------------------------------------------------------------------------
// Each request's arguments and the value it resolves to: `WorkerClient.request` is typed by it.

/**
 * @typedef {{
 *   "init": [InitArgs, BackendInfo],
 *   "load-dataset": [{ file: File, newLabels?: string[] }, DatasetSummary | { unlabelled: number }],
 *   "train": [TrainArgs, TrainResult],
 *   "resume": [RunFileArgs, TrainResult],
 *   "run-info": [RunFileArgs, SavedRunInfo],
 *   "stop": [{}, { stopping: boolean }],
 *   "load-model": [{ file: Blob }, ModelReply],
 *   "set-thresholds": [{ thresholds: number[] }, ModelReply],
 *   "predict": [{ file: File, tta?: boolean }, { predictions: LabelPrediction[] }],
 *   "predict-windows": [{ file: File, stepSeconds?: number }, { windows: WindowPrediction[] }],
 *   "evaluate": [{}, Evaluation],
 *   "memory-plan": [{ options: OptionsArg }, MemoryPlan],
 *   "export-web": [{}, Uint8Array],
 *   "gallery": [GalleryArgs, GalleryPage],
 *   "dataset-file": [{ index: number }, DatasetFile],
 *   "review": [{}, Review | null],
 *   "errors": [{ label: string, limit?: number, side?: number }, LabelErrors],
 *   "most-wrong": [{ limit?: number, side?: number }, ReviewImage[]],
 *   "image-detail": [{ index: number }, ImageDetail],
 *   "saliency": [SaliencyArgs, Saliency],
 *   "report": [{ title?: string }, Uint8Array],
 *   "lr-find": [{ options: OptionsArg }, LrFindReport],
 *   "check-backend": [{}, AgreementReport],
 *   "find-label-errors": [{ options: { folds?: number, limit?: number, training?: OptionsArg } }, LabelErrorsReply],
 *   "edit-label": [{ index: number, label: string, value: number, why: string }, ChangesReply],
 *   "undo-change": [{ k: number }, ChangesReply],
 *   "export-dataset": [{}, Uint8Array],
 *   "edit-labels": [{ edits: { index: number, label: string, value: number }[], why: string }, ChangesReply & { changed: number }],
 *   "add-label": [{ name: string }, ChangesReply],
 *   "rename-label": [{ from: string, to: string }, ChangesReply],
 *   "remove-label": [{ name: string }, ChangesReply],
 *   "exclude-images": [{ indices: number[] }, ChangesReply],
 *   "add-frame": [{ rgba: Uint8Array, width: number, height: number, labels: string[] }, FrameReply],
 *   "changes-csv": [{}, Uint8Array],
 *   "zip-folder": [{ files: { path: string, file: File }[] }, Uint8Array],
 *   "restore-changes": [{ csv: Uint8Array, files: { path: string, bytes: Uint8Array }[] }, ChangesReply],
 * }} Requests
 */

/**
 * `prefer`: "auto", "webgpu" or "cpu" (which forces the CPU backend); Rust refuses any other.
 * @typedef {{ prefer?: string }} InitArgs
 */

/** @typedef {{ state: Blob }} RunFileArgs  A run file, as `Trainer.saveState` wrote it (store.js keeps it). */

/**
 * Training options as the page sends them: Rust fills in what is missing (from
 * `TrainingChoices.defaults`), in `augment` too.
 * @typedef {Partial<Omit<TrainingOptions, "augment">> & {
 *   augment?: Partial<import("./types/AugmentOptions").AugmentOptions> }} OptionsArg
 */

/**
 * @typedef {object} TrainArgs
 * @property {OptionsArg} options
 * @property {File | null} initModel  A model file to continue from (same labels) or to take
 *   the backbone of (other labels); null for new weights.
 * @property {boolean} autosave  Save the run's state to the browser's storage after each epoch.
 */

/**
 * @typedef {object} DatasetFile
 * @property {string} name  The zip entry.
 * @property {string} mediaType  From the bytes: `audio/ogg`, `audio/mpeg`, `audio/flac`,
 *   `audio/wav`, `image/png`, `image/jpeg` or `application/octet-stream`.
 * @property {Uint8Array} bytes
 */

/**
 * @typedef {object} GalleryArgs
 * @property {string | null} [label]  Only images carrying this label (null: all).
 * @property {"train" | "valid" | null} [split]  Only this side of the last run's split (null:
 *   all; refused before a run has split the dataset).
 * @property {number} [page]  0-based.
 * @property {number} [perPage]  At most 200.
 * @property {number} [side]  Thumbnail side in px (default 96).
 */

/** @typedef {{ label: string, index?: number, file?: File }} SaliencyArgs  An image of the dataset (`index`), or a file. */

// ---------------------------------------------------------------------------------------------
// Generated from the Rust structs (www/types/)

/** @typedef {import("./types/BackendKind").BackendKind} BackendKind */
/** @typedef {import("./types/TrainingChoices").TrainingChoices} TrainingChoices */
/** @typedef {import("./types/TrainingOptions").TrainingOptions} TrainingOptions */
/** @typedef {import("./types/Bounds").Bounds} Bounds */
/** @typedef {import("./types/ModelChoice").ModelChoice} ModelChoice */
/** @typedef {import("./types/DatasetSummary").DatasetSummary} DatasetSummary */
/** @typedef {import("./types/MemoryPlan").MemoryPlan} MemoryPlan */
/** @typedef {import("./types/SessionInfo").SessionInfo} SessionInfo */
/** @typedef {import("./types/RunHistory").RunHistory} RunHistory */
/** @typedef {import("./types/EpochReport").EpochReport} EpochReport */
/** @typedef {import("./types/LabelCurve").LabelCurve} LabelCurve */
/** @typedef {import("./types/CurvePoint").CurvePoint} CurvePoint */
/** @typedef {import("./types/SavedRunInfo").SavedRunInfo} SavedRunInfo */
/** @typedef {import("./types/LrPoint").LrPoint} LrPoint */
/** @typedef {import("./types/LrFindReport").LrFindReport} LrFindReport */
/** @typedef {import("./types/LabelPrediction").LabelPrediction} LabelPrediction */
/** @typedef {import("./types/WindowPrediction").WindowPrediction} WindowPrediction */
/** @typedef {import("./types/Evaluation").Evaluation} Evaluation */
/** @typedef {import("./types/MultiLabelMetrics").MultiLabelMetrics} Metrics */
/** @typedef {import("./types/LabelMetrics").LabelMetrics} LabelMetrics */
/** @typedef {import("./types/ReviewSummary").ReviewSummary} Review  See Request.REVIEW. */
/** @typedef {import("./types/LabelCurves").LabelCurves} LabelCurves */
/** @typedef {import("./types/AgreementReport").AgreementReport} AgreementReport */
/** @typedef {import("./types/LabelChange").LabelChange} LabelChange */

/**
 * A suspected label error: the image as the gallery shows it, and what is suspected.
 * @typedef {GalleryImage & { label: string, given: number, suggested: number, score: number,
 *   probability: number, why: string }} Suspect
 */

/**
 * @typedef {object} LabelErrorsReply
 * @property {boolean} stopped  Stopped before every fold's run was done (nothing found then).
 * @property {number} found  How many (image, label) pairs are suspected.
 * @property {Suspect[]} suspects  The most suspicious first, at most `limit`.
 */

/**
 * @typedef {object} ChangesReply
 * @property {LabelChange[]} changes  The loaded dataset's change log, oldest first.
 * @property {DatasetSummary} summary  Its summary with the edited labels.
 */

/**
 * @typedef {object} FrameReply
 * @property {LabelChange[]} changes
 * @property {DatasetSummary} summary
 * @property {number} index  The new image's index in the dataset.
 * @property {string} path  Its path in the zip.
 * @property {Uint8Array} bytes  The JPEG, for the page to keep with the session's edits.
 */

/**
 * @typedef {object} FoldStepEvent
 * @property {"fold-step"} kind
 * @property {number} fold  The fold held out, 0-based.
 * @property {number} folds
 * @property {number} epoch
 * @property {number} step  Steps of all the runs so far.
 * @property {number} total  Steps of all the runs.
 * @property {number} loss
 */

// ---------------------------------------------------------------------------------------------
// Put together by src/wasm.rs or worker.js around the generated types

/**
 * @typedef {object} BackendInfo
 * @property {BackendKind} kind
 * @property {string} adapter  The GPU adapter's name, or the CPU backend's.
 * @property {string | null} notice  Something the person should know about the backend.
 * @property {number | null} maxBufferBytes  The GPU's largest buffer (null on the CPU); training
 *   batches and prediction passes are sized to fit it.
 * @property {TrainingChoices} choices  What the options form offers (`trainingChoices()`).
 */

/**
 * The model file's metadata, with what the page shows of it.
 * @typedef {import("./types/ModelMetadata").ModelMetadata & {
 *   imageSize: number, model: string, backend: string }} ModelMetadata
 *   `model`: the network's name, e.g. "ResNetV2-Small-11".
 */

/**
 * @typedef {object} ModelReply
 * @property {Uint8Array} model  The model file, for download.
 * @property {ModelMetadata} metadata
 * @property {Review | null} [review]  SET_THRESHOLDS only: the review at the new thresholds.
 */

/**
 * @typedef {object} TrainResult
 * @property {boolean} stopped  Stopped before the last step: by the person, or by `failure`.
 * @property {string} [failure]  Why the run stopped on its own (the loss diverged: the message
 *   names the step and the learning rate); the model is then the best epoch's.
 * @property {Uint8Array | null} model  Null when stopped before the first step.
 * @property {ModelMetadata | null} metadata
 * @property {LabelCurve[] | null} curves  Validation precision–recall curves, highest threshold first.
 * @property {Review | null} [review]  The model on its validation images (see Request.REVIEW).
 */

/**
 * Pixels ready for `new ImageData(rgba, width, height)`.
 * @typedef {{ width: number, height: number, rgba: Uint8ClampedArray<ArrayBuffer> }} Thumbnail
 */

/**
 * An image of the loaded dataset (`index` is its row in index.csv's order of usable rows).
 * @typedef {object} GalleryImage
 * @property {number} index
 * @property {string} name
 * @property {string[]} labels  Its true labels.
 * @property {"train" | "valid" | null} split  Its side in the last run (null before one).
 * @property {Thumbnail} thumbnail
 */

/** @typedef {{ total: number, page: number, pages: number, images: GalleryImage[] }} GalleryPage  `total`: images matching. */

/**
 * A reviewed image with its thumbnail. `probability`: of the label asked about (null in
 * MOST_WRONG); `loss`: the image's mean binary cross-entropy over the labels.
 * @typedef {GalleryImage & import("./types/ReviewedImage").ReviewedImage} ReviewImage
 */

/**
 * One label's false positives (highest probability first) and negatives (lowest first), with
 * thumbnails.
 * @typedef {Omit<import("./types/LabelErrors").LabelErrors, "falsePositives" | "falseNegatives">
 *   & { falsePositives: ReviewImage[], falseNegatives: ReviewImage[] }} LabelErrors
 */

/**
 * Every label's probability against the truth for one image, in the model's label order.
 * @typedef {import("./types/ImageVerdicts").ImageVerdicts & { split: "train" | "valid" | null }} ImageDetail
 */

/**
 * Grad-CAM of one label on one image: the image as the model sees it (its input size) and the
 * heat map, same size, coloured, alpha rising with the heat.
 * @typedef {{ label: string, probability: number, image: Thumbnail, heat: Thumbnail }} Saliency
 */

// ---------------------------------------------------------------------------------------------
// Progress events (`event.kind`: Progress)

/**
 * @typedef {DecodingEvent | StartedEvent | StepEvent | AutosavedEvent | AutosaveFailedEvent
 *   | LrPointEvent | FoldStepEvent} ProgressEvent
 */

/** @typedef {{ kind: "decoding", done: number, total: number }} DecodingEvent */

/**
 * The run's sizes, with the worker's wasm memory after decoding (its peak so far) and what a
 * resumed run reported before it was saved (empty for a new run).
 * @typedef {{ kind: "started", info: SessionInfo & { wasmMemoryBytes: number, history: RunHistory } }} StartedEvent
 */

/**
 * A training step, with the worker's wasm memory after it (its peak so far).
 * @typedef {import("./types/StepEvent").StepEvent & { kind: "step", wasmMemoryBytes: number }} StepEvent
 */

/**
 * The run's state after `epoch` is in the browser's storage: `bytes` of run file, in `ms`.
 * @typedef {{ kind: "autosaved", epoch: number, bytes: number, ms: number }} AutosavedEvent
 */

/**
 * That epoch could not be saved (storage full); training goes on.
 * @typedef {{ kind: "autosave-failed", epoch: number, message: string }} AutosaveFailedEvent
 */

/**
 * One rate of the learning-rate range test is tried: `step` (1-based) of at most `total`
 * batches (the test stops early once the loss blows up).
 * @typedef {{ kind: "lr-point", point: LrPoint, step: number, total: number }} LrPointEvent
 */
