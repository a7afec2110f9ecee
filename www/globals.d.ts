// Globals the page's scripts share that no library declares; tsc reads this file (tsconfig.json),
// the browser never loads it.

/** The service worker's list of files, from the generated www/precache.js (scripts/precache.mjs). */
declare var TAGTRAIN_PRECACHE: {
  version: string;
  files: { path: string; sha256: string; size: number }[];
};

/** The worker's GPU devices: a diagnostic hook the browser tests destroy a device through. */
declare var tagtrainGpuDevices: GPUDevice[];
