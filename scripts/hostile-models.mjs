// Makes a corpus of edited tagtrain model files from one good model file: cut short, with a
// header that lies, with tensors that do not fit the architecture, with metadata out of every
// range (issue #32). Each case says why it is bad; one case (markup in the label names) is a
// good file that must load and be shown as text.
//
//   node scripts/hostile-models.mjs GOOD.safetensors OUT_DIR
//
// writes OUT_DIR/<case>.safetensors and OUT_DIR/manifest.json: [{ file, why, good }].
// The browser test imports `hostileModels(bytes)` instead, to make the same corpus in memory.
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

/** A safetensors file taken apart: its header object and each tensor's bytes by name. */
function parse(bytes) {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const length = Number(view.getBigUint64(0, true));
  const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + length)));
  const data = bytes.subarray(8 + length);
  const tensors = new Map();
  for (const [name, info] of Object.entries(header)) {
    if (name === "__metadata__") continue;
    const [start, end] = info.data_offsets;
    tensors.set(name, { dtype: info.dtype, shape: info.shape, bytes: data.subarray(start, end) });
  }
  return { metadata: header.__metadata__, tensors };
}

/** Bytes of a safetensors file: `metadata` (or none) and `tensors`, laid out contiguously. */
function build(metadata, tensors, { editHeader = (h) => h } = {}) {
  const header = {};
  if (metadata !== undefined) header.__metadata__ = metadata;
  let offset = 0;
  for (const [name, t] of tensors) {
    header[name] = { dtype: t.dtype, shape: t.shape, data_offsets: [offset, offset + t.bytes.length] };
    offset += t.bytes.length;
  }
  return withHeader(JSON.stringify(editHeader(header)), tensors);
}

/** A file of `headerText` (padded to 8 bytes as safetensors does) and the tensors' bytes. */
function withHeader(headerText, tensors) {
  let text = headerText;
  while ((8 + new TextEncoder().encode(text).length) % 8) text += " ";
  const head = new TextEncoder().encode(text);
  const size = [...tensors.values()].reduce((n, t) => n + t.bytes.length, 0);
  const out = new Uint8Array(8 + head.length + size);
  new DataView(out.buffer).setBigUint64(0, BigInt(head.length), true);
  out.set(head, 8);
  let at = 8 + head.length;
  for (const t of tensors.values()) {
    out.set(t.bytes, at);
    at += t.bytes.length;
  }
  return out;
}

/** Sets the architecture's field `camel` (or its old snake_case name, if the file uses that). */
function setArchitecture(m, camel, value) {
  const snake = camel.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
  m.architecture[snake in m.architecture ? snake : camel] = value;
}

/** The good file with its `tagtrain` metadata JSON changed by `edit` (an object, in place). */
function editMetadata(parsed, edit) {
  const json = JSON.parse(parsed.metadata.tagtrain);
  edit(json);
  return build({ ...parsed.metadata, tagtrain: JSON.stringify(json) }, parsed.tensors);
}

/**
 * The corpus, from the bytes of one good model file: `[{ name, why, good, bytes }]`.
 * @param {Uint8Array} good
 */
export function hostileModels(good) {
  const parsed = parse(good);
  const cases = [];
  const add = (name, why, bytes, isGood = false) => cases.push({ name, why, good: isGood, bytes });
  const first = [...parsed.tensors.keys()][0];
  const headerLength = Number(new DataView(good.buffer, good.byteOffset).getBigUint64(0, true));

  for (const [name, at] of [["cut-4", 4], ["cut-in-header", 8 + (headerLength >> 1)],
    ["cut-in-data", (good.length + headerLength) >> 1], ["cut-last-byte", good.length - 1]]) {
    add(name, `the file cut at byte ${at} of ${good.length}`, good.slice(0, at));
  }
  const huge = good.slice();
  new DataView(huge.buffer).setBigUint64(0, 1n << 40n, true);
  add("header-length-huge", "a header length of 2^40 bytes", huge);
  const past = good.slice();
  new DataView(past.buffer).setBigUint64(0, BigInt(good.length), true);
  add("header-length-past-end", "a header length past the end of the file", past);
  add("header-not-json", "a header that is not JSON", withHeader("{this is not json", parsed.tensors));
  add("shape-1e12", "a tensor whose shape claims 10^12 floats",
    build(parsed.metadata, parsed.tensors, {
      editHeader: (h) => ({ ...h, [first]: { ...h[first], shape: [1000000, 1000000] } }),
    }));
  add("offsets-out-of-bounds", "a tensor's data offsets past the end",
    build(parsed.metadata, parsed.tensors, {
      editHeader: (h) => ({ ...h, [first]: { ...h[first], data_offsets: [0, 1 << 30] } }),
    }));
  const missing = new Map(parsed.tensors);
  missing.delete("head.weight");
  add("tensor-missing", "the head's weights left out", build(parsed.metadata, missing));
  const f16 = new Map(parsed.tensors);
  const w = f16.get("head.weight");
  f16.set("head.weight", { ...w, dtype: "F16", bytes: w.bytes.subarray(0, w.bytes.length / 2) });
  add("another-dtype", "the head's weights stored as F16", build(parsed.metadata, f16));
  const extra = new Map(parsed.tensors);
  extra.set("extra.weight", { dtype: "F32", shape: [1], bytes: new Uint8Array(4) });
  add("extra-tensor", "a tensor the architecture does not have", build(parsed.metadata, extra));
  add("no-metadata", "no __metadata__", build(undefined, parsed.tensors));
  add("metadata-not-json", "__metadata__.tagtrain that is not JSON",
    build({ ...parsed.metadata, tagtrain: "{labels: oops" }, parsed.tensors));
  add("another-format", "__metadata__.format of another program",
    build({ ...parsed.metadata, format: "other-model" }, parsed.tensors));

  const metadataCases = {
    "labels-outputs-disagree": ["one label more than the network's outputs",
      (m) => { m.labels.push("extra"); m.thresholds.push(0.5); }],
    "threshold-nan": ["a threshold of NaN (as JSON null)", (m) => { m.thresholds[0] = null; }],
    "threshold-string": ["thresholds as strings", (m) => { m.thresholds = m.thresholds.map(String); }],
    "threshold-over-one": ["a threshold of 7", (m) => { m.thresholds[0] = 7; }],
    "image-size-huge": ["input.imageSize 100000", (m) => { m.input.imageSize = 100000; }],
    "image-size-zero": ["input.imageSize 0", (m) => { m.input.imageSize = 0; }],
    "depth-huge": ["architecture.depth 100001 (9n + 2)", (m) => { m.architecture.depth = 100001; }],
    "width-huge": ["architecture.base_width 2^20", (m) => setArchitecture(m, "baseWidth", 1 << 20)],
    "channels-far-out": ["input.channels 1000000", (m) => { m.input.channels = 1000000; }],
    "in-channels-disagree": ["architecture.in_channels 3 for 1-channel input",
      (m) => setArchitecture(m, "inChannels", m.input.channels === 1 ? 3 : 1)],
    "normalization-short": ["no normalisation std", (m) => { m.input.normalization.std = []; }],
    "newer-version": ["format version 99", (m) => { m.version = 99; }],
    "no-labels": ["no labels at all", (m) => { m.labels = []; m.thresholds = []; setArchitecture(m, "numLabels", 0); }],
  };
  for (const [name, [why, edit]] of Object.entries(metadataCases)) add(name, why, editMetadata(parsed, edit));
  add("markup-in-labels", "label names holding HTML (a good file: shown as text, never run)",
    editMetadata(parsed, (m) => {
      m.labels[0] = "<img src=x onerror=\"document.title='pwned'\">";
      if (m.training) m.training.labels = m.labels;
    }), true);
  return cases;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const [good, out] = process.argv.slice(2);
  if (!good || !out) {
    console.error("usage: node scripts/hostile-models.mjs GOOD.safetensors OUT_DIR");
    process.exit(2);
  }
  mkdirSync(out, { recursive: true });
  const manifest = [];
  for (const { name, why, good: isGood, bytes } of hostileModels(new Uint8Array(readFileSync(good)))) {
    const file = `${name}.safetensors`;
    writeFileSync(join(out, file), bytes);
    manifest.push({ file, why, good: isGood });
  }
  writeFileSync(join(out, "manifest.json"), JSON.stringify(manifest, null, 2));
  console.log(`${manifest.length} model files in ${out}`);
}
