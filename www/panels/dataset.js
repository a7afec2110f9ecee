// 1. Dataset: choose or drop a zip (or the sample), see its summary and choose the labels to
// train on.
import { Request } from "../protocol.js";
import { state, update, onStateChange } from "../state.js";
import { $, bar, clearError, dropTarget, el, onFileChosen, showError } from "../ui.js";

/** @typedef {import("../protocol.js").DatasetSummary} DatasetSummary */

/**
 * @param {import("../client.js").WorkerClient} client
 * @param {{ onSummary: (summary: DatasetSummary) => void, onLabelsChosen: () => void }} hooks
 *   `onSummary` runs after a dataset loaded (the training options take its recommendation);
 *   `onLabelsChosen` after the labels to train on changed (fewer labels, a smaller head).
 */
export function initDatasetPanel(client, { onSummary, onLabelsChosen }) {
  /**
   * Loads a dataset zip into the worker, adding `newLabels` (for images that came without);
   * resolves to whether it loaded. Images without labels ask for label names first.
   */
  async function loadDataset(/** @type {File} */ file, /** @type {string[]} */ newLabels = []) {
    clearError();
    $("#dataset-status").textContent = `Reading ${file.name}…`;
    $("#unlabelled").hidden = true;
    try {
      const reply = await client.request(Request.LOAD_DATASET, { file, newLabels });
      if ("unlabelled" in reply) {
        askForLabels(file, reply.unlabelled);
        return false;
      }
      const summary = reply;
      const names = summary.labels.map((l) => l.name);
      // Another dataset: no run has split it yet, and every label is chosen again.
      update({ datasetLoaded: true, datasetName: file.name, datasetKind: summary.kind, datasetFile: file, datasetLabels: names,
        chosenLabels: names, datasetSplit: false, datasetNewLabels: newLabels });
      renderSummary(file.name, summary);
      renderLabelPicker(summary);
      onSummary(summary);
      $("#dataset-status").textContent = "";
      return true;
    } catch (e) {
      $("#dataset-status").textContent = state.datasetLoaded
        ? "That zip could not be used; the previously loaded dataset is still selected."
        : "";
      showError(`Cannot use ${file.name}`, e);
      return false;
    }
  }

  /** Images that came without labels: the names of the labels to give them, then the grid. */
  function askForLabels(/** @type {File} */ file, /** @type {number} */ count) {
    $("#dataset-status").textContent = "";
    $("#unlabelled-text").textContent = `${file.name} holds ${count} images and no labels (no index.csv, no ` +
      "folder per label). Name the labels to give them, separated by commas; then switch them on each image " +
      "in the grid below, by click or by key.";
    $("#unlabelled").hidden = false;
    /** @type {HTMLFormElement} */ ($("#unlabelled")).onsubmit = async (e) => {
      e.preventDefault();
      const names = /** @type {HTMLInputElement} */ ($("#unlabelled-names")).value.split(",")
        .map((name) => name.trim()).filter(Boolean);
      if (await loadDataset(file, names)) {
        /** @type {HTMLInputElement} */ ($("#gallery-edit")).checked = true;
        $("#gallery-edit").dispatchEvent(new Event("change"));
      }
    };
  }

  /** A folder's files (each with its path, the folder's name first), loaded as their zip. */
  async function loadFolder(/** @type {{ path: string, file: File }[]} */ files) {
    if (state.training || !files.length) return;
    const name = `${files[0].path.split("/")[0] || "folder"}.zip`;
    clearError();
    $("#dataset-status").textContent = `Reading ${files.length} files…`;
    try {
      const zip = await client.request(Request.ZIP_FOLDER, { files });
      await loadDataset(new File([/** @type {Uint8Array<ArrayBuffer>} */ (zip)], name, { type: "application/zip" }));
    } catch (e) {
      $("#dataset-status").textContent = "";
      showError(`Cannot use the folder ${name.replace(/\.zip$/, "")}`, e);
    }
  }

  onFileChosen($("#dataset-file"), (file) => loadDataset(file));
  $("#dataset-folder").addEventListener("change", () => {
    const input = /** @type {HTMLInputElement} */ ($("#dataset-folder"));
    const files = [...(input.files ?? [])].map((file) => ({ path: file.webkitRelativePath || file.name, file }));
    input.value = "";
    loadFolder(files);
  });
  dropTarget($("#dataset-drop"), (file) => {
    if (!state.training) loadDataset(/** @type {File} */ (file));
  }, loadFolder);
  /** Loads a bundled sample (www/sample/). */
  async function trySample(/** @type {string} */ name) {
    try {
      const response = await fetch(`sample/${name}`);
      if (!response.ok) throw new Error(`the sample could not be fetched (HTTP ${response.status})`);
      const blob = await response.blob();
      await loadDataset(new File([blob], name, { type: "application/zip" }));
    } catch (e) {
      showError("Cannot load the sample", e);
    }
  }
  $("#try-sample").addEventListener("click", () => trySample("sample.zip"));
  $("#try-sound-sample").addEventListener("click", () => trySample("sounds.zip"));
  /** Ticks exactly `names` (a subset of the dataset's labels, in its order). */
  function chooseLabels(/** @type {string[]} */ names) {
    const chosen = new Set(names);
    for (const box of $("#label-choices").querySelectorAll("input")) box.checked = chosen.has(box.dataset.label);
    update({ chosenLabels: names });
    onLabelsChosen();
  }
  $("#labels-all").addEventListener("click", () => chooseLabels(state.datasetLabels));
  $("#labels-none").addEventListener("click", () => chooseLabels([]));
  $("#label-choices").addEventListener("change", () => {
    const ticked = new Set([...$("#label-choices").querySelectorAll("input:checked")].map((box) => box.dataset.label));
    chooseLabels(state.datasetLabels.filter((name) => ticked.has(name)));
  });
  // A training run reads the dataset: it cannot change under it.
  onStateChange(({ training, datasetLabels, chosenLabels }) => {
    $("#try-sample").disabled = training;
    $("#try-sound-sample").disabled = training;
    $("#dataset-file").disabled = training;
    $("#dataset-folder").disabled = training;
    for (const box of $("#label-choices").querySelectorAll("input")) box.disabled = training;
    $("#labels-all").disabled = training || chosenLabels.length === datasetLabels.length;
    $("#labels-none").disabled = training || chosenLabels.length === 0;
    $("#labels-chosen").textContent = `${chosenLabels.length} of ${datasetLabels.length} labels chosen`;
    $("#label-picker").dataset.chosen = String(chosenLabels.length); // read by the browser tests
  });
  return { loadDataset };
}

/**
 * The loaded dataset's labels changed (one added): the summary, the label picker (every label
 * ticked) and the state follow.
 */
export function labelsChanged(/** @type {DatasetSummary} */ summary) {
  const names = summary.labels.map((l) => l.name);
  if (JSON.stringify(names) === JSON.stringify(state.datasetLabels)) return;
  update({ datasetLabels: names, chosenLabels: names });
  renderSummary(state.datasetName, summary);
  renderLabelPicker(summary);
}

/** One checkbox per label, all ticked; rare labels carry the worker's note. */
function renderLabelPicker(/** @type {DatasetSummary} */ s) {
  $("#label-choices").replaceChildren(...s.labels.map((l) => {
    const box = el("input", { type: "checkbox", "data-label": l.name });
    box.checked = true;
    return el("li", { "data-label": l.name, class: l.note ? "rare" : "" },
      el("label", {}, box, ` ${l.name} `, el("span", { class: "muted" }, `(${l.positives})`)),
      ...(l.note ? [el("span", { class: "label-note" }, l.note)] : []));
  }));
}

/** What a dataset of sound clips holds, in words: lengths, rates, channels, formats. */
function soundText(/** @type {import("../types/SoundProfile").SoundProfile} */ p) {
  const seconds = (x) => `${x.toFixed(x < 10 ? 2 : 1)} s`;
  const counts = (list, name) => list.map((c) => `${name(c)} (${c.count})`).join(", ");
  const rate = (hz) => `${hz % 1000 === 0 ? hz / 1000 : (hz / 1000).toFixed(2)} kHz`;
  const channels = (n) => (n === 1 ? "mono" : n === 2 ? "stereo" : `${n} channels`);
  return `${p.clips} clips, ${seconds(p.shortestSeconds)} to ${seconds(p.longestSeconds)} long ` +
    `(median ${seconds(p.medianSeconds)}; ${(p.totalSeconds / 60).toFixed(1)} min in all); ` +
    `${counts(p.sampleRates, (c) => rate(c.value))}; ${counts(p.channels, (c) => channels(c.value))}; ` +
    `${counts(p.formats, (c) => c.name)}`;
}

export function renderSummary(name, /** @type {DatasetSummary} */ s) {
  const sizes = s.minSide === s.maxSide
    ? `${s.sizes[0]?.width ?? s.minSide}×${s.sizes[0]?.height ?? s.maxSide} px`
    : `sides from ${s.minSide} to ${s.maxSide} px (resized for training)`;
  const source = s.labelsFrom === "folders"
    ? "Labels from folder names (no index.csv)."
    : s.labelsFrom === "page" ? "Labels made here (the images came without)."
    : `${s.sound ? "Clip" : "Image"} paths from column “${s.imageColumn}”.`;
  $("#summary-text").textContent = s.sound
    ? `${name}: ${soundText(s.sound)}. ${s.labels.length} labels. ${source}`
    : `${name}: ${s.images} images, ${s.labels.length} labels, ${sizes}. ${source}`;
  $("#summary").dataset.kind = s.kind; // read by the browser tests
  $("#summary").dataset.labelsFrom = s.labelsFrom;
  $("#summary-warnings").replaceChildren(...s.warnings.map((w) => el("li", {}, w)));
  const most = Math.max(1, ...s.labels.map((l) => l.positives));
  $("#label-counts tbody").replaceChildren(...s.labels.map((l) =>
    el("tr", { "data-label": l.name },
      el("td", {}, l.name), el("td", {}, String(l.positives)), el("td", {}, String(l.negatives)),
      el("td", { class: "bar-cell" }, bar(l.positives / most)))));
  const perImage = s.labelsPerImage.map((count, k) => (count ? `${count} with ${k}` : null)).filter(Boolean);
  const split = s.splitColumn
    ? ` The split column puts ${s.splitColumn.train} images in training, ${s.splitColumn.valid} in validation and ${s.splitColumn.test} in test (validated on, never trained on).`
    : "";
  $("#summary-details").textContent = s.sound
    ? `Labels per clip: ${perImage.join(", ")}. Each clip becomes a one-channel picture, its spectrogram ` +
      "(settings in 2. Train)." + split
    : `Labels per image: ${perImage.join(", ")}.` +
      (s.grayscale ? " Every image is grayscale: the model trains on one channel." : "") + split;
  const groups = $("#summary-groups");
  groups.hidden = !s.groupColumn;
  if (s.groupColumn) {
    groups.dataset.groups = String(s.groupColumn.groups); // read by the browser tests
    groups.textContent = `${s.groupColumn.groups} groups (column “${s.groupColumn.column}”) kept whole by the ` +
      `split: a group's images are all trained on or all validated on. The largest holds ${s.groupColumn.largest} images.`;
  }
  const duplicates = $("#summary-duplicates");
  duplicates.hidden = s.duplicates.length === 0;
  duplicates.dataset.sets = String(s.duplicates.length);
  $("#summary-duplicates summary").textContent =
    `${s.duplicates.length} ${s.duplicates.length === 1 ? "set" : "sets"} of byte-identical files ` +
    "(each set is kept on one side of the split)";
  $("#summary-duplicates ul").replaceChildren(...s.duplicates.map((set) => el("li", {}, set.join(" = "))));
  drawCooccurrence(s);
  $("#summary").hidden = false;
}

/** The label co-occurrence heat map, with the counts under the pointer. */
function drawCooccurrence(/** @type {DatasetSummary} */ s) {
  const canvas = $("#cooccurrence");
  const ctx = canvas.getContext("2d");
  const n = s.labels.length;
  const cell = canvas.width / Math.max(1, n);
  // Gaps between cells only while they stay visible.
  const gap = n > 40 ? 0 : 1;
  ctx.clearRect(0, 0, canvas.width, canvas.height);
  for (let a = 0; a < n; a++) {
    const own = Math.max(1, s.cooccurrence[a][a]);
    for (let b = 0; b < n; b++) {
      const share = s.cooccurrence[a][b] / own;
      ctx.fillStyle = `rgba(51, 102, 204, ${share.toFixed(3)})`;
      ctx.fillRect(b * cell, a * cell, cell - gap, cell - gap);
    }
  }
  canvas.onmousemove = (e) => {
    const rect = canvas.getBoundingClientRect();
    const b = Math.floor(((e.clientX - rect.left) / rect.width) * n);
    const a = Math.floor(((e.clientY - rect.top) / rect.height) * n);
    if (a < 0 || b < 0 || a >= n || b >= n) return;
    $("#cooccurrence-hover").textContent =
      `${s.labels[a].name} and ${s.labels[b].name}: ${s.cooccurrence[a][b]} images`;
  };
}
