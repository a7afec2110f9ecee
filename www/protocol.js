// The protocol between the page and the worker (worker.js), imported by both sides so that a
// message type is spelled once.
//
// The page sends `{ id, type, ...args }` with `type` one of `Request`. Every request settles
// with exactly one `{ id, type: Reply.RESULT, value }` or `{ id, type: Reply.ERROR, message }`.
// Long requests (train, evaluate) also post `{ id, type: Reply.PROGRESS, event }` before they
// settle, `event.kind` being one of `Progress`. `stop` is answered at once and takes effect
// before the next training step.
//
// The shapes below are made in Rust (src/wasm.rs and the types it serialises, camelCase); they
// are written down here for readers of the JS, not checked.

/** Request types, page → worker. */
export const Request = Object.freeze({
  /** {@link InitArgs} → {@link BackendInfo} */
  INIT: "init",
  /** {@link LoadDatasetArgs} → {@link DatasetSummary} */
  LOAD_DATASET: "load-dataset",
  /** {@link TrainArgs} → {@link TrainResult}, with decoding, started and step progress */
  TRAIN: "train",
  /**
   * {@link ResumeArgs} → {@link TrainResult}, with the same progress as `train`: resumes a saved
   * run on the loaded dataset (the one it started with)
   */
  RESUME: "resume",
  /** {@link ResumeArgs} → {@link SavedRunInfo}: what a saved run is, without loading it */
  RUN_INFO: "run-info",
  /** no arguments → {@link StopResult} */
  STOP: "stop",
  /** {@link LoadModelArgs} → {@link ModelReply} */
  LOAD_MODEL: "load-model",
  /** {@link SetThresholdsArgs} → {@link ModelReply} */
  SET_THRESHOLDS: "set-thresholds",
  /** {@link PredictArgs} → {@link PredictResult} */
  PREDICT: "predict",
  /** no arguments (the loaded dataset and model) → {@link Evaluation}, with decoding progress */
  EVALUATE: "evaluate",
  /** {@link MemoryPlanArgs} → {@link MemoryPlan} for the loaded dataset; nothing is decoded */
  MEMORY_PLAN: "memory-plan",
  /**
   * no arguments (the current model) → `Uint8Array`: a zip of the model, the predict package
   * and a ready page that predicts with it (src/export.rs)
   */
  EXPORT_WEB: "export-web",
  /**
   * {@link GalleryArgs} → {@link GalleryPage}: a page of the loaded dataset's images with their
   * labels and thumbnails (decoded from the zip; refused while training runs)
   */
  GALLERY: "gallery",
  /**
   * no arguments → {@link Review} | null: the current model on the images it was last measured
   * on (the validation images of the run that made it, or the whole dataset after Evaluate), at
   * the thresholds in force; null when there is none
   */
  REVIEW: "review",
  /** {@link ErrorsArgs} → {@link LabelErrors}: one label's false positives and negatives */
  ERRORS: "errors",
  /** `{ limit }` → {@link ReviewImage}[]: the reviewed images with the highest loss, highest first */
  MOST_WRONG: "most-wrong",
  /** `{ index }` → {@link ImageDetail}: every label's probability against the truth for one image */
  IMAGE_DETAIL: "image-detail",
  /** {@link SaliencyArgs} → {@link Saliency}: Grad-CAM heat map of one label on one image */
  SALIENCY: "saliency",
  /** `{ title }` → `Uint8Array`: the evaluation report, one self-contained HTML file */
  REPORT: "report",
  /**
   * `{ options }` ({@link TrainingOptions}) → {@link LrFindReport}, with decoding and
   * {@link LrPointEvent} progress: the learning-rate range test; `stop` ends it early
   */
  LR_FIND: "lr-find",
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
  /** `{ kind, epoch, message }`: that epoch could not be saved (storage full); training goes on. */
  AUTOSAVE_FAILED: "autosave-failed",
  /** {@link LrPointEvent}: one rate of the learning-rate range test is tried. */
  LR_POINT: "lr-point",
});

// ---------------------------------------------------------------------------------------------
// Requests' arguments

/**
 * @typedef {object} InitArgs
 * @property {"auto" | "webgpu" | "cpu"} prefer  `cpu` forces the CPU backend.
 */

/**
 * @typedef {object} ResumeArgs
 * @property {Blob} state  A run file, as `Trainer.saveState` wrote it (store.js keeps it).
 */

/**
 * @typedef {object} SavedRunInfo
 * @property {number} epochsCompleted
 * @property {number} epochs
 * @property {boolean} stoppedEarly
 * @property {string[]} labels
 * @property {number} images
 * @property {string} model
 * @property {object} options
 * @property {number | null} bestMap
 */

/**
 * @typedef {object} AutosavedEvent
 * @property {"autosaved"} kind
 * @property {number} epoch  The epoch whose end was saved.
 * @property {number} bytes  Size of the run file.
 * @property {number} ms  Time to read the state back and write it.
 */

/**
 * @typedef {object} LoadDatasetArgs
 * @property {File} file  A dataset zip.
 */

/**
 * @typedef {object} TrainArgs
 * @property {TrainingOptions} options
 * @property {File | null} initModel  A model file to continue from (same labels) or to take
 *   the backbone of (other labels); null for new weights.
 * @property {boolean} autosave  Save the run's state to the browser's storage after each epoch.
 */

/**
 * Each field is optional on the Rust side (missing ones take `TrainingChoices.defaults`).
 * @typedef {object} TrainingOptions
 * @property {number} depth
 * @property {number} imageSize
 * @property {number} epochs
 * @property {number} batchSize
 * @property {number} learningRate
 * @property {number} [weightDecay]
 * @property {number | null} validationFraction  null: the dataset decides (10 % of a large one, more when small or rare)
 * @property {number | null} timeBudgetSeconds  Train for about this long (the epochs are chosen after the first steps)
 * @property {number} labelSmoothing
 * @property {number} emaDecay  Validate and keep a moving average of the weights (0: off)
 * @property {number} seed
 * @property {{ crop: boolean, flip: boolean, jitter: boolean }} augment
 * @property {boolean} positiveWeights
 * @property {number} [gradientClip]
 * @property {"burn" | "he"} [convInit]  How a new network's convolutions start: burn's uniform init or
 *   He's normal init (see `ConvInit` in src/model/block.rs).
 * @property {number} patience
 * @property {"best" | "last"} [keep]  Which epoch's weights are saved: the best validation mAP's, or the last
 *   one's when the schedule runs to its end (the best one's when early stopping ends it).
 * @property {{ goal: "maxF1" } | { goal: "precision" | "recall", target: number }} thresholdGoal
 * @property {string} resize  One of `TrainingChoices.resizePolicies`.
 * @property {string[] | null} [labels]  The label columns to train on, by name (null or missing:
 *   every label column). The model file lists exactly these.
 */

/**
 * @typedef {object} LoadModelArgs
 * @property {File} file  A `.safetensors` model file.
 */

/**
 * @typedef {object} SetThresholdsArgs
 * @property {number[]} thresholds  One per label, in the model's label order.
 */

/**
 * @typedef {object} PredictArgs
 * @property {File} file  A JPEG or PNG image.
 */

// ---------------------------------------------------------------------------------------------
// Replies' values

/**
 * @typedef {object} BackendInfo
 * @property {"webgpu" | "cpu"} kind
 * @property {string | null} adapter  The GPU adapter's name, when there is one.
 * @property {string | null} notice  Something the person should know about the backend.
 * @property {number | null} maxBufferBytes  The GPU's largest buffer (null on the CPU); training
 *   batches and prediction passes are sized to fit it.
 * @property {TrainingChoices} choices  What the options form offers (`trainingChoices()`).
 */

/**
 * @typedef {object} TrainingChoices
 * @property {ModelChoice[]} models
 * @property {Record<"epochs" | "timeBudgetSeconds" | "batchSize" | "imageSize" | "learningRate" |
 *   "weightDecay" | "validationFraction", Bounds>} limits
 * @property {string[]} resizePolicies
 * @property {TrainingOptions} defaults
 */

/**
 * @typedef {object} ModelChoice
 * @property {"small" | "large"} kind
 * @property {number[]} depths  Smallest first.
 * @property {number} minImageSize  The image sides this family suits.
 * @property {number} maxImageSize
 */

/** @typedef {{ min: number, max: number }} Bounds */

/**
 * @typedef {object} DatasetSummary
 * @property {number} images
 * @property {string} imageColumn
 * @property {{ name: string, positives: number, negatives: number, note: string | null }[]} labels
 *   `note` flags a label too rare to learn or to validate ("3 positives: too few to learn or to
 *   validate"); such labels are still trained unless left out.
 * @property {{ width: number, height: number, count: number }[]} sizes
 * @property {number} minSide
 * @property {number} maxSide
 * @property {string[]} warnings
 * @property {{ kind: "small" | "large", depth: number, imageSize: number, batchSize: number }} recommended
 * @property {number[]} labelsPerImage  `[k]`: images carrying exactly k labels.
 * @property {number[][]} cooccurrence  `[a][b]`: images carrying both labels.
 * @property {boolean} grayscale
 * @property {{ train: number, valid: number, test: number } | null} splitColumn
 * @property {{ column: string, groups: number, largest: number } | null} groupColumn  The
 *   `group` column: how many distinct groups, and the most images one group holds.
 * @property {string[][]} duplicates  Images whose files are byte for byte the same, each list one
 *   set (names as in index.csv); the split keeps each set on one side.
 */

/**
 * @typedef {object} TrainResult
 * @property {boolean} stopped  Stopped before the last step: by the person, or by `failure`.
 * @property {string} [failure]  Why the run stopped on its own (the loss diverged: the message
 *   names the step and the learning rate); the model is then the best epoch's.
 * @property {Uint8Array | null} model  Null when stopped before the first step.
 * @property {ModelMetadata | null} metadata
 * @property {{ label: string, points: CurvePoint[] }[] | null} curves  Validation
 *   precision–recall curves, highest threshold first.
 * @property {Review | null} review  The model on its validation images (see Request.REVIEW).
 */

/** @typedef {{ threshold: number, precision: number, recall: number }} CurvePoint */

/** @typedef {{ stopping: boolean }} StopResult */

/**
 * @typedef {object} ModelReply
 * @property {Uint8Array} model  The model file, for download.
 * @property {ModelMetadata} metadata
 * @property {Review | null} [review]  SET_THRESHOLDS only: the review at the new thresholds.
 */

/**
 * @typedef {object} ModelMetadata
 * @property {string[]} labels
 * @property {number[]} thresholds
 * @property {number} imageSize
 * @property {string} model  The network's name, e.g. "ResNetV2-Small-11".
 * @property {string} backend
 * @property {{ epochsCompleted: number, trainImages: number, finalMap: number | null } | null} training
 */

/**
 * @typedef {object} PredictResult
 * @property {{ label: string, probability: number, threshold: number, positive: boolean }[]} predictions
 *   Highest probability first.
 */

/**
 * Every metric over the labels (a validation pass or an evaluation).
 * @typedef {object} Metrics
 * @property {number} map
 * @property {number | null} macroRocAuc
 * @property {number} microF1
 * @property {number} macroF1
 * @property {number} hammingLoss
 * @property {number} subsetAccuracy
 * @property {LabelMetrics[]} labels
 */

/**
 * @typedef {object} LabelMetrics
 * @property {string} name
 * @property {number} precision
 * @property {number} recall
 * @property {number} f1
 * @property {number | null} ap  Null without positive examples.
 * @property {number | null} rocAuc  Null when the label has one class only.
 * @property {number} support  Positive examples.
 * @property {number} threshold
 */

/**
 * @typedef {Metrics & { images: number, imagesPerSec: number }} Evaluation
 */

/**
 * @typedef {object} MemoryPlanArgs
 * @property {TrainingOptions} options
 */

/**
 * What a training run would hold in the worker's memory (src/memory.rs).
 * @typedef {object} MemoryPlan
 * @property {number} zipBytes
 * @property {number} pixelBytes  The decoded images at the training size.
 * @property {number} networkBytes  Parameters, gradients, optimiser state, a batch's activations.
 * @property {number} totalBytes
 * @property {number} availableBytes  What a tab can use at most.
 * @property {"fits" | "tight" | "too-large"} verdict  "too-large" runs are refused.
 * @property {string} message  The plan in words, with what to change when it does not fit.
 */

// ---------------------------------------------------------------------------------------------
// Progress events

/** @typedef {DecodingEvent | StartedEvent | StepEvent | AutosavedEvent} ProgressEvent */

/** @typedef {{ kind: "decoding", done: number, total: number }} DecodingEvent */

/**
 * @typedef {object} StartedEvent
 * @property {"started"} kind
 * @property {object} info
 * @property {number} info.trainImages
 * @property {number} info.validImages
 * @property {number} info.stepsPerEpoch
 * @property {number} info.totalSteps
 * @property {number} info.parameters
 * @property {string} info.model
 * @property {"webgpu" | "cpu"} info.backend
 * @property {number} info.batchSize  Images per step.
 * @property {string | null} info.batchNotice  Set when the batch asked for was lowered to fit the
 *   GPU's largest buffer (`maxStorageBufferBindingSize`).
 * @property {"new" | "continue" | "new-head"} info.init
 * @property {number} info.wasmMemoryBytes  The worker's wasm memory after decoding (its peak so far).
 * @property {{ epochs: EpochReport[], stepLosses: number[] }} info.history  What a resumed run
 *   reported before it was saved (empty for a new run).
 * @property {string[]} info.labels  The labels trained (the chosen columns).
 * @property {string[][]} info.duplicates  Images whose decoded pixels (at the training size) are
 *   the same, each list one set kept on one side of the split.
 * @property {number | null} info.groups  Groups of the `group` column kept whole by the split.
 */

/**
 * @typedef {object} StepEvent
 * @property {"step"} kind
 * @property {number} epoch
 * @property {number} step
 * @property {number} totalSteps
 * @property {number} loss
 * @property {number} imagesPerSec
 * @property {number} etaSeconds
 * @property {number | null} epochsChosen  On the step where a time budget chose the epochs: how many.
 * @property {EpochReport | null} validation  On the step that ends an epoch.
 * @property {boolean} done
 * @property {boolean} stoppedEarly
 * @property {number} wasmMemoryBytes  The worker's wasm memory after this step (its peak so far).
 */

/**
 * @typedef {Metrics & { epoch: number, trainLoss: number, validLoss: number | null, best: boolean }} EpochReport
 */

// ---------------------------------------------------------------------------------------------
// Looking at the data and the model's mistakes (src/review.rs, src/saliency.rs, src/report.rs)

/**
 * @typedef {object} GalleryArgs
 * @property {string | null} label  Only images carrying this label (null: all).
 * @property {"train" | "valid" | null} split  Only this side of the last run's split (null: all;
 *   refused before a run has split the dataset).
 * @property {number} page  0-based.
 * @property {number} perPage  At most 200.
 * @property {number} [side]  Thumbnail side in px (default 96).
 */

/**
 * @typedef {object} GalleryPage
 * @property {number} total  Images matching the filter.
 * @property {number} page
 * @property {number} pages
 * @property {GalleryImage[]} images
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

/**
 * Pixels ready for `new ImageData(rgba, width, height)`.
 * @typedef {{ width: number, height: number, rgba: Uint8ClampedArray }} Thumbnail
 */

/**
 * The current model measured on a set of images, at the thresholds in force. Every number the
 * page shows about the model's quality comes from here.
 * @typedef {object} Review
 * @property {"validation" | "evaluation"} source  The run's validation images, or every image
 *   of the dataset (Evaluate).
 * @property {number} images
 * @property {string[]} labels
 * @property {number[]} thresholds  In force, one per label.
 * @property {Metrics} metrics  At those thresholds.
 * @property {LabelCurves[]} curves
 */

/**
 * @typedef {object} LabelCurves
 * @property {string} label
 * @property {number | null} ap
 * @property {number | null} rocAuc
 * @property {{ threshold: number, precision: number, recall: number }[]} pr  Highest threshold first.
 * @property {{ threshold: number, fpr: number, tpr: number }[]} roc  Highest threshold first,
 *   from (0, 0) to (1, 1).
 * @property {{ threshold: number, precision: number, recall: number, fpr: number }} current  The
 *   label at its threshold in force: the point to mark on both curves.
 */

/**
 * @typedef {object} ErrorsArgs
 * @property {string} label
 * @property {number} limit  Images per list, at most 200.
 * @property {number} [side]  Thumbnail side (default 96).
 */

/**
 * @typedef {object} LabelErrors
 * @property {string} label
 * @property {number} threshold  In force.
 * @property {number} falsePositiveCount  All of them (the lists stop at `limit`).
 * @property {number} falseNegativeCount
 * @property {ReviewImage[]} falsePositives  Highest probability first.
 * @property {ReviewImage[]} falseNegatives  Lowest probability first.
 */

/**
 * @typedef {GalleryImage & { probability: number | null, loss: number }} ReviewImage
 *   `probability`: of the label asked about (null in MOST_WRONG); `loss`: the image's mean
 *   binary cross-entropy over the labels.
 */

/**
 * @typedef {object} ImageDetail
 * @property {number} index
 * @property {string} name
 * @property {"train" | "valid" | null} split
 * @property {{ label: string, probability: number, threshold: number, truth: boolean,
 *   positive: boolean }[]} labels  In the model's label order.
 */

/**
 * @typedef {object} SaliencyArgs
 * @property {number} [index]  An image of the loaded dataset, or
 * @property {File} [file]  a JPEG/PNG file.
 * @property {string} label
 */

/**
 * @typedef {object} Saliency
 * @property {string} label
 * @property {number} probability
 * @property {Thumbnail} image  The image as the model sees it (its input size).
 * @property {Thumbnail} heat  Same size: the heat map, coloured, alpha rising with the heat.
 */

// ---------------------------------------------------------------------------------------------
// The learning-rate range test (src/train/lr_find.rs)

/** @typedef {{ learningRate: number, loss: number, smoothed: number }} LrPoint */

/**
 * @typedef {object} LrPointEvent
 * @property {"lr-point"} kind
 * @property {LrPoint} point
 * @property {number} step  1-based.
 * @property {number} total  Batches the test runs at most (it stops early once the loss blows up).
 */

/**
 * @typedef {object} LrFindReport
 * @property {LrPoint[]} points  Lowest rate first.
 * @property {number} suggested  `kneeRate`, or a tenth of `minLossRate` where lower.
 * @property {number} minLossRate  Where the smoothed loss was lowest.
 * @property {number | null} kneeRate  Where the loss's fall levelled off, when it fell.
 * @property {number | null} divergedAt  Where the loss blew up, when it did.
 */
