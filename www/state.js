// The page's state, in one object. The DOM shows it and is never read back for a decision
// (the `data-*` attributes the panels write are for the browser tests and benches).

/** @typedef {import("./protocol.js").TrainingChoices} TrainingChoices */
/** @typedef {import("./protocol.js").ModelMetadata} ModelMetadata */
/** @typedef {import("./protocol.js").Review} Review */

/**
 * @typedef {object} PageState
 * @property {TrainingChoices | null} choices  What the options form offers, from the backend.
 * @property {boolean} datasetLoaded  The worker holds a usable dataset.
 * @property {string} datasetName  Its file name.
 * @property {"images" | "sounds"} datasetKind  What its files are.
 * @property {File | null} datasetFile  That zip, to load again into a restarted worker.
 * @property {string[]} datasetNewLabels  The labels it was opened with (its images came without).
 * @property {boolean} training  A training run is in flight.
 * @property {boolean} evaluating  An evaluation is in flight.
 * @property {ModelMetadata | null} model  The worker's current model.
 * @property {Blob | null} modelFile  Its file as the worker holds it (thresholds included), to
 *   load again into a restarted worker.
 * @property {number[]} thresholds  The model's per-label thresholds as the sliders set them.
 * @property {string | null} libraryId  The current model's entry in the library (store.js).
 * @property {File | null} initModel  "Continue from a model file": read by the worker at Train.
 * @property {File | null} lastPredicted  The image predicted last (predicted again when the
 *   thresholds change).
 * @property {string[]} datasetLabels  The loaded dataset's label columns, in its order.
 * @property {string[]} chosenLabels  Those ticked for training (in the same order).
 * @property {boolean} datasetSplit  A run has split the loaded dataset into training and
 *   validation images (the gallery can filter by side).
 * @property {Review | null} review  The current model measured on a set of images at the
 *   thresholds in force, as the worker last said (every quality number shown comes from it).
 * @property {number} reviewSerial  Counts the reviews of another model or another set of images
 *   (not those of moved thresholds): what does not depend on thresholds is asked again only then.
 * @property {Run} run  The current (or last) training run. Its progress changes it in place,
 *   unannounced: only the training panel shows it.
 */

/**
 * @typedef {object} Run
 * @property {"idle" | "preparing" | "running" | "done" | "stopped" | "diverged" | "failed"} phase
 * @property {number} startedAt  `performance.now()` at Train.
 * @property {number} totalSteps
 * @property {number[]} trainLosses  One per step.
 * @property {{ step: number, loss: number }[]} validLosses  One per epoch with validation images.
 * @property {string} imagesPerSec  As last reported, one decimal.
 * @property {number | null} lastMap  The last validation mAP.
 */

/** A run that has not started. @returns {Run} */
export const newRun = () => ({
  phase: "idle", startedAt: performance.now(), totalSteps: 1, trainLosses: [], validLosses: [],
  imagesPerSec: "", lastMap: null,
});

/** @type {PageState} */
export const state = {
  choices: null,
  datasetLoaded: false,
  datasetName: "",
  datasetKind: "images",
  datasetFile: null,
  datasetNewLabels: [],
  training: false,
  evaluating: false,
  model: null,
  modelFile: null,
  thresholds: [],
  libraryId: null,
  initModel: null,
  lastPredicted: null,
  datasetLabels: [],
  chosenLabels: [],
  datasetSplit: false,
  review: null,
  reviewSerial: 0,
  run: newRun(),
};

/** @type {Set<(state: PageState) => void>} */
const listeners = new Set();

/** Calls `listener(state)` after every `update`, so that what depends on the state follows it. */
export function onStateChange(listener) {
  listeners.add(listener);
}

/** Changes the state and tells every listener. */
export function update(/** @type {Partial<PageState>} */ changes) {
  Object.assign(state, changes);
  for (const listener of listeners) listener(state);
}

/**
 * Makes `review` the page's review (null: the current model has none). `thresholdsMoved`: the
 * same model on the same images at other thresholds (a SET_THRESHOLDS reply).
 */
export function setReview(/** @type {Review | null} */ review, { thresholdsMoved = false } = {}) {
  update({ review, reviewSerial: thresholdsMoved ? state.reviewSerial : state.reviewSerial + 1 });
}
