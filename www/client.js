// The page's side of the worker protocol (protocol.js): every request is a promise that
// settles with the worker's answer, and a crashed worker is replaced.
import { Reply, Request } from "./protocol.js";

/** @typedef {import("./protocol.js").BackendInfo} BackendInfo */
/** @typedef {import("./protocol.js").ProgressEvent} ProgressEvent */
/** @typedef {import("./protocol.js").Requests} Requests */

/**
 * @typedef {object} Pending
 * @property {(value: any) => void} resolve
 * @property {(error: Error) => void} reject
 * @property {((event: ProgressEvent) => void) | undefined} onProgress
 */

/**
 * Why a worker was replaced.
 * @typedef {object} Crash
 * @property {string} message  For people.
 * @property {boolean} deviceLost  Its GPU device was lost: the new worker runs on the CPU.
 */

export class WorkerClient {
  /** @type {Worker} */
  #worker;
  #nextId = 1;
  /** @type {Map<number, Pending>} */
  #pending = new Map();
  #initArgs;
  #onStart;

  /**
   * Starts the worker and its backend.
   * @param {import("./protocol.js").InitArgs} initArgs
   * @param {(ready: Promise<BackendInfo>, crash: Crash | null) => void} onStart  Called with
   *   the backend's promise each time a worker starts, and after a crash with what happened, so
   *   the page can show the backend and give the new worker the dataset and model again.
   */
  constructor(initArgs, onStart) {
    this.#initArgs = initArgs;
    this.#onStart = onStart;
    this.#start(null);
  }

  #start(/** @type {Crash | null} */ crash) {
    this.#worker = new Worker(new URL("./worker.js", import.meta.url), { type: "module" });
    this.#worker.onmessage = ({ data }) => this.#receive(data);
    // A crash inside the worker (which Rust code must never cause) rejects everything in flight
    // and starts a fresh worker, so the page stays usable.
    this.#worker.onerror = (event) => {
      event.preventDefault();
      this.#replace({ message: event.message || "the worker stopped unexpectedly", deviceLost: false });
    };
    this.#onStart(this.request(Request.INIT, this.#initArgs), crash);
  }

  #replace(/** @type {Crash} */ crash) {
    for (const request of this.#pending.values()) request.reject(new Error(crash.message));
    this.#pending.clear();
    this.#worker.terminate();
    // A lost GPU may come back after a reload; until then, the CPU.
    if (crash.deviceLost) this.#initArgs = { ...this.#initArgs, prefer: "cpu" };
    this.#start(crash);
  }

  #receive(data) {
    if (data.type === Reply.DEVICE_LOST) {
      const why = data.message ? `${data.reason}: ${data.message}` : data.reason;
      this.#replace({ message: `the GPU device was lost (${why})`, deviceLost: true });
      return;
    }
    const request = this.#pending.get(data.id);
    if (!request) return;
    if (data.type === Reply.PROGRESS) {
      request.onProgress?.(data.event);
      return;
    }
    this.#pending.delete(data.id);
    if (data.type === Reply.ERROR) request.reject(new Error(data.message));
    else request.resolve(data.value);
  }

  /**
   * Sends a request; resolves with its result or rejects with the worker's error message.
   * @template {keyof Requests} T
   * @param {T} type  One of `Request`.
   * @param {Requests[T][0]} [args]  The request's arguments (`Requests` in protocol.js).
   * @param {{ onProgress?: (event: ProgressEvent) => void }} [options]
   * @returns {Promise<Requests[T][1]>}
   */
  request(type, args = /** @type {Requests[T][0]} */ ({}), { onProgress } = {}) {
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { resolve, reject, onProgress });
      this.#worker.postMessage({ id, type, ...args });
    });
  }
}
