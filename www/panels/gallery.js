// 1. Dataset, its images (or sound clips as spectrograms, which play): a page of thumbnails at a time with their labels, filtered by label and
// by side of the last run's split. The worker decodes only the page asked for, so a dataset of
// 10,000 images stays responsive. Clicking an image opens its detail once the model is measured.
import { Request } from "../protocol.js";
import { onStateChange, state } from "../state.js";
import { $, fileName, el, showError, thumbnailCanvas } from "../ui.js";
import { decoratePage, gridMarks } from "./labelling.js";

/** @typedef {import("../protocol.js").GalleryPage} GalleryPage */
/** @typedef {import("../protocol.js").GalleryImage} GalleryImage */

const PER_PAGE = 48;
const SPLIT_NAMES = { train: "training", valid: "validation" };

/**
 * @param {import("../client.js").WorkerClient} client
 * @param {{ onOpenImage: (index: number) => void }} hooks  `onOpenImage` shows an image's detail
 *   (the model's probabilities against its truth).
 */
export function initGalleryPanel(client, { onOpenImage }) {
  let page = 0;
  let pages = 1;
  let asked = 0;
  /** The dataset and run the shown page belongs to. */
  let shownFile = null;
  let wasTraining = false;

  /** Asks for page `wanted` with the filters set; only the answer to the latest question is shown. */
  async function load(wanted) {
    const grid = $("#gallery-grid");
    const mine = ++asked;
    grid.dataset.state = "loading"; // read by the browser tests
    try {
      /** @type {GalleryPage} */
      const reply = await client.request(Request.GALLERY, {
        label: $("#gallery-label").value || null,
        split: (state.datasetSplit && $("#gallery-split").value) || null,
        page: wanted,
        perPage: PER_PAGE,
      });
      if (mine !== asked) return;
      page = reply.page;
      pages = Math.max(1, reply.pages);
      const marks = gridMarks();
      grid.replaceChildren(...reply.images.map((image) => item(image, onOpenImage, playClip)));
      decoratePage(marks);
      Object.assign(grid.dataset, { state: "done", page: String(page), pages: String(pages), total: String(reply.total) });
      $("#gallery-page").textContent = `page ${page + 1} of ${pages} · ${reply.total} images`;
      $("#gallery").hidden = false;
      enable();
    } catch (e) {
      if (mine !== asked) return;
      grid.dataset.state = "failed";
      showError("Cannot show the dataset's images", e);
    }
  }

  function enable() {
    const busy = state.training;
    $("#gallery-prev").disabled = busy || page <= 0;
    $("#gallery-next").disabled = busy || page >= pages - 1;
    $("#gallery-label").disabled = busy;
    $("#gallery-split").disabled = busy || !state.datasetSplit;
    $("#gallery-split").title = state.datasetSplit ? "" : "Train first: a run splits the images into training and validation.";
    $("#gallery-hint").textContent = !state.review ? ""
      : state.review.source === "evaluation" ? "Click an image to see the model's probabilities against its labels."
      : "Click a validation image to see the model's probabilities against its labels.";
  }

  /** Plays a clip's original bytes (the browser decodes them; the page shows its spectrogram). */
  async function playClip(/** @type {GalleryImage} */ image) {
    const player = /** @type {HTMLAudioElement} */ ($("#gallery-audio"));
    try {
      /** @type {import("../protocol.js").DatasetFile} */
      const file = await client.request(Request.DATASET_FILE, { index: image.index });
      if (player.src) URL.revokeObjectURL(player.src);
      player.src = URL.createObjectURL(new Blob([/** @type {Uint8Array<ArrayBuffer>} */ (file.bytes)], { type: file.mediaType }));
      player.dataset.name = file.name; // read by the browser tests
      player.dataset.mediaType = file.mediaType;
      player.hidden = false;
      $("#gallery-playing").textContent = `Playing ${file.name}`;
      await player.play();
    } catch (e) {
      showError(`Cannot play ${image.name}`, e);
    }
  }

  $("#gallery-prev").addEventListener("click", () => load(page - 1));
  $("#gallery-next").addEventListener("click", () => load(page + 1));
  $("#gallery-label").addEventListener("change", () => load(0));
  $("#gallery-split").addEventListener("change", () => load(0));
  // An edit elsewhere (a label added, a frame captured, a change undone): the labels and the page again.
  document.addEventListener("dataset-edited", () => {
    const chosen = /** @type {HTMLSelectElement} */ ($("#gallery-label")).value;
    labelFilter(state.datasetLabels);
    /** @type {HTMLSelectElement} */ ($("#gallery-label")).value = state.datasetLabels.includes(chosen) ? chosen : "";
    load(page);
  });

  onStateChange(({ datasetFile, datasetLabels, training }) => {
    if (datasetFile && datasetFile !== shownFile && !training) {
      // Another dataset: its labels, no split yet, the first page.
      shownFile = datasetFile;
      labelFilter(datasetLabels);
      $("#gallery-split").value = "";
      load(0);
    } else if (wasTraining && !training && datasetFile) {
      // A run has split the images: show the page again with each image's side.
      load(page);
    }
    wasTraining = training;
    enable();
  });
}

/** The label filter's choices: all, or one label. */
function labelFilter(/** @type {string[]} */ labels) {
  $("#gallery-label").replaceChildren(el("option", { value: "" }, "all labels"),
    ...labels.map((name) => el("option", { value: name }, name)));
}

/**
 * One thumbnail (a sound clip's is its spectrogram, with a play button) with its name, labels
 * and side of the split.
 */
function item(/** @type {GalleryImage} */ image, onOpenImage, playClip) {
  const labels = image.labels.length ? image.labels.join(", ") : "no label";
  const button = el("button", { type: "button", class: "thumb-item", title: image.name },
    thumbnailCanvas(image.thumbnail),
    el("span", { class: "thumb-name" }, fileName(image.name)),
    el("span", { class: "thumb-labels" }, labels),
    ...(image.split ? [el("span", { class: `thumb-split ${image.split}` }, SPLIT_NAMES[image.split])] : []));
  button.addEventListener("click", () => {
    const review = state.review;
    if (!review) return;
    // The model's view of an image exists for the images it was measured on: the run's
    // validation images, or every image after Evaluate.
    if (review.source === "evaluation" || image.split === "valid") onOpenImage(image.index);
    else $("#gallery-hint").textContent = `${image.name} was trained on: the model was measured on the ` +
      "validation images only. Click one of those, or Evaluate to measure every image.";
  });
  const play = state.datasetKind === "sounds"
    ? [el("button", { type: "button", class: "play small", title: `Play ${image.name}`, "aria-label": `Play ${image.name}` }, "▶")]
    : [];
  play[0]?.addEventListener("click", () => playClip(image));
  // Read by the browser tests.
  return el("li", {
    "data-index": String(image.index), "data-name": image.name, "data-labels": JSON.stringify(image.labels),
    "data-split": image.split ?? "",
  }, button, ...play);
}
