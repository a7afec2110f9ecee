// 2. Train, the options form. What it offers (depths, ranges, defaults) comes from Rust through
// `TrainingChoices` (the init reply); nothing here knows a rule of its own.
import { Request } from "../protocol.js";
import { state, update } from "../state.js";
import { $, el, f32, onFileChosen } from "../ui.js";

/** @typedef {import("../protocol.js").TrainingChoices} TrainingChoices */
/** @typedef {import("../protocol.js").TrainingOptions} TrainingOptions */
/** @typedef {import("../protocol.js").Bounds} Bounds */

/**
 * How each choice of a select is named on the page, by its JSON name; a choice missing here
 * shows its JSON name. Which choices there are comes from `TrainingChoices`.
 * @type {Record<string, Record<string, string>>}
 */
const CHOICE_NAMES = {
  resize: { stretch: "Stretch", "center-crop": "Center crop", letterbox: "Letterbox (pad)" },
  convInit: {
    burn: "uniform, small (learns fast)",
    he: "He's normal (calmer; suited Small-20 on photo-like images)",
  },
  keep: { last: "the last epoch's (the best's if stopped early)", best: "the best validation mAP's epoch" },
  thresholdGoal: { maxF1: "best F1", precision: "a precision of", recall: "a recall of" },
};

/**
 * The numeric inputs whose range and default come from `TrainingChoices`, by option name.
 * @type {Partial<Record<keyof TrainingChoices["limits"] & keyof TrainingOptions, string>>}
 */
const NUMBER_INPUTS = {
  imageSize: "#opt-image-size",
  epochs: "#opt-epochs",
  batchSize: "#opt-batch-size",
  learningRate: "#opt-learning-rate",
  weightDecay: "#opt-weight-decay",
  validationFraction: "#opt-validation",
  labelSmoothing: "#opt-label-smoothing",
  emaDecay: "#opt-ema",
  gradientClip: "#opt-gradient-clip",
  patience: "#opt-patience",
  seed: "#opt-seed",
};

/**
 * The spectrogram settings' inputs (sound datasets), by `SoundSettings` field.
 * @type {Record<keyof import("../types/SoundSettings").SoundSettings, string>}
 */
const SOUND_INPUTS = {
  clipSeconds: "#opt-clip-seconds",
  sampleRate: "#opt-sample-rate",
  window: "#opt-window",
  hop: "#opt-hop",
  melBands: "#opt-mel-bands",
  minHz: "#opt-min-hz",
  maxHz: "#opt-max-hz",
};

/** "Small", "Large". */
const familyName = (kind) => kind.charAt(0).toUpperCase() + kind.slice(1);

/** @param {import("../client.js").WorkerClient} client */
export function initOptionsForm(client) {
  planClient = client;
  $("#opt-image-size").addEventListener("input", updateModelHint);
  $("#opt-depth").addEventListener("change", updateModelHint);
  // Any option may change what a run needs (size, depth, batch): plan again.
  $("#train-form").addEventListener("input", () => updateMemoryPlan());
  $("#train-form").addEventListener("change", () => updateMemoryPlan());
  $("#opt-start").addEventListener("change", showStart);
  onFileChosen($("#init-model-file"), (file) => showInitModel(file));
  $("#init-model-clear").addEventListener("click", () => showInitModel(null));
}

/**
 * Gives `input` the range `bounds` (times `scale`: the time budget is in minutes on the page): its
 * min and max, and for an end the range excludes, a message while the value sits on it (the
 * form then refuses Train, as Rust would).
 * @param {HTMLInputElement} input
 * @param {Bounds} bounds
 */
function applyBounds(input, bounds, scale = 1) {
  const [min, max] = [bounds.min * scale, bounds.max * scale];
  input.min = String(min);
  input.max = String(max);
  if (!bounds.minExcluded && !bounds.maxExcluded) return;
  const check = () => {
    const value = Number(input.value);
    const onExcludedEnd = input.value !== "" &&
      ((bounds.minExcluded && value === min) || (bounds.maxExcluded && value === max));
    input.setCustomValidity(onExcludedEnd
      ? `Must be ${bounds.minExcluded ? `above ${min}` : `at least ${min}`} and ` +
        `${bounds.maxExcluded ? `below ${max}` : `at most ${max}`}.`
      : "");
  };
  input.oninput = check;
  check();
}

/** A select's options: `values` (JSON names) with their names on the page. */
function fillSelect(/** @type {HTMLSelectElement} */ select, /** @type {string[]} */ values,
  /** @type {Record<string, string>} */ names) {
  select.replaceChildren(...values.map((value) => el("option", { value }, names[value] ?? value)));
}

/** Fills the form from the backend's choices: the depths, the ranges and the defaults. */
export function showChoices(/** @type {TrainingChoices} */ choices) {
  const { defaults, limits } = choices;
  $("#opt-depth").replaceChildren(...choices.models.map((m) =>
    el("optgroup", { label: `ResNetV2 ${familyName(m.kind)} (${m.minImageSize}–${m.maxImageSize} px)` },
      ...m.depths.map((depth) => el("option", { value: String(depth) }, `${familyName(m.kind)}-${depth}`)))));
  fillSelect($("#opt-resize"), choices.resizePolicies, CHOICE_NAMES.resize);
  fillSelect($("#opt-conv-init"), choices.convInits, CHOICE_NAMES.convInit);
  fillSelect($("#opt-keep"), choices.keptEpochs, CHOICE_NAMES.keep);
  fillSelect($("#opt-threshold-goal"), choices.thresholdGoals, CHOICE_NAMES.thresholdGoal);
  for (const [option, selector] of Object.entries(NUMBER_INPUTS)) {
    const input = $(selector);
    // An option the dataset decides when left empty (the validation share) has no default.
    input.value = defaults[option] == null ? "" : String(defaults[option]);
    applyBounds(input, limits[option]);
  }
  applyBounds($("#opt-threshold-target"), limits.thresholdTarget);
  $("#opt-depth").value = String(defaults.depth);
  $("#opt-resize").value = defaults.resize;
  $("#opt-time-budget").value = defaults.timeBudgetSeconds == null ? "" : String(defaults.timeBudgetSeconds / 60);
  applyBounds($("#opt-time-budget"), limits.timeBudgetSeconds, 1 / 60);
  $("#opt-keep").value = defaults.keep;
  $("#opt-conv-init").value = defaults.convInit;
  $("#opt-crop").checked = defaults.augment.crop;
  $("#opt-jitter").checked = defaults.augment.jitter;
  $("#opt-flip").checked = defaults.augment.flip;
  $("#opt-pos-weight").checked = defaults.positiveWeights;
  $("#opt-masks").checked = defaults.augment.masks;
  const sound = choices.sound;
  $("#opt-window").replaceChildren(...sound.windows.map((w) => el("option", { value: String(w) }, String(w))));
  applyBounds($("#opt-sample-rate"), sound.sampleRate);
  applyBounds($("#opt-clip-seconds"), sound.clipSeconds);
  applyBounds($("#opt-mel-bands"), sound.melBands);
  const goal = defaults.thresholdGoal;
  $("#opt-threshold-goal").value = goal.goal;
  if ("target" in goal) $("#opt-threshold-target").value = String(goal.target);
  updateModelHint();
}

/**
 * Shows the spectrogram settings for a dataset of sound clips (chosen from its clips), or
 * hides them for images; a clip is not mirrored, and resize policies are for photos.
 * @param {import("../types/SoundProfile").SoundProfile | null} sound
 */
export function showSoundSettings(sound) {
  const wasSound = !$("#sound-options").hidden;
  $("#sound-options").hidden = !sound;
  $("#opt-resize-field").hidden = !!sound;
  $("#opt-flip-field").hidden = !!sound;
  if (sound) {
    $("#opt-flip").checked = false;
    const s = /** @type {import("../types/SoundSettings").SoundSettings} */ (Object.fromEntries(
      Object.entries(sound.settings).map(([field, value]) => [field, f32(value)])));
    for (const [field, selector] of Object.entries(SOUND_INPUTS)) $(selector).value = String(s[field]);
    $("#sound-hint").textContent = `Chosen from the clips: a window of ${s.clipSeconds} s (the median clip is ` +
      `${sound.medianSeconds.toFixed(2)} s; shorter clips are padded with silence, longer ones cropped), ` +
      `${s.melBands} bands from ${s.minHz} to ${s.maxHz} Hz.`;
    const limits = state.choices?.sound;
    if (limits) {
      $("#sound-hint").textContent += ` Clips are read up to ${limits.maxClipSeconds / 60} minutes long, ` +
        `${limits.maxSampleRate / 1000} kHz and ${limits.maxChannels} channels (longer or faster files are refused by name).`;
    }
  } else if (wasSound) {
    $("#opt-flip").checked = state.choices?.defaults.augment.flip ?? false;
  }
}

/** The spectrogram settings as the form sets them. */
function soundSettings() {
  return /** @type {import("../types/SoundSettings").SoundSettings} */ (Object.fromEntries(
    Object.entries(SOUND_INPUTS).map(([field, selector]) => [field, Number($(selector).value)])));
}

/** Takes a dataset's recommended image size, depth and batch size. */
export function applyRecommendation(/** @type {{ imageSize: number, depth: number, batchSize: number }} */ recommended) {
  recommendedSize = recommended.imageSize;
  $("#opt-image-size").value = String(recommended.imageSize);
  $("#opt-start").value = "scratch";
  $("#opt-depth-field").hidden = false;
  $("#opt-train-layers-field").hidden = true;
  $("#opt-batch-size").value = String(recommended.batchSize);
  $("#opt-depth").value = String(recommended.depth);
  updateModelHint();
  updateMemoryPlan();
}

/** The dataset's recommended image size, which a start from scratch takes back. */
let recommendedSize = 0;

/** @type {import("../client.js").WorkerClient | null} */
let planClient = null;
let planAsked = 0;

/**
 * Asks the worker what a run with the form's options would hold in memory and shows it: in
 * words, and as a warning with what to change when it will not fit (before any image is
 * decoded). Only the answer to the latest question is shown.
 */
export async function updateMemoryPlan() {
  const shown = $("#memory-plan");
  if (!planClient || !state.datasetLoaded) {
    shown.hidden = true;
    return;
  }
  const asked = ++planAsked;
  let plan;
  try {
    plan = await planClient.request(Request.MEMORY_PLAN, { options: trainingOptions() });
  } catch {
    // Options out of range: the form says so at Train; nothing to plan meanwhile.
    if (asked === planAsked) shown.hidden = true;
    return;
  }
  if (asked !== planAsked) return;
  shown.textContent = plan.message;
  shown.className = plan.verdict === "fits" ? "muted" : "notice";
  shown.dataset.verdict = plan.verdict; // read by the browser tests
  shown.dataset.totalBytes = String(plan.totalBytes);
  shown.dataset.networkBytes = String(plan.networkBytes); // read by benches/browser_memory.mjs
  shown.hidden = false;
}

/** Says when the image size suits another family than the chosen model's, or no family. */
function updateModelHint() {
  const models = state.choices?.models ?? [];
  const size = Number($("#opt-image-size").value);
  const chosen = models.find((m) => m.depths.includes(Number($("#opt-depth").value)));
  const suits = (m) => size >= m.minImageSize && size <= m.maxImageSize;
  const largest = Math.max(...models.map((m) => m.maxImageSize));
  let hint = "";
  if (size > largest) {
    hint = `Images above ${largest} px are slow to train in a browser; ${largest} px or less is recommended.`;
  } else if (chosen && !suits(chosen)) {
    const better = models.find(suits);
    if (better) {
      hint = `Images of ${size} px usually train better with a ${familyName(better.kind)} model ` +
        `(${better.minImageSize}–${better.maxImageSize} px).`;
    }
  }
  $("#model-hint").textContent = hint;
}

/**
 * The start chosen: a pretrained one shows which layers train instead of the depth, and takes
 * the image size its weights learned at (which can be lowered); from scratch, the dataset's
 * recommended size again.
 */
function showStart() {
  const pretrained = $("#opt-start").value === "pretrained";
  $("#opt-depth-field").hidden = pretrained;
  $("#opt-train-layers-field").hidden = !pretrained;
  const size = pretrained ? state.choices?.pretrained.imageSize : recommendedSize;
  if (size) $("#opt-image-size").value = String(size);
  updateModelHint();
  updateMemoryPlan();
}

/** "Continue from a model file": the file is read by the worker when training starts. */
export function showInitModel(/** @type {File | null} */ file) {
  update({ initModel: file });
  $("#init-model-name").textContent = file ? `Starting from ${file.name}` : "";
  $("#init-model-clear").hidden = !file;
}

/** An input's number times `scale`, or null when it is empty (the core then decides). */
function optionalNumber(/** @type {string} */ selector, /** @type {number} */ scale) {
  const text = $(selector).value.trim();
  return text === "" ? null : Number(text) * scale;
}

/**
 * The options as the form sets them (Rust fills in the rest).
 * @returns {import("../protocol.js").OptionsArg}
 */
export function trainingOptions() {
  const goal = $("#opt-threshold-goal").value;
  const pretrained = $("#opt-start").value === "pretrained";
  const layers = $("#opt-train-layers").value;
  // The head alone trains on features computed once, which augmentation would change.
  const augmented = !(pretrained && layers === "head");
  return {
    depth: Number($("#opt-depth").value),
    // A pretrained start: the worker passes the served ImageNet weights with the options.
    pretrained,
    trainLayers: pretrained ? layers : "all",
    backboneLrScale: pretrained ? state.choices?.pretrained.backboneLrScale ?? 1 : 1,
    imageSize: Number($("#opt-image-size").value),
    epochs: Number($("#opt-epochs").value),
    // Minutes on the page, seconds to the core; empty: the epochs hold.
    timeBudgetSeconds: optionalNumber("#opt-time-budget", 60),
    batchSize: Number($("#opt-batch-size").value),
    learningRate: Number($("#opt-learning-rate").value),
    weightDecay: Number($("#opt-weight-decay").value),
    gradientClip: Number($("#opt-gradient-clip").value),
    resize: $("#opt-resize").value,
    validationFraction: optionalNumber("#opt-validation", 1),
    labelSmoothing: Number($("#opt-label-smoothing").value),
    emaDecay: Number($("#opt-ema").value),
    patience: Number($("#opt-patience").value),
    keep: $("#opt-keep").value,
    convInit: $("#opt-conv-init").value,
    seed: Number($("#opt-seed").value),
    positiveWeights: $("#opt-pos-weight").checked,
    thresholdGoal: goal === "maxF1" ? { goal } : { goal, target: Number($("#opt-threshold-target").value) },
    augment: {
      crop: augmented && $("#opt-crop").checked, jitter: augmented && $("#opt-jitter").checked,
      flip: augmented && $("#opt-flip").checked, masks: augmented && $("#opt-masks").checked,
    },
    // Sound clips: the spectrogram settings (the run decodes the clips with them).
    sound: state.datasetKind === "sounds" ? soundSettings() : null,
    // The labels ticked in 1. Dataset; null when every label is (the worker's default).
    labels: state.chosenLabels.length === state.datasetLabels.length ? null : [...state.chosenLabels],
  };
}
