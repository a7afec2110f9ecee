// What the app keeps in the browser, in the Origin Private File System (OPFS): the run in
// progress (so that a reload, a crash or a closed laptop loses at most one epoch) and a library
// of models. Imported by the page and by the worker (which writes the autosaves). Nothing here
// leaves the browser; clearing the site's data removes all of it.
//
// Layout, under the origin's private root:
//   tagtrain/run/run.json          what the run is: name, dataset file, when it started
//   tagtrain/run/state.bin         the run file of the last finished epoch (src/train/resume.rs)
//   tagtrain/run/dataset.zip       the dataset, so that resuming needs nothing from the person
//   tagtrain/edits/edits.json      the label edits in progress: which dataset, its added files
//   tagtrain/edits/changes.csv     their log (src/data/changes.rs), made again after a reload
//   tagtrain/edits/dataset.zip     the dataset they were made on; file-<n>: the files added
//   tagtrain/models/<id>/entry.json     a library entry: name, dates, labels, metrics, lineage
//   tagtrain/models/<id>/model.safetensors  the model file
//
// Every JSON file carries `store`, the layout's version. A newer app reads every older version
// (`upgradeEntry`, `upgradeRun`); an entry written by a newer app is listed but not opened.

/** The layout's version; raise it when a stored JSON changes meaning, and upgrade the old. */
export const STORE_VERSION = 1;

const ROOT = "tagtrain";
const RUN = "run";
const MODELS = "models";
const EDITS = "edits";

/** The app's directory in the origin's private file system. */
async function root() {
  if (!navigator.storage?.getDirectory) {
    throw new Error("this browser has no private file system for web pages (OPFS): nothing can be kept");
  }
  const origin = await navigator.storage.getDirectory();
  return origin.getDirectoryHandle(ROOT, { create: true });
}

async function dir(...names) {
  let handle = await root();
  for (const name of names) handle = await handle.getDirectoryHandle(name, { create: true });
  return handle;
}

/** The file `name` of directory `handle`, or null. */
async function fileOf(handle, name) {
  try {
    return await (await handle.getFileHandle(name)).getFile();
  } catch (e) {
    if (e?.name === "NotFoundError" || e?.name === "TypeMismatchError") return null;
    throw e;
  }
}

/**
 * Writes `data` (bytes, a Blob or a string) to `name` in `handle`. The browser writes to a
 * swap file and swaps it in on close, so a crash mid-write leaves the previous file whole.
 */
async function write(handle, name, data) {
  let writable = null;
  try {
    const file = await handle.getFileHandle(name, { create: true });
    writable = await file.createWritable();
    if (data instanceof Blob) await data.stream().pipeTo(writable);
    else {
      await writable.write(data);
      await writable.close();
    }
  } catch (e) {
    await writable?.abort().catch(() => {});
    throw await storageError(e, `writing ${name}`);
  }
}

async function readJson(handle, name) {
  const file = await fileOf(handle, name);
  return file ? JSON.parse(await file.text()) : null;
}

/**
 * A storage failure in words. A full quota says what to delete: the largest models kept, by
 * name and size (`quota` is set on the error, so that callers can tell).
 * @param {any} e
 * @param {string} doing
 */
export async function storageError(e, doing) {
  if (e?.name === "QuotaExceededError") {
    let largest = "";
    try {
      const models = (await listModels()).sort((a, b) => (b.bytes ?? 0) - (a.bytes ?? 0)).slice(0, 3);
      if (models.length) {
        largest = " The largest kept models: " +
          models.map((m) => `“${m.name}” (${((m.bytes ?? 0) / 2 ** 20).toFixed(1)} MB)`).join(", ") + ".";
      }
    } catch {
      // Listing failed too: the advice stays general.
    }
    const error = new Error(`The browser's storage for this page is full (${doing}). Delete models you no ` +
      `longer need in “Your models”, or discard the saved run, then try again.${largest}`);
    return Object.assign(error, { quota: true });
  }
  return new Error(`Storage failed while ${doing}: ${e?.message ?? e}`);
}

// ---------------------------------------------------------------------------------------------
// Storage as a whole

/**
 * How much this origin stores, how much it may, and whether the browser keeps it under storage
 * pressure (`persisted`).
 * @returns {Promise<{ usage: number, quota: number, persisted: boolean }>}
 */
export async function storageInfo() {
  const { usage = 0, quota = 0 } = (await navigator.storage?.estimate?.()) ?? {};
  const persisted = (await navigator.storage?.persisted?.()) ?? false;
  return { usage, quota, persisted };
}

/** Asks the browser to keep this origin's data under storage pressure; resolves to the answer. */
export async function requestPersistence() {
  // `persist` is the page's alone: workers (which import this module too) have no such method.
  const storage = /** @type {StorageManager & { persist?: () => Promise<boolean> }} */ (navigator.storage);
  if (!storage?.persist) return false;
  return (await storage.persisted()) || storage.persist();
}

// ---------------------------------------------------------------------------------------------
// The run in progress

/**
 * @typedef {object} RunRecord
 * @property {number} store  Layout version.
 * @property {string} name  The run's name (the dataset's file name and the model).
 * @property {string} datasetName  The dataset zip's file name.
 * @property {number} datasetSize  Its size in bytes.
 * @property {boolean} zipKept  `tagtrain/run/dataset.zip` holds it.
 * @property {string} startedAt  ISO date.
 */

/**
 * Starts a new run record (replacing any earlier one) and keeps the dataset zip with it when
 * `keepZip`.
 * @param {{ name: string, datasetFile: File, keepZip: boolean }} run
 */
export async function beginRun({ name, datasetFile, keepZip }) {
  await discardRun();
  const handle = await dir(RUN);
  if (keepZip) await write(handle, "dataset.zip", datasetFile);
  /** @type {RunRecord} */
  const record = {
    store: STORE_VERSION, name, datasetName: datasetFile.name, datasetSize: datasetFile.size,
    zipKept: keepZip, startedAt: new Date().toISOString(),
  };
  await write(handle, "run.json", JSON.stringify(record));
  return record;
}

/** Writes the run file of an epoch that just ended (the worker calls this). */
export async function saveRunState(/** @type {Uint8Array} */ bytes) {
  await write(await dir(RUN), "state.bin", bytes);
}

/**
 * The saved run, if one can be resumed: its record, its run file and (when kept) its dataset.
 * @returns {Promise<{ record: RunRecord, state: File, dataset: File | null } | null>}
 */
export async function savedRun() {
  const handle = await dir(RUN);
  const record = upgradeRun(await readJson(handle, "run.json"));
  const state = await fileOf(handle, "state.bin");
  if (!record || !state) return null;
  const dataset = record.zipKept ? await fileOf(handle, "dataset.zip") : null;
  return { record, state, dataset };
}

/** Forgets the saved run (after it finished, or when the person discards it). */
export async function discardRun() {
  const parent = await root();
  await parent.removeEntry(RUN, { recursive: true }).catch((e) => {
    if (e?.name !== "NotFoundError") throw e;
  });
}

// ---------------------------------------------------------------------------------------------
// The label edits in progress

/**
 * @typedef {object} EditsRecord
 * @property {number} store  Layout version.
 * @property {string} datasetName  The dataset zip's file name.
 * @property {number} datasetSize  Its size in bytes.
 * @property {string[]} newLabels  The labels it was opened with (images that came without).
 * @property {string[]} files  The paths of the files the edits added, `file-<n>` in order.
 * @property {number} changes  How many edits the log holds.
 * @property {boolean} zipKept  `tagtrain/edits/dataset.zip` holds the dataset.
 * @property {string} savedAt  ISO date.
 */

/**
 * Keeps the label edits of `datasetFile` (its log as `changes.csv` bytes, the files they added),
 * replacing edits of another dataset. The zip is copied once; when the storage is too full for
 * it, only the edits are kept (continuing then asks for the zip).
 * @param {{ datasetFile: File, newLabels: string[], csv: Uint8Array, changes: number,
 *   files: { path: string, bytes: Uint8Array }[] }} edits
 */
export async function keepEdits({ datasetFile, newLabels, csv, changes, files }) {
  const handle = await dir(EDITS);
  const before = await readJson(handle, "edits.json");
  const same = before?.datasetName === datasetFile.name && before?.datasetSize === datasetFile.size;
  let zipKept = same && before.zipKept;
  if (!zipKept) {
    try {
      await write(handle, "dataset.zip", datasetFile);
      zipKept = true;
    } catch (e) {
      if (!e?.quota) throw e;
    }
  }
  const written = same ? (before.files ?? []).length : 0;
  for (let n = written; n < files.length; n++) await write(handle, `file-${n}`, files[n].bytes);
  await write(handle, "changes.csv", csv);
  /** @type {EditsRecord} */
  const record = {
    store: STORE_VERSION, datasetName: datasetFile.name, datasetSize: datasetFile.size, newLabels,
    files: files.map((f) => f.path), changes, zipKept, savedAt: new Date().toISOString(),
  };
  await write(handle, "edits.json", JSON.stringify(record));
}

/**
 * The kept label edits, or null: the record, the log, the dataset (when kept) and the added files.
 * @returns {Promise<{ record: EditsRecord, csv: Uint8Array, dataset: File | null,
 *   files: { path: string, bytes: Uint8Array }[] } | null>}
 */
export async function keptEdits() {
  const handle = await dir(EDITS);
  const record = upgradeRun(await readJson(handle, "edits.json"));
  const csv = await fileOf(handle, "changes.csv");
  if (!record || !csv) return null;
  const dataset = record.zipKept ? await fileOf(handle, "dataset.zip") : null;
  const files = [];
  for (const [n, path] of (record.files ?? []).entries()) {
    const file = await fileOf(handle, `file-${n}`);
    if (!file) return null;
    files.push({ path, bytes: new Uint8Array(await file.arrayBuffer()) });
  }
  return { record, csv: new Uint8Array(await csv.arrayBuffer()), dataset, files };
}

/** Forgets the kept label edits. */
export async function discardEdits() {
  const parent = await root();
  await parent.removeEntry(EDITS, { recursive: true }).catch((e) => {
    if (e?.name !== "NotFoundError") throw e;
  });
}

/** A run record of any older layout, as this version reads it; null for none or a newer one. */
function upgradeRun(record) {
  if (!record || typeof record !== "object") return null;
  if ((record.store ?? 0) > STORE_VERSION) return null;
  return { ...record, store: STORE_VERSION };
}

// ---------------------------------------------------------------------------------------------
// The model library

/**
 * @typedef {object} LibraryEntry
 * @property {number} store  Layout version.
 * @property {string} id
 * @property {string} name  Editable.
 * @property {string} createdAt  ISO date.
 * @property {string} updatedAt  ISO date (thresholds changed, renamed).
 * @property {string} origin  "trained here", "loaded from x.safetensors", …
 * @property {string} model  Architecture, e.g. ResNetV2-Small-11.
 * @property {string[]} labels
 * @property {number} imageSize
 * @property {number | null} map  Validation mAP of the kept weights, when trained.
 * @property {number} epochs  Epochs trained (all runs of its lineage).
 * @property {string[]} lineage  The earlier runs, oldest first, in words.
 * @property {number} bytes  Size of the model file.
 * @property {boolean} [newer]  Written by a newer tagtrain: listed, not opened.
 */

/** A short description of the runs that made a model, oldest first. */
function lineageOf(metadata) {
  return (metadata.lineage ?? []).map((t) =>
    `${t.epochsCompleted} epochs on ${t.trainImages} images (${t.labels?.length ?? "?"} labels` +
    `${t.data?.labelEdits ? `, ${t.data.labelEdits} label edits` : ""})`);
}

/**
 * Adds a model file to the library; resolves to its entry.
 * @param {Uint8Array} bytes
 * @param {import("./protocol.js").ModelMetadata} metadata
 * @param {{ name: string, origin: string }} about
 */
export async function addModel(bytes, metadata, { name, origin }) {
  const id = `${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
  const now = new Date().toISOString();
  const t = metadata.training;
  /** @type {LibraryEntry} */
  const entry = {
    store: STORE_VERSION, id, name, createdAt: now, updatedAt: now, origin,
    model: metadata.model, labels: metadata.labels, imageSize: metadata.imageSize,
    map: t?.finalMap ?? null,
    epochs: (metadata.lineage ?? []).reduce((n, r) => n + r.epochsCompleted, t?.epochsCompleted ?? 0),
    lineage: lineageOf(metadata), bytes: bytes.byteLength,
  };
  const handle = await dir(MODELS, id);
  try {
    await write(handle, "model.safetensors", bytes);
    await write(handle, "entry.json", JSON.stringify(entry));
  } catch (e) {
    await (await dir(MODELS)).removeEntry(id, { recursive: true }).catch(() => {});
    throw e;
  }
  return entry;
}

/** Replaces a library model's file (its thresholds changed); keeps its name and dates. */
export async function updateModel(/** @type {string} */ id, /** @type {Uint8Array} */ bytes) {
  const handle = await dir(MODELS, id);
  const entry = await entryOf(handle);
  if (!entry || entry.newer) return;
  await write(handle, "model.safetensors", bytes);
  await write(handle, "entry.json", JSON.stringify({ ...entry, bytes: bytes.byteLength, updatedAt: new Date().toISOString() }));
}

/** Renames a library model. */
export async function renameModel(/** @type {string} */ id, /** @type {string} */ name) {
  const handle = await dir(MODELS, id);
  const entry = await entryOf(handle);
  if (!entry || entry.newer) throw new Error("this model was saved by a newer tagtrain and cannot be changed here");
  await write(handle, "entry.json", JSON.stringify({ ...entry, name, updatedAt: new Date().toISOString() }));
}

/** Deletes a library model. */
export async function deleteModel(/** @type {string} */ id) {
  await (await dir(MODELS)).removeEntry(id, { recursive: true });
}

/** A library model's file. */
export async function modelFile(/** @type {string} */ id) {
  const file = await fileOf(await dir(MODELS, id), "model.safetensors");
  if (!file) throw new Error("this model's file is missing from the browser's storage");
  return file;
}

/** The library, newest first. @returns {Promise<LibraryEntry[]>} */
export async function listModels() {
  const entries = [];
  for await (const [id, handle] of (await dir(MODELS)).entries()) {
    if (handle.kind !== "directory") continue;
    const entry = await entryOf(handle).catch(() => null);
    if (entry) entries.push({ ...entry, id });
  }
  return entries.sort((a, b) => b.createdAt.localeCompare(a.createdAt));
}

async function entryOf(handle) {
  return upgradeEntry(await readJson(handle, "entry.json"));
}

/**
 * A library entry of any older layout, as this version reads it. Version 1 is the first; when
 * version 2 changes an entry, the step from 1 goes here, and `tests/fixtures/library-v1` keeps
 * proving that a version-1 library still opens.
 */
function upgradeEntry(entry) {
  if (!entry || typeof entry !== "object") return null;
  const version = entry.store ?? 0;
  if (version > STORE_VERSION) return { ...entry, newer: true };
  return { ...entry, lineage: entry.lineage ?? [], map: entry.map ?? null, store: STORE_VERSION };
}
