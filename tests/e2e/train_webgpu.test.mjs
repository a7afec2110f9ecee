import { test } from "node:test";
import { trainPredictReload } from "./journey.mjs";

test("sample: train on WebGPU, predict, download, reload, load the model, same probabilities",
  { timeout: 20 * 60_000 }, () => trainPredictReload({ webgpu: true, expectBackend: "webgpu" }));
