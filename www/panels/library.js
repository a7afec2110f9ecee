// 5. Your models: the library of every model trained or loaded here, kept in the browser's
// storage (store.js). Open (predict with it), continue training, download, rename, delete; how
// much is stored and whether the browser keeps it.
import { Request } from "../protocol.js";
import { state, update } from "../state.js";
import { $, clearError, el, showError } from "../ui.js";
import {
  addModel, deleteModel, listModels, modelFile, renameModel, requestPersistence, storageInfo, updateModel,
} from "../store.js";
import { showInitModel } from "./options.js";

/** @typedef {import("../store.js").LibraryEntry} LibraryEntry */
/** @typedef {import("../protocol.js").ModelMetadata} ModelMetadata */

const mb = (bytes) => `${(bytes / 2 ** 20).toFixed(1)} MB`;

/**
 * @param {import("../client.js").WorkerClient} client
 * @param {{ onOpen: (bytes: Uint8Array, metadata: ModelMetadata, origin: string) => void }} hooks
 *   `onOpen` shows a model the worker now holds (the model panel's `showModel`).
 */
export function initLibraryPanel(client, { onOpen }) {
  const panel = {
    /**
     * Keeps a model that just became the page's model (trained or loaded from a file); it is
     * then the library entry that threshold changes update.
     * @param {Uint8Array} bytes
     * @param {ModelMetadata} metadata
     * @param {{ name: string, origin: string }} about
     */
    async add(bytes, metadata, about) {
      try {
        const entry = await addModel(bytes, metadata, about);
        update({ libraryId: entry.id });
        // Asked once there is something worth keeping; the answer is shown with the storage.
        await requestPersistence().catch(() => false);
      } catch (e) {
        update({ libraryId: null });
        showError("The model could not be kept in the browser's library (it is still the current model: download it)", e);
      }
      await panel.refresh();
    },

    /** The current model's thresholds changed: its library entry follows. */
    async modelChanged(/** @type {Uint8Array} */ bytes) {
      if (!state.libraryId) return;
      await updateModel(state.libraryId, bytes).catch((e) => showError("The library's copy could not be updated", e));
      await panel.refresh();
    },

    /** Lists the library and the storage again. */
    async refresh() {
      let entries = [];
      try {
        entries = await listModels();
      } catch (e) {
        $("#storage-info").textContent = `The library is unavailable: ${e.message}`;
        return;
      }
      $("#library tbody").replaceChildren(...entries.map((entry) => row(entry)));
      $("#library").hidden = entries.length === 0;
      $("#library-empty").hidden = entries.length > 0;
      $("#library").dataset.count = String(entries.length); // read by the browser tests
      await showStorage(entries);
    },
  };

  /** One library entry's row. */
  function row(/** @type {LibraryEntry} */ entry) {
    const name = el("input", { type: "text", class: "library-name", "aria-label": "Model name" });
    name.value = entry.name;
    name.addEventListener("change", async () => {
      const next = name.value.trim();
      if (!next) {
        name.value = entry.name;
        return;
      }
      try {
        await renameModel(entry.id, next);
        entry.name = next;
        tr.dataset.name = next;
      } catch (e) {
        showError("Cannot rename the model", e);
      }
    });
    const button = (text, cls, onClick) => {
      const b = el("button", { type: "button", class: `small ${cls}` }, text);
      b.addEventListener("click", () => onClick(b));
      b.disabled = Boolean(entry.newer);
      return b;
    };
    const open = button("Open", "library-open", () => openEntry(entry));
    const resume = button("Continue training", "library-continue", () => continueEntry(entry));
    const download = button("Download", "library-download", () => downloadEntry(entry));
    const remove = button("Delete", "library-delete", (b) => deleteEntry(entry, b));
    const details = entry.newer
      ? "saved by a newer tagtrain: open it there"
      : `${entry.labels.length} labels · ${entry.imageSize} px · ${entry.epochs} epochs · ${mb(entry.bytes)}` +
        (entry.lineage.length ? ` · fine-tuned from ${entry.lineage.length} earlier run${entry.lineage.length > 1 ? "s" : ""}` : "") +
        ` · ${entry.origin}`;
    const tr = el("tr", {
      "data-id": entry.id, "data-name": entry.name, "data-bytes": String(entry.bytes ?? 0),
      "data-current": String(entry.id === state.libraryId),
    },
      el("td", {}, name, el("div", { class: "muted small-text" }, details)),
      el("td", {}, entry.model ?? ""),
      el("td", {}, entry.labels?.slice(0, 4).join(", ") + (entry.labels?.length > 4 ? ", …" : "")),
      el("td", {}, entry.map != null ? entry.map.toFixed(3) : "–"),
      el("td", {}, new Date(entry.createdAt).toLocaleString()),
      el("td", { class: "library-actions" }, open, resume, download, remove));
    return tr;
  }

  async function openEntry(/** @type {LibraryEntry} */ entry) {
    clearError();
    if (state.training || state.evaluating) {
      showError("Cannot open the model now", "A training run or an evaluation holds the current model; open it when it is done.");
      return;
    }
    try {
      const file = await modelFile(entry.id);
      const { model, metadata } = await client.request(Request.LOAD_MODEL, { file });
      update({ libraryId: entry.id });
      onOpen(model, metadata, `from your models: ${entry.name}`);
      await panel.refresh();
    } catch (e) {
      showError(`Cannot open ${entry.name}`, e);
    }
  }

  async function continueEntry(/** @type {LibraryEntry} */ entry) {
    try {
      const file = await modelFile(entry.id);
      // Read now, so that deleting the entry later does not break the run.
      showInitModel(new File([await file.arrayBuffer()], `${entry.name}.safetensors`));
      $("#train-section details.advanced").open = true;
      $("#train-section").scrollIntoView({ behavior: "smooth" });
    } catch (e) {
      showError(`Cannot continue from ${entry.name}`, e);
    }
  }

  async function downloadEntry(/** @type {LibraryEntry} */ entry) {
    try {
      const file = await modelFile(entry.id);
      const link = el("a", { href: URL.createObjectURL(file), download: `${entry.name.replace(/[\\/:*?"<>|]+/g, "_")}.safetensors` });
      link.click();
      setTimeout(() => URL.revokeObjectURL(link.href), 60_000);
    } catch (e) {
      showError(`Cannot download ${entry.name}`, e);
    }
  }

  /** Deletes on a second click, so that one slip loses nothing. */
  async function deleteEntry(/** @type {LibraryEntry} */ entry, /** @type {HTMLButtonElement} */ b) {
    if (b.dataset.confirm !== "true") {
      b.dataset.confirm = "true";
      b.textContent = "Really delete?";
      setTimeout(() => {
        b.dataset.confirm = "false";
        b.textContent = "Delete";
      }, 5000);
      return;
    }
    try {
      await deleteModel(entry.id);
      if (state.libraryId === entry.id) update({ libraryId: null });
    } catch (e) {
      showError(`Cannot delete ${entry.name}`, e);
    }
    await panel.refresh();
  }

  return panel;
}

/** Storage used and available, and whether the browser keeps it under pressure. */
async function showStorage(/** @type {LibraryEntry[]} */ entries) {
  const info = $("#storage-info");
  try {
    const { usage, quota, persisted } = await storageInfo();
    const models = entries.reduce((n, e) => n + (e.bytes ?? 0), 0);
    info.dataset.usage = String(usage); // read by the browser tests
    info.dataset.persisted = String(persisted);
    info.textContent = `This page stores ${mb(usage)} in your browser (models: ${mb(models)}); it may use up to ` +
      `${mb(quota)}. ` + (persisted
      ? "The browser keeps it until you delete it."
      : "The browser may clear it when the disk runs short: download the models you need.");
  } catch (e) {
    info.textContent = `Storage use is unknown (${e.message}).`;
  }
}
