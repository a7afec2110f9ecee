// 1. Dataset, "Edit labels": the gallery's page becomes a labelling grid. Each image shows the
// dataset's labels as switches; the keys move between images (arrows), switch label N (1–9) on
// the selected images or the one in focus, select (Space, A for the page, Esc to clear); a label
// can be added, set on or cleared from a selection, and webcam frames are added with the labels
// ticked for them. Every rule and every edit is the worker's (src/data/edits.rs); each edit
// lands in the change log (cleaning.js), which is kept in the browser (session.js).
import { Request } from "../protocol.js";
import { onStateChange, state } from "../state.js";
import { $, clearError, el, showError } from "../ui.js";
import { showChanges } from "./cleaning.js";
import { labelsChanged } from "./dataset.js";
import { keepFile } from "./session.js";

/** @typedef {import("../protocol.js").ChangesReply} ChangesReply */

const BY_HAND = "labelled by hand";

let editing = false;
/** @type {import("../client.js").WorkerClient} */
let client;

/** @param {import("../client.js").WorkerClient} worker */
export function initLabelling(worker) {
  client = worker;
  $("#gallery-edit").addEventListener("change", () => {
    editing = /** @type {HTMLInputElement} */ ($("#gallery-edit")).checked;
    $("#labelling").hidden = !editing;
    $("#gallery-grid").classList.toggle("editing", editing);
    decoratePage();
    items()[0]?.focus();
  });
  $("#add-label").addEventListener("click", addLabel);
  $("#new-label").addEventListener("keydown", (/** @type {KeyboardEvent} */ e) => {
    if (e.key === "Enter") addLabel();
  });
  $("#bulk-add").addEventListener("click", () => setOnSelection(1));
  $("#bulk-remove").addEventListener("click", () => setOnSelection(0));
  $("#remove-label").addEventListener("click", () => removeLabel(/** @type {HTMLSelectElement} */ ($("#bulk-label")).value));
  $("#rename-label").addEventListener("click", renameLabel);
  $("#rename-to").addEventListener("keydown", (/** @type {KeyboardEvent} */ e) => {
    if (e.key === "Enter") renameLabel();
  });
  $("#exclude-selected").addEventListener("click", () => exclude(selected()));
  $("#select-page").addEventListener("click", () => selectAll(true));
  $("#clear-selection").addEventListener("click", () => selectAll(false));
  const grid = $("#gallery-grid");
  grid.addEventListener("keydown", onKey);
  // While editing, a click on a thumbnail selects it instead of opening its detail.
  grid.addEventListener("click", (/** @type {MouseEvent} */ e) => {
    const target = /** @type {HTMLElement} */ (e.target);
    if (!editing || !target.closest(".thumb-item")) return;
    e.stopPropagation();
    const li = target.closest("li");
    select(li, li.dataset.selected !== "true");
    li.focus();
  }, { capture: true });
  let shownLabels = "";
  onStateChange(({ datasetLabels, training }) => {
    const labels = JSON.stringify(datasetLabels);
    if (labels !== shownLabels) {
      shownLabels = labels;
      $("#bulk-label").replaceChildren(...datasetLabels.map((name) => el("option", { value: name }, name)));
      $("#webcam-labels").replaceChildren(...datasetLabels.map((name) =>
        el("label", {}, el("input", { type: "checkbox", "data-label": name }), ` ${name}`)));
      decoratePage();
    }
    for (const id of ["#gallery-edit", "#add-label", "#bulk-add", "#bulk-remove", "#remove-label", "#rename-label", "#exclude-selected",
      "#webcam-capture"]) {
      /** @type {HTMLButtonElement} */ ($(id)).disabled = training || (id === "#webcam-capture" && !stream);
    }
  });
  initWebcam();
}

/**
 * What a redraw of the grid must keep: the selected images and the one in focus (by dataset
 * index). The gallery reads it before it draws the page again, so that a redraw that lands while
 * a person selects (after a label is added, say) keeps their selection and their place.
 */
export function gridMarks() {
  const focused = /** @type {HTMLElement | null} */ (document.activeElement?.closest("#gallery-grid > li") ?? null);
  return { selected: new Set(selected().map((li) => li.dataset.index)), focused: focused?.dataset.index };
}

/**
 * Called by the gallery after it draws a page: the switches under each image while editing, and
 * the selection and focus `marks` held before the redraw.
 * @param {{ selected: Set<string>, focused?: string }} [marks]
 */
export function decoratePage(marks) {
  for (const li of items()) {
    li.querySelector(".chips")?.remove();
    if (!editing) {
      li.removeAttribute("tabindex");
      delete li.dataset.selected;
      continue;
    }
    li.tabIndex = 0;
    li.append(chips(li));
    if (marks?.selected.has(li.dataset.index)) li.dataset.selected = "true";
    if (marks?.focused === li.dataset.index) li.focus();
  }
  countSelection();
}

/** The page's image items, in order. */
const items = () => /** @type {HTMLElement[]} */ ([...$("#gallery-grid").querySelectorAll(":scope > li")]);

/** One switch a label, pressed when the image has it; key N switches label N. */
function chips(/** @type {HTMLElement} */ li) {
  const present = new Set(JSON.parse(li.dataset.labels ?? "[]"));
  return el("div", { class: "chips" }, ...state.datasetLabels.map((label, k) => {
    const chip = el("button", {
      type: "button", class: "chip small", "data-label": label, "aria-pressed": String(present.has(label)),
      title: k < 9 ? `${label} (key ${k + 1})` : label,
    }, k < 9 ? `${k + 1} ${label}` : label);
    chip.addEventListener("click", () => switchLabel([li], label));
    return chip;
  }));
}

/** Switches `label` on `targets`: on for all unless all have it, then off for all. */
function switchLabel(/** @type {HTMLElement[]} */ targets, /** @type {string} */ label) {
  const all = targets.every((li) => JSON.parse(li.dataset.labels).includes(label));
  return setLabel(targets, label, all ? 0 : 1);
}

/** Sets `label` to `value` on `targets`, in one request; the items follow the reply. */
async function setLabel(/** @type {HTMLElement[]} */ targets, /** @type {string} */ label, /** @type {number} */ value) {
  if (!targets.length) return;
  clearError();
  const edits = targets.map((li) => ({ index: Number(li.dataset.index), label, value }));
  try {
    const reply = await client.request(Request.EDIT_LABELS, { edits, why: BY_HAND });
    // The items shown now: the grid may have been drawn again while the edit was on its way.
    for (const li of targets.map(shownItem)) {
      const labels = new Set(JSON.parse(li.dataset.labels));
      if (value) labels.add(label);
      else labels.delete(label);
      showLabels(li, state.datasetLabels.filter((name) => labels.has(name)));
    }
    await showChanges(reply);
  } catch (e) {
    showError("The labels could not be changed", e);
  }
}

/** The grid's item for the same image as `li` (`li` itself unless the grid was drawn again). */
const shownItem = (/** @type {HTMLElement} */ li) =>
  /** @type {HTMLElement} */ ($("#gallery-grid").querySelector(`:scope > li[data-index="${li.dataset.index}"]`) ?? li);

/** Shows `labels` on an item: its data, its text, its switches. */
function showLabels(/** @type {HTMLElement} */ li, /** @type {string[]} */ labels) {
  li.dataset.labels = JSON.stringify(labels);
  li.querySelector(".thumb-labels").textContent = labels.length ? labels.join(", ") : "no label";
  for (const chip of /** @type {NodeListOf<HTMLElement>} */ (li.querySelectorAll(".chip"))) {
    chip.setAttribute("aria-pressed", String(labels.includes(chip.dataset.label)));
  }
}

function select(/** @type {HTMLElement} */ li, /** @type {boolean} */ on) {
  if (on) li.dataset.selected = "true";
  else delete li.dataset.selected;
  countSelection();
}

function selectAll(/** @type {boolean} */ on) {
  for (const li of items()) select(li, on);
}

const selected = () => items().filter((li) => li.dataset.selected === "true");

function countSelection() {
  $("#selected-count").textContent = String(selected().length);
}

/** The bulk buttons: the chosen label on (1) or off (0) on every selected image. */
function setOnSelection(/** @type {number} */ value) {
  const label = /** @type {HTMLSelectElement} */ ($("#bulk-label")).value;
  if (!selected().length) {
    showError("Nothing is selected", "Select images first: click them, or press Space on each (A selects the page).");
    return;
  }
  return setLabel(selected(), label, value);
}

/** The grid's keys, while editing. */
function onKey(/** @type {KeyboardEvent} */ e) {
  if (!editing || e.ctrlKey || e.metaKey || e.altKey) return;
  const li = /** @type {HTMLElement} */ (e.target).closest("li");
  const list = items();
  if (!li || !list.length) return;
  const at = list.indexOf(li);
  const columns = Math.max(1, list.filter((item) => item.offsetTop === list[0].offsetTop).length);
  const moves = { ArrowLeft: -1, ArrowRight: 1, ArrowUp: -columns, ArrowDown: columns };
  if (e.key in moves) {
    list[Math.min(list.length - 1, Math.max(0, at + moves[e.key]))].focus();
  } else if (/^[1-9]$/.test(e.key)) {
    const label = state.datasetLabels[Number(e.key) - 1];
    if (!label) return;
    const chosen = selected();
    switchLabel(chosen.length ? chosen : [li], label);
  } else if (e.key === " ") {
    select(li, li.dataset.selected !== "true");
  } else if (e.key === "a" || e.key === "A") {
    selectAll(true);
  } else if (e.key === "Escape") {
    selectAll(false);
  } else if (e.key === "x" || e.key === "X") {
    const chosen = selected();
    const next = list[at + 1] ?? list[at - 1];
    exclude(chosen.length ? chosen : [li]).then(() => next?.focus());
  } else {
    return;
  }
  e.preventDefault();
}

/** Leaves `targets` out of the dataset; the page is shown again without them. */
async function exclude(/** @type {HTMLElement[]} */ targets) {
  if (!targets.length) return;
  clearError();
  try {
    const reply = await client.request(Request.EXCLUDE_IMAGES, { indices: targets.map((li) => Number(li.dataset.index)) });
    for (const li of targets) li.remove();
    await showChanges(reply);
    document.dispatchEvent(new Event("dataset-edited")); // the gallery shows the page again
  } catch (e) {
    showError("The images could not be left out", e);
  }
}

/** Removes `name` and its values (Undo in the change log brings them back). */
async function removeLabel(/** @type {string} */ name) {
  clearError();
  try {
    const reply = await client.request(Request.REMOVE_LABEL, { name });
    labelsChanged(reply.summary);
    await showChanges(reply);
    document.dispatchEvent(new Event("dataset-edited"));
  } catch (e) {
    showError(`The label ${name} could not be removed`, e);
  }
}

/** Renames the label chosen in "Label" to the name typed in "Rename it to"; its values stay. */
async function renameLabel() {
  const from = /** @type {HTMLSelectElement} */ ($("#bulk-label")).value;
  const input = /** @type {HTMLInputElement} */ ($("#rename-to"));
  const to = input.value.trim();
  clearError();
  try {
    const reply = await client.request(Request.RENAME_LABEL, { from, to });
    input.value = "";
    labelsChanged(reply.summary);
    await showChanges(reply);
    /** @type {HTMLSelectElement} */ ($("#bulk-label")).value = to;
    document.dispatchEvent(new Event("dataset-edited")); // the chips and the label filter
  } catch (e) {
    showError(`The label ${from} could not be renamed`, e);
  }
}

/** Adds the label typed in "New label"; every image starts without it. */
async function addLabel() {
  const input = /** @type {HTMLInputElement} */ ($("#new-label"));
  clearError();
  try {
    const reply = await client.request(Request.ADD_LABEL, { name: input.value.trim() });
    input.value = "";
    labelsChanged(reply.summary);
    await showChanges(reply);
    document.dispatchEvent(new Event("dataset-edited")); // the gallery's label filter too
  } catch (e) {
    showError("The label could not be added", e);
  }
}

// ---------------------------------------------------------------------------------------------
// The webcam

/** @type {MediaStream | null} */
let stream = null;

function initWebcam() {
  const video = /** @type {HTMLVideoElement} */ ($("#webcam-video"));
  const status = $("#webcam-status");
  const running = (/** @type {boolean} */ on) => {
    video.hidden = !on;
    /** @type {HTMLButtonElement} */ ($("#webcam-capture")).disabled = !on || state.training;
    /** @type {HTMLButtonElement} */ ($("#webcam-stop")).disabled = !on;
    /** @type {HTMLButtonElement} */ ($("#webcam-start")).disabled = on;
  };
  $("#webcam-start").addEventListener("click", async () => {
    if (!navigator.mediaDevices?.getUserMedia) {
      status.textContent = "This browser gives pages no camera (it needs https or localhost).";
      return;
    }
    try {
      stream = await navigator.mediaDevices.getUserMedia({ video: { width: 640, height: 480 }, audio: false });
      video.srcObject = stream;
      await video.play();
      running(true);
      status.textContent = "Tick the labels of what the camera sees, then Capture.";
    } catch (e) {
      stream = null;
      status.textContent = e?.name === "NotFoundError" || e?.name === "OverconstrainedError"
        ? "No camera was found. Connect one, or add images in a zip instead."
        : e?.name === "NotAllowedError"
          ? "The camera was not allowed: allow it for this page in the browser's settings, then try again."
          : `The camera could not start: ${e?.message ?? e}`;
    }
  });
  $("#webcam-stop").addEventListener("click", () => {
    for (const track of stream?.getTracks() ?? []) track.stop();
    stream = null;
    video.srcObject = null;
    running(false);
    status.textContent = "";
  });
  $("#webcam-capture").addEventListener("click", async () => {
    if (!stream || !video.videoWidth) return;
    const canvas = el("canvas", { width: String(video.videoWidth), height: String(video.videoHeight) });
    const context = /** @type {HTMLCanvasElement} */ (canvas).getContext("2d");
    context.drawImage(video, 0, 0);
    const frame = context.getImageData(0, 0, canvas.width, canvas.height);
    const labels = [...$("#webcam-labels").querySelectorAll("input:checked")]
      .map((box) => /** @type {HTMLElement} */ (box).dataset.label);
    clearError();
    try {
      const reply = await client.request(Request.ADD_FRAME, {
        rgba: new Uint8Array(frame.data.buffer), width: frame.width, height: frame.height, labels,
      });
      keepFile(reply.path, reply.bytes);
      await showChanges(reply);
      document.dispatchEvent(new Event("dataset-edited")); // the gallery shows the page again
      status.textContent = `Added ${reply.path}${labels.length ? ` with ${labels.join(", ")}` : " without a label"}.`;
      status.dataset.captured = String(Number(status.dataset.captured ?? 0) + 1); // read by the browser tests
    } catch (e) {
      showError("The frame could not be added", e);
    }
  });
}
