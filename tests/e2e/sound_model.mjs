// A small model of sound clips for the browser tests, trained by the CLI on the synthesised set
// (scripts/make-sounds.mjs), and 16-bit PCM WAV files written here.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync, readdirSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { ROOT } from "./harness.mjs";

const targetDir = process.env.CARGO_TARGET_DIR ?? join(homedir(), ".cache", "tagtrain-target");
export const TAGTRAIN = join(targetDir, "release", "tagtrain");

/** The window the test model hears, in seconds, at 16 kHz (the default rate). */
export const CLIP_SECONDS = 1;

/**
 * Synthesises 40 clips into `dir` and trains a 2-epoch model of 32-px spectrograms of 1 s
 * windows on them. Returns `{ modelPath, clips }` (`clips`: the clip files, sorted).
 */
export function trainSoundModel(dir) {
  assert.ok(existsSync(TAGTRAIN), `${TAGTRAIN} is built by \`cargo build --release --bin tagtrain\``);
  execFileSync("node", [join(ROOT, "scripts", "make-sounds.mjs"), dir, "--train", "40", "--test", "0", "--seed", "5"],
    { stdio: ["ignore", "ignore", "pipe"] });
  const modelPath = join(dir, "sounds.safetensors");
  execFileSync(TAGTRAIN, ["train", join(dir, "sounds_train.zip"), "-o", modelPath, "--epochs", "2",
    "--image-size", "32", "--batch-size", "8", "--clip-seconds", String(CLIP_SECONDS), "--quiet"],
  { stdio: ["ignore", "ignore", "pipe"] });
  const clips = readdirSync(join(dir, "train")).sort().map((name) => join(dir, "train", name));
  return { modelPath, clips };
}

/** A 16-bit PCM WAV of `channels` (arrays of samples in -1..1, all the same length). */
export function wavOf(channels, sampleRate) {
  const frames = channels[0].length;
  const n = channels.length;
  const data = Buffer.alloc(frames * n * 2);
  for (let i = 0; i < frames; i++) {
    for (let c = 0; c < n; c++) {
      const s = Math.max(-1, Math.min(1, channels[c][i]));
      data.writeInt16LE(Math.round(s * 32767), (i * n + c) * 2);
    }
  }
  const header = Buffer.alloc(44);
  header.write("RIFF", 0, "latin1");
  header.writeUInt32LE(36 + data.length, 4);
  header.write("WAVEfmt ", 8, "latin1");
  header.writeUInt32LE(16, 16);
  header.writeUInt16LE(1, 20); // PCM
  header.writeUInt16LE(n, 22);
  header.writeUInt32LE(sampleRate, 24);
  header.writeUInt32LE(sampleRate * n * 2, 28);
  header.writeUInt16LE(n * 2, 32);
  header.writeUInt16LE(16, 34);
  header.write("data", 36, "latin1");
  header.writeUInt32LE(data.length, 40);
  return Buffer.concat([header, data]);
}

/** The channels of a 16-bit PCM WAV written by `wavOf`, as the decoder reads them (s / 32768). */
export function channelsOfWav(wav) {
  const n = wav.readUInt16LE(22);
  const frames = wav.readUInt32LE(40) / (2 * n);
  return Array.from({ length: n }, (_, c) =>
    Array.from({ length: frames }, (_, i) => wav.readInt16LE(44 + (i * n + c) * 2) / 32768));
}

/** `seconds` of a tone sequence at `rate`: a low hum, a whistle, noise and a sweep, a quarter
 * each (deterministic), so that what a model hears changes as it plays. */
export function toneSequence(seconds, rate, amplitude = 0.5) {
  let seed = 12345;
  const noise = () => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return seed / 2 ** 30 - 1;
  };
  const quarter = seconds / 4;
  return Array.from({ length: Math.round(seconds * rate) }, (_, i) => {
    const t = i / rate;
    const part = Math.min(3, Math.floor(t / quarter));
    const u = t - part * quarter;
    const phase = [150 * t, 3000 * t, 0, (400 + 800 * u / quarter / 2) * u][part];
    return amplitude * (part === 2 ? noise() : Math.sin(2 * Math.PI * phase));
  });
}
