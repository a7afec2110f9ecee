// The label edits of the loaded dataset, kept in the browser (store.js) after every change: its
// log as changes.csv and the files the edits added (webcam frames). A reload offers to continue
// (the dataset, opened as it was, then the log made again by the worker); a restarted worker is
// given them again. Every rule is the worker's (src/data/edits.rs: restore_changes).
import { Request } from "../protocol.js";
import { state } from "../state.js";
import { discardEdits, keepEdits, keptEdits } from "../store.js";
import { $, clearError, showError } from "../ui.js";

/** @typedef {{ path: string, bytes: Uint8Array }} AddedFile */

/** The files the loaded dataset's edits added, oldest first. */
/** @type {AddedFile[]} */
let files = [];
/** The loaded dataset's log as last kept (`changes.csv` bytes), or null before any edit. */
/** @type {Uint8Array | null} */
let lastCsv = null;
/** @type {import("../client.js").WorkerClient} */
let client;

/**
 * @param {import("../client.js").WorkerClient} worker
 * @param {{ loadDataset: (file: File, newLabels?: string[]) => Promise<boolean>,
 *   onRestored: (reply: import("../protocol.js").ChangesReply) => Promise<void> }} hooks
 */
export function initSession(worker, { loadDataset, onRestored }) {
  client = worker;
  offer(loadDataset, onRestored);
}

/** Another dataset is loaded: it has no edits yet (kept ones stay offered until replaced). */
export function newDataset() {
  files = [];
  lastCsv = null;
}

/** Notes a file an edit added, to keep it with the log. */
export function keepFile(/** @type {string} */ path, /** @type {Uint8Array} */ bytes) {
  files.push({ path, bytes });
}

/** After every change: the log and the added files kept, or forgotten once the log is empty. */
export async function keepSession(/** @type {number} */ changes) {
  const said = $("#changes-kept");
  if (!state.datasetFile) return;
  try {
    if (!changes) {
      lastCsv = null;
      await discardEdits();
      said.textContent = "";
      return;
    }
    lastCsv = await client.request(Request.CHANGES_CSV, {});
    // These edits replace any kept before: the offer to continue those goes.
    $("#restore-edits").hidden = true;
    await keepEdits({ datasetFile: state.datasetFile, newLabels: state.datasetNewLabels, csv: lastCsv, changes, files });
    said.textContent = "Kept in this browser: after a reload, continue from here.";
  } catch (e) {
    said.textContent = `These edits are not kept in the browser (${e.message}); download the dataset to keep them.`;
  }
}

/** A restarted worker holds the dataset without its edits: they are made again. */
export async function reapplyEdits() {
  if (!lastCsv) return;
  await client.request(Request.RESTORE_CHANGES, { csv: lastCsv, files });
}

/** On start: the kept edits, offered with Continue and Discard. */
async function offer(loadDataset, onRestored) {
  let kept = null;
  try {
    kept = await keptEdits();
  } catch {
    kept = null; // no private file system: nothing was kept either
  }
  const notice = $("#restore-edits");
  notice.hidden = !kept?.record.changes;
  if (notice.hidden) return;
  const { record } = kept;
  const when = new Date(record.savedAt).toLocaleString();
  $("#restore-edits-text").textContent = `${record.changes} edit${record.changes > 1 ? "s" : ""} of ` +
    `${record.datasetName} (${when}) are kept in this browser.` +
    (kept.dataset ? "" : ` Choose ${record.datasetName} above first: the zip was not kept.`);
  notice.dataset.changes = String(record.changes); // read by the browser tests
  $("#restore-edits-continue").addEventListener("click", async () => {
    clearError();
    const chosen = state.datasetFile;
    const file = kept.dataset
      ? new File([await kept.dataset.arrayBuffer()], record.datasetName, { type: "application/zip" })
      : chosen?.name === record.datasetName && chosen.size === record.datasetSize ? chosen : null;
    if (!file) {
      showError("Choose the dataset first", `${record.datasetName} was not kept in the browser. ` +
        "Choose it in 1. Dataset, then continue.");
      return;
    }
    if (!(await loadDataset(file, record.newLabels))) return;
    try {
      const reply = await client.request(Request.RESTORE_CHANGES, { csv: kept.csv, files: kept.files });
      files = [...kept.files];
      notice.hidden = true;
      await onRestored(reply);
    } catch (e) {
      showError("The kept edits could not be made again", e);
    }
  });
  $("#restore-edits-discard").addEventListener("click", async () => {
    await discardEdits().catch(() => {});
    notice.hidden = true;
  });
}
