import { test } from "node:test";
import { soundJourney } from "./sound_journey.mjs";

test("sound sample on the CPU: clips summarised, spectrograms that play, settings, train, predict a clip as the CLI does",
  { timeout: 20 * 60_000 }, () => soundJourney({ webgpu: false }));
