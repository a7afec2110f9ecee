// Synthesises tagtrain's sound dataset (issue #33): short clips in which six sounds co-occur,
// as zips in the product's format (`index.csv` with an `audio` column, then one 0/1 column per
// label). Made by the project itself with Debian's sox and espeak-ng; nothing recorded.
//
//   hum      a low sine, 100–180 Hz, the whole clip
//   whistle  a high sine, 2.5–3.5 kHz, half the clip or more
//   noise    white, pink or brown noise, the whole clip
//   sweep    a rising sine sweep, 400 Hz to 1.2–1.8 kHz, 0.4–0.7 s
//   word     a spoken word (espeak-ng: one of eight words, five voices, several speeds)
//   beeps    three or four 1 kHz pulses of 80 ms
//
// Every clip holds one to four of them, 0.8–2 s long, and is written in one of seven encodings
// (WAV 8/16/24-bit integer and 32-bit float, FLAC, Ogg Vorbis, MP3) at one of five sample rates
// (8, 16, 22.05, 44.1, 48 kHz), mono or stereo: the mix a real collection has.
//
//   node scripts/make-sounds.mjs OUT_DIR [--train N] [--test N] [--seed S]
//   node scripts/make-sounds.mjs --fixtures tests/fixtures/sounds   (the decoder's test files)
//   node scripts/make-sounds.mjs --sample www/sample/sounds.zip     (the page's sound sample:
//        48 clips in Ogg Vorbis, MP3 and FLAC at 8–22 kHz, 285 KB)
//
// writes OUT_DIR/sounds_train.zip and OUT_DIR/sounds_test.zip, and the clips beside them in
// OUT_DIR/train/ and OUT_DIR/test/. The same arguments give the same clips (a seeded generator,
// sox's repeatable mode, no dither). Needs sox, libsox-fmt-mp3, espeak-ng and zip (Debian);
// scripts/test.sh installs them.
import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";

export const LABELS = ["hum", "whistle", "noise", "sweep", "word", "beeps"];
const WORDS = ["seven", "yellow", "river", "music", "window", "garden", "paper", "orange"];
const VOICES = ["en", "en-us", "en+f3", "en+m3", "en-gb"];
const ENCODINGS = {
  wav16: { ext: "wav", args: ["-b", "16"] },
  wav8: { ext: "wav", args: ["-b", "8", "-e", "unsigned-integer"] },
  wav24: { ext: "wav", args: ["-b", "24"] },
  wavf32: { ext: "wav", args: ["-b", "32", "-e", "floating-point"] },
  flac: { ext: "flac", args: ["-b", "16"] },
  ogg: { ext: "ogg", args: [] },
  mp3: { ext: "mp3", args: [] },
};
const RATES = [8000, 16000, 22050, 44100, 48000];
/** The page's bundled sample (`--sample`) is small: compressed encodings at low rates. */
const SMALL_ENCODINGS = {
  ogg: { ext: "ogg", args: ["-C", "-1"] },
  mp3: { ext: "mp3", args: ["-C", "24"] },
  flac: { ext: "flac", args: ["-b", "16"] },
};
const SMALL_RATES = [8000, 16000, 22050];
/** The rate the parts are made and mixed at. */
const R = 16000;

/** A small seeded generator (mulberry32): the same seed, the same clips. */
function generator(seed) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return {
    /** An integer in [0, n). */
    int: (n) => Math.floor(next() * n),
    pick: (list) => list[Math.floor(next() * list.length)],
    chance: (p) => next() < p,
  };
}

const secs = (ms) => (ms / 1000).toFixed(3);
const run = (tool, args) => execFileSync(tool, args, { stdio: ["ignore", "ignore", "pipe"] });
const sox = (args) => run("sox", ["-R", "-D", ...args]);
/** sox arguments that make a silent-padded `ms`-long 16 kHz mono file `file` from `synth …`. */
const synth = (file, ms, ...effects) => sox(["-n", "-r", String(R), "-c", "1", file, "synth", ...effects]);

/** One sound of `label`, `ms` long, 16 kHz mono, written to `file`. */
function part(rng, work, label, ms, file) {
  const placed = (len) => {
    const at = rng.int(ms - len + 1);
    return ["pad", secs(at), secs(ms - len - at)];
  };
  switch (label) {
    case "hum":
      return synth(file, ms, secs(ms), "sine", String(100 + rng.int(81)), "vol", "0.5");
    case "whistle": {
      const len = Math.floor(ms / 2) + rng.int(Math.ceil(ms / 2));
      return synth(file, ms, secs(len), "sine", String(2500 + rng.int(1001)), "vol", "0.4", ...placed(len));
    }
    case "noise":
      return synth(file, ms, secs(ms), rng.pick(["whitenoise", "pinknoise", "brownnoise"]), "vol", "0.3");
    case "sweep": {
      const len = Math.min(ms, 400 + rng.int(301));
      return synth(file, ms, secs(len), "sine", `400-${1200 + rng.int(601)}`, "vol", "0.5", ...placed(len));
    }
    case "word": {
      const word = join(work, "word.wav");
      run("espeak-ng", ["-w", word, "-v", rng.pick(VOICES), "-s", String(130 + rng.int(60)), rng.pick(WORDS)]);
      return sox([word, "-r", String(R), "-c", "1", file, "pad", secs(rng.int(ms / 4 + 1)), "2", "trim", "0", secs(ms)]);
    }
    case "beeps": {
      const n = 3 + rng.int(2);
      const len = Math.min(ms, 160 * n);
      const at = rng.int(ms - len + 1);
      return synth(file, ms, "0.08", "sine", "1000", "vol", "0.5", "pad", "0", "0.08", "repeat", String(n - 1),
        "pad", secs(at), "3", "trim", "0", secs(ms));
    }
  }
  throw new Error(`no such label ${label}`);
}

/** One clip `stem` in `dir`; returns its CSV row. `small`: the sample's encodings and rates. */
function clip(rng, work, stem, dir, small) {
  const ms = 800 + rng.int(1201);
  let present;
  let parts;
  do {
    present = LABELS.map(() => false);
    parts = [];
    for (const [k, label] of LABELS.entries()) {
      if (parts.length < 4 && rng.chance(0.35)) {
        const file = join(work, `part${k}.wav`);
        part(rng, work, label, ms, file);
        parts.push(file);
        present[k] = true;
      }
    }
  } while (parts.length === 0);
  const encodings = small ? SMALL_ENCODINGS : ENCODINGS;
  const encoding = rng.pick(Object.keys(encodings));
  const { ext, args } = encodings[encoding];
  let rate = rng.pick(small ? SMALL_RATES : RATES);
  // lame has no 8 kHz MPEG-1/2 layer III for every bit rate: MP3 clips are at least 16 kHz.
  if (ext === "mp3" && rate < 16000) rate = 16000;
  // Lossless costs most: the sample's FLAC clips are at 8 kHz.
  if (small && ext === "flac") rate = 8000;
  let channels = 1 + rng.int(2);
  // The sample's stereo clips are its Ogg ones (stereo Vorbis costs little more).
  if (small && ext !== "ogg") channels = 1;
  const mixed = join(work, "mix.wav");
  sox(parts.length === 1 ? [parts[0], mixed] : ["-m", ...parts, mixed]);
  const name = `${stem}.${ext}`;
  sox([mixed, "-r", String(rate), "-c", String(channels), ...args, join(dir, name)]);
  return [name, ...present.map((p) => (p ? 1 : 0))].join(",");
}

/**
 * OUT/name/ with `count` clips and index.csv, zipped to OUT/sounds_<name>.zip (or to `zipPath`).
 * `small`: the sample's encodings and rates.
 */
function split(rng, work, out, name, count, { small = false, zipPath = join(out, `sounds_${name}.zip`) } = {}) {
  const dir = join(out, name);
  const zip = zipPath;
  rmSync(dir, { recursive: true, force: true });
  rmSync(zip, { force: true });
  mkdirSync(dir, { recursive: true });
  const rows = [`audio,${LABELS.join(",")}`];
  const names = [];
  for (let i = 1; i <= count; i++) {
    const row = clip(rng, work, `${name}_${String(i).padStart(4, "0")}`, dir, small);
    rows.push(row);
    names.push(row.split(",")[0]);
  }
  writeFileSync(join(dir, "index.csv"), `${rows.join("\n")}\n`);
  execFileSync("zip", ["-q", "-X", zip, "index.csv", ...names], { cwd: dir });
}

/**
 * The decoder's fixtures (tests/fixtures/sounds/, committed): a 440 Hz tone at half scale in
 * every encoding the product reads, and the hostile cases of issue #33 made from them by editing
 * bytes. Each file's name says what it is.
 */
function fixtures(dir) {
  mkdirSync(dir, { recursive: true });
  const tone = (name, rate, channels, args, seconds = "0.3") =>
    sox(["-n", "-r", String(rate), "-c", String(channels), ...args, join(dir, name), "synth", seconds, "sine", "440", "vol", "0.5"]);
  tone("tone_wav8_8k_mono.wav", 8000, 1, ["-b", "8", "-e", "unsigned-integer"]);
  tone("tone_wav16_16k_stereo.wav", 16000, 2, ["-b", "16"]);
  tone("tone_wav24_44k_mono.wav", 44100, 1, ["-b", "24"]);
  tone("tone_wavf32_48k_stereo.wav", 48000, 2, ["-b", "32", "-e", "floating-point"]);
  tone("tone_flac_22k_mono.flac", 22050, 1, ["-b", "16"]);
  tone("tone_ogg_22k_stereo.ogg", 22050, 2, []);
  tone("tone_mp3_44k_stereo.mp3", 44100, 2, []);
  sox(["-n", "-r", "16000", "-c", "1", "-b", "16", join(dir, "bad_silent.flac"), "trim", "0", "0.3"]);
  const read = (name) => new Uint8Array(readFileSync(join(dir, name)));
  const write = (name, bytes) => writeFileSync(join(dir, name), bytes);
  const wav = read("tone_wav16_16k_stereo.wav");
  const view = (bytes) => new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  // sox writes a 44-byte header: "fmt " at 12 (rate at 24, byte rate at 28), "data" at 36.
  if (new TextDecoder().decode(wav.subarray(36, 40)) !== "data") throw new Error("unexpected WAV layout");
  write("bad_cut.wav", wav.subarray(0, Math.floor(wav.length * 0.6)));
  const hours = wav.slice(0, 44 + 4096);
  view(hours).setUint32(40, 0xffffff00, true); // ~18.6 hours of 16 kHz stereo
  view(hours).setUint32(4, 0xffffff00 + 36, true);
  write("bad_hours.wav", hours);
  const rate = wav.slice();
  view(rate).setUint32(24, 50_000_000, true);
  view(rate).setUint32(28, 50_000_000 * 4, true);
  write("bad_rate.wav", rate);
  const empty = wav.slice(0, 44);
  view(empty).setUint32(40, 0, true);
  view(empty).setUint32(4, 36, true);
  write("bad_empty.wav", empty);
  write("bad_text.mp3", new TextEncoder().encode("ID3 is how this text starts, but it is not a sound.\n"));
  write("bad_plain_text.mp3", new TextEncoder().encode("Not a sound at all, only words.\n"));
  // The Vorbis identification header renamed (and its page's checksum made right again): a
  // well-formed Ogg stream with no track tagtrain decodes.
  const ogg = read("tone_ogg_22k_stereo.ogg");
  const noTrack = ogg.slice();
  const marker = new TextEncoder().encode("\x01vorbis");
  for (let i = 0; i + marker.length <= noTrack.length; i++) {
    if (marker.every((b, k) => noTrack[i + k] === b)) noTrack.set(new TextEncoder().encode("\x01sdrawk"), i);
  }
  fixOggChecksums(noTrack);
  write("bad_no_audio_track.ogg", noTrack);
  // The middle half of the MP3 overwritten.
  const mp3 = read("tone_mp3_44k_stereo.mp3");
  const damaged = mp3.slice();
  damaged.fill(0x55, Math.floor(mp3.length / 4), Math.floor((3 * mp3.length) / 4));
  write("bad_damaged.mp3", damaged);
  const damagedOgg = ogg.slice();
  damagedOgg.fill(0x55, Math.floor(ogg.length / 3), Math.floor((2 * ogg.length) / 3));
  write("bad_damaged.ogg", damagedOgg);
}

/** Ogg's CRC-32 (polynomial 0x04c11db7, no reflection, initial 0). */
function oggCrc(bytes) {
  let crc = 0;
  for (const b of bytes) {
    crc ^= b << 24;
    for (let k = 0; k < 8; k++) crc = crc & 0x80000000 ? (crc << 1) ^ 0x04c11db7 : crc << 1;
  }
  return crc >>> 0;
}

/** Recomputes the checksum of every page of the Ogg stream `bytes`, in place. */
function fixOggChecksums(bytes) {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let at = 0; at + 27 <= bytes.length; ) {
    const segments = bytes[at + 26];
    let length = 27 + segments;
    for (let k = 0; k < segments; k++) length += bytes[at + 27 + k];
    view.setUint32(at + 22, 0, true);
    view.setUint32(at + 22, oggCrc(bytes.subarray(at, at + length)), true);
    at += length;
  }
}

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    train: { type: "string", default: "240" },
    test: { type: "string", default: "80" },
    seed: { type: "string", default: "33" },
    fixtures: { type: "boolean", default: false },
    sample: { type: "string" },
  },
});
if (positionals.length !== (values.sample ? 0 : 1)) {
  console.error("usage: node scripts/make-sounds.mjs OUT_DIR [--train N] [--test N] [--seed S] | --fixtures DIR"
    + " | --sample ZIP");
  process.exit(2);
}
for (const tool of ["sox", "espeak-ng", "zip"]) {
  try {
    execFileSync("sh", ["-c", `command -v ${tool}`], { stdio: "ignore" });
  } catch {
    console.error(`make-sounds.mjs needs ${tool}: apt-get install sox libsox-fmt-mp3 espeak-ng zip`);
    process.exit(1);
  }
}
if (values.sample) {
  // The page's *Try the sound sample*: 48 small clips (seed 7), written to one zip.
  const work = mkdtempSync(join(tmpdir(), "tagtrain-sounds-"));
  try {
    split(generator(7), work, work, "sample", 48, { small: true, zipPath: resolve(values.sample) });
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  console.log(`wrote ${values.sample} (48 clips)`);
  process.exit(0);
}
const out = positionals[0];
if (values.fixtures) {
  fixtures(out);
  console.log(`wrote the decoder's fixtures to ${out}`);
  process.exit(0);
}
const rng = generator(Number(values.seed));
const work = mkdtempSync(join(tmpdir(), "tagtrain-sounds-"));
try {
  mkdirSync(out, { recursive: true });
  split(rng, work, out, "train", Number(values.train));
  split(rng, work, out, "test", Number(values.test));
} finally {
  rmSync(work, { recursive: true, force: true });
}
console.log(`wrote ${join(out, "sounds_train.zip")} (${values.train} clips) and ${join(out, "sounds_test.zip")} (${values.test} clips)`);
