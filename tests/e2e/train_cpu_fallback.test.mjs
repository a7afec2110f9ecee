import { test } from "node:test";
import { trainPredictReload } from "./journey.mjs";

test("without WebGPU the page says so and trains on the CPU, with the same journey, then fine-tunes",
  { timeout: 20 * 60_000 }, () => trainPredictReload({ webgpu: false, expectBackend: "cpu", fineTune: true }));
