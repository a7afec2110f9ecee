// A stand-in for www/worker.js, for testing the page's evaluation views without the wasm module
// (REVIEW_MOCK=1 node --test tests/e2e/review.test.mjs). It answers the protocol of
// www/protocol.js with a pretend model: each probability is the truth blurred by deterministic
// noise, so there are mistakes to look at. Test code only: the real worker computes everything
// in Rust. The numbers are consistent with each other (metrics, curves, error lists), which is
// what the page's views are tested for.
import { Progress, Reply, Request } from "./protocol.js";

const choices = {
  models: [{ kind: "small", depths: [11, 20, 29, 56], minImageSize: 16, maxImageSize: 128 },
    { kind: "large", depths: [26, 50, 101], minImageSize: 129, maxImageSize: 320 }],
  limits: {
    epochs: { min: 1, max: 500 }, batchSize: { min: 1, max: 512 }, imageSize: { min: 8, max: 512 },
    learningRate: { min: 1e-6, max: 10 }, weightDecay: { min: 0, max: 1 }, validationFraction: { min: 0, max: 0.9 },
  },
  resizePolicies: ["stretch", "center-crop", "letterbox"],
  defaults: {
    depth: 11, imageSize: 32, epochs: 10, batchSize: 32, learningRate: 0.001, weightDecay: 0.0001,
    validationFraction: 0.2, seed: 1, augment: { crop: true, flip: true, jitter: true }, positiveWeights: false,
    gradientClip: 1, patience: 5, thresholdGoal: { goal: "maxF1" }, resize: "stretch",
  },
};

/** @type {{ names: string[], labels: string[], truth: boolean[][], images: {width:number,height:number,rgba:Uint8ClampedArray}[], groups: number | null, duplicates: string[][] } | null} */
let data = null;
/** @type {{ labels: string[], thresholds: number[], probs: number[][] | null } | null} */
let model = null;
let split = null; // per image: "train" | "valid"
let reviewed = null; // indices of the reviewed images
let source = "validation";

async function unzip(bytes) {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let end = bytes.length - 22;
  while (view.getUint32(end, true) !== 0x06054b50) end--;
  const count = view.getUint16(end + 10, true);
  let at = view.getUint32(end + 16, true);
  const files = {};
  for (let i = 0; i < count; i++) {
    const method = view.getUint16(at + 10, true);
    const size = view.getUint32(at + 20, true);
    const nameLength = view.getUint16(at + 28, true);
    const skip = nameLength + view.getUint16(at + 30, true) + view.getUint16(at + 32, true);
    const local = view.getUint32(at + 42, true);
    const name = new TextDecoder().decode(bytes.subarray(at + 46, at + 46 + nameLength));
    const start = local + 30 + view.getUint16(local + 26, true) + view.getUint16(local + 28, true);
    let content = bytes.subarray(start, start + size);
    if (method === 8) {
      const stream = new Blob([content]).stream().pipeThrough(new DecompressionStream("deflate-raw"));
      content = new Uint8Array(await new Response(stream).arrayBuffer());
    }
    files[name] = content;
    at += 46 + skip;
  }
  return files;
}

async function decode(bytes) {
  const bitmap = await createImageBitmap(new Blob([bytes]));
  const canvas = new OffscreenCanvas(bitmap.width, bitmap.height);
  const ctx = canvas.getContext("2d");
  ctx.drawImage(bitmap, 0, 0);
  return { width: bitmap.width, height: bitmap.height, rgba: ctx.getImageData(0, 0, bitmap.width, bitmap.height).data };
}

/** Deterministic noise in [-1, 1) from two integers. */
function noise(a, b) {
  let h = Math.imul(a + 1, 0x9e3779b1) ^ Math.imul(b + 7, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return ((h >>> 0) / 2 ** 32) * 2 - 1;
}

const sigmoid = (x) => 1 / (1 + Math.exp(-x));
const column = (label) => data.labels.indexOf(label);

function curvesOf(j) {
  const c = column(model.labels[j]);
  const scored = reviewed.map((i) => ({ p: model.probs[i][j], t: data.truth[i][c] })).sort((a, b) => b.p - a.p);
  const positives = scored.filter((s) => s.t).length;
  const negatives = scored.length - positives;
  const pr = [];
  const roc = [{ threshold: Infinity, fpr: 0, tpr: 0 }];
  let tp = 0, fp = 0, ap = 0, lastRecall = 0;
  for (let k = 0; k < scored.length; k++) {
    if (scored[k].t) tp++; else fp++;
    if (k + 1 < scored.length && scored[k + 1].p === scored[k].p) continue;
    const recall = positives ? tp / positives : 0;
    const precision = tp / (tp + fp);
    ap += (recall - lastRecall) * precision;
    lastRecall = recall;
    pr.push({ threshold: scored[k].p, precision, recall });
    roc.push({ threshold: scored[k].p, fpr: negatives ? fp / negatives : 0, tpr: recall });
  }
  let auc = 0;
  for (let k = 1; k < roc.length; k++) auc += (roc[k].fpr - roc[k - 1].fpr) * (roc[k].tpr + roc[k - 1].tpr) / 2;
  return { label: model.labels[j], ap: positives ? ap : null, rocAuc: positives && negatives ? auc : null, pr, roc };
}

function labelMetrics(j) {
  const c = column(model.labels[j]);
  const t = model.thresholds[j];
  let tp = 0, fp = 0, fn = 0;
  for (const i of reviewed) {
    const yes = model.probs[i][j] >= t;
    if (yes && data.truth[i][c]) tp++;
    else if (yes) fp++;
    else if (data.truth[i][c]) fn++;
  }
  const precision = tp + fp ? tp / (tp + fp) : 0;
  const recall = tp + fn ? tp / (tp + fn) : 0;
  const curves = curvesOf(j);
  return { tp, fp, fn, name: model.labels[j], precision, recall, f1: precision + recall ? 2 * precision * recall / (precision + recall) : 0,
    ap: curves.ap, rocAuc: curves.rocAuc, support: tp + fn, threshold: t };
}

function review() {
  if (!model?.probs || !reviewed) return null;
  const labels = model.labels.map((_, j) => labelMetrics(j));
  const mean = (xs) => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);
  const tp = labels.reduce((a, l) => a + l.tp, 0), fp = labels.reduce((a, l) => a + l.fp, 0), fn = labels.reduce((a, l) => a + l.fn, 0);
  const metrics = {
    map: mean(labels.map((l) => l.ap ?? 0)), macroRocAuc: mean(labels.map((l) => l.rocAuc ?? 0)),
    microF1: 2 * tp / Math.max(1, 2 * tp + fp + fn), macroF1: mean(labels.map((l) => l.f1)),
    hammingLoss: (fp + fn) / Math.max(1, reviewed.length * labels.length), subsetAccuracy: 0.5,
    labels: labels.map(({ tp, fp, fn, ...rest }) => rest),
  };
  return { source, images: reviewed.length, labels: model.labels, thresholds: [...model.thresholds], metrics,
    curves: model.labels.map((_, j) => curvesOf(j)) };
}

const metadata = () => ({ labels: model.labels, thresholds: [...model.thresholds], imageSize: 16, model: "ResNetV2-Small-11",
  backend: "cpu", training: { epochsCompleted: 1, trainImages: split.filter((s) => s === "train").length, finalMap: review()?.metrics.map ?? null } });

const modelFile = () => new TextEncoder().encode(JSON.stringify(model.thresholds));

function galleryImage(i) {
  const labels = data.labels.filter((_, c) => data.truth[i][c]);
  return { index: i, name: data.names[i], labels, split: split?.[i] ?? null, thumbnail: data.images[i] };
}

function loss(i) {
  return model.labels.reduce((sum, label, j) => {
    const p = Math.min(1 - 1e-6, Math.max(1e-6, model.probs[i][j]));
    return sum - (data.truth[i][column(label)] ? Math.log(p) : Math.log(1 - p));
  }, 0) / model.labels.length;
}

const handlers = {
  [Request.INIT]: async () => ({ kind: "cpu", adapter: null, notice: "No WebGPU here (mock worker): training runs on the CPU.", choices }),
  async [Request.LOAD_DATASET]({ file }) {
    const files = await unzip(new Uint8Array(await file.arrayBuffer()));
    const lines = new TextDecoder().decode(files["index.csv"]).trim().split(/\r?\n/);
    const header = lines[0].split(",");
    const labelColumns = header.map((h, k) => [h, k]).filter(([h, k]) => k > 0 && h !== "group" && h !== "split");
    const groupAt = header.indexOf("group");
    const rows = lines.slice(1).map((l) => l.split(","));
    const names = rows.map((r) => r[0]);
    const truth = rows.map((r) => labelColumns.map(([, k]) => r[k] === "1"));
    const images = await Promise.all(names.map((n) => decode(files[n])));
    const byBytes = new Map();
    for (const n of names) {
      const key = Array.from(files[n]).join(",");
      byBytes.set(key, [...(byBytes.get(key) ?? []), n]);
    }
    const duplicates = [...byBytes.values()].filter((set) => set.length > 1);
    const groups = groupAt >= 0 ? new Set(rows.map((r) => r[groupAt])).size : null;
    data = { names, labels: labelColumns.map(([h]) => h), truth, images, groups, duplicates };
    split = null;
    const labels = data.labels.map((name, c) => {
      const positives = truth.filter((t) => t[c]).length;
      return { name, positives, negatives: names.length - positives, note: positives < 5 ? `${positives} positives: too few to learn or to validate` : null };
    });
    return {
      images: names.length, imageColumn: header[0], labels, sizes: [{ width: images[0].width, height: images[0].height, count: names.length }],
      minSide: images[0].width, maxSide: images[0].width, warnings: [], recommended: { kind: "small", depth: 11, imageSize: 32 },
      labelsPerImage: [names.length], cooccurrence: labels.map(() => labels.map(() => 1)), grayscale: false, splitColumn: null,
      groupColumn: groups != null ? { column: "group", groups, largest: 5 } : null, duplicates,
    };
  },
  [Request.MEMORY_PLAN]: async () => ({ zipBytes: 1, pixelBytes: 1, networkBytes: 1, totalBytes: 3, availableBytes: 9, verdict: "fits", message: "Fits." }),
  async [Request.TRAIN]({ options }, progress) {
    const labels = options.labels ?? data.labels;
    split = data.names.map((_, i) => (i % 5 === 2 ? "valid" : "train"));
    reviewed = split.map((s, i) => (s === "valid" ? i : -1)).filter((i) => i >= 0);
    source = "validation";
    progress({ kind: Progress.DECODING, done: data.names.length, total: data.names.length });
    progress({ kind: Progress.STARTED, info: { trainImages: data.names.length - reviewed.length, validImages: reviewed.length,
      stepsPerEpoch: 1, totalSteps: 1, parameters: 1000, model: "ResNetV2-Small-11", backend: "cpu", init: "new",
      wasmMemoryBytes: 2 ** 24, history: { epochs: [], stepLosses: [] }, labels, duplicates: data.duplicates, groups: data.groups } });
    model = { labels, thresholds: labels.map(() => 0.5), probs: null };
    model.probs = data.truth.map((t, i) => labels.map((l, j) => sigmoid((t[column(l)] ? 1.5 : -1.5) + 2.2 * noise(i, j))));
    // Thresholds tuned for the best F1 on the validation images.
    model.thresholds = labels.map((_, j) => {
      let best = [0.5, -1];
      for (const p of curvesOf(j).pr) {
        const f1 = p.precision + p.recall ? 2 * p.precision * p.recall / (p.precision + p.recall) : 0;
        if (f1 > best[1]) best = [p.threshold, f1];
      }
      return best[0];
    });
    const r = review();
    const validation = { ...r.metrics, epoch: 1, trainLoss: 0.6, validLoss: 0.5, best: true };
    progress({ kind: Progress.STEP, epoch: 1, step: 1, totalSteps: 1, loss: 0.6, imagesPerSec: 100, etaSeconds: 0, validation,
      done: true, stoppedEarly: false, wasmMemoryBytes: 2 ** 24 });
    return { stopped: false, model: modelFile(), metadata: metadata(), curves: r.curves.map((c) => ({ label: c.label, points: c.pr })), review: r };
  },
  async [Request.SET_THRESHOLDS]({ thresholds }) {
    model.thresholds = [...thresholds];
    return { model: modelFile(), metadata: metadata(), review: review() };
  },
  [Request.REVIEW]: async () => review(),
  async [Request.EVALUATE](_args, progress) {
    progress({ kind: Progress.DECODING, done: data.names.length, total: data.names.length });
    reviewed = data.names.map((_, i) => i);
    source = "evaluation";
    return { ...review().metrics, images: reviewed.length, imagesPerSec: 123 };
  },
  async [Request.GALLERY]({ label, split: side, page, perPage }) {
    if (side && !split) throw new Error("No run has split the dataset yet.");
    const matching = data.names.map((_, i) => i)
      .filter((i) => (!label || data.truth[i][column(label)]) && (!side || split[i] === side));
    const pages = Math.max(1, Math.ceil(matching.length / perPage));
    return { total: matching.length, page, pages, images: matching.slice(page * perPage, (page + 1) * perPage).map(galleryImage) };
  },
  async [Request.ERRORS]({ label, limit }) {
    const j = model.labels.indexOf(label);
    const c = column(label);
    const t = model.thresholds[j];
    const image = (i) => ({ ...galleryImage(i), probability: model.probs[i][j], loss: loss(i) });
    const fps = reviewed.filter((i) => !data.truth[i][c] && model.probs[i][j] >= t).sort((a, b) => model.probs[b][j] - model.probs[a][j]);
    const fns = reviewed.filter((i) => data.truth[i][c] && model.probs[i][j] < t).sort((a, b) => model.probs[a][j] - model.probs[b][j]);
    return { label, threshold: t, falsePositiveCount: fps.length, falseNegativeCount: fns.length,
      falsePositives: fps.slice(0, limit).map(image), falseNegatives: fns.slice(0, limit).map(image) };
  },
  async [Request.MOST_WRONG]({ limit }) {
    return [...reviewed].sort((a, b) => loss(b) - loss(a)).slice(0, limit)
      .map((i) => ({ ...galleryImage(i), probability: null, loss: loss(i) }));
  },
  async [Request.IMAGE_DETAIL]({ index }) {
    return { index, name: data.names[index], split: split?.[index] ?? null, labels: model.labels.map((label, j) => ({
      label, probability: model.probs[index][j], threshold: model.thresholds[j], truth: data.truth[index][column(label)],
      positive: model.probs[index][j] >= model.thresholds[j] })) };
  },
  async [Request.SALIENCY]({ index, file, label }) {
    const image = file ? await decode(new Uint8Array(await file.arrayBuffer())) : data.images[index];
    const heat = new Uint8ClampedArray(image.rgba.length);
    for (let p = 0; p < heat.length / 4; p++) heat.set([255, 60, 0, (p * 7) % 256], p * 4);
    const j = model.labels.indexOf(label);
    return { label, probability: index != null ? model.probs[index][j] : 0.5, image, heat: { width: image.width, height: image.height, rgba: heat } };
  },
  async [Request.REPORT]({ title }) {
    const r = review();
    const rows = r.metrics.labels.map((l) => `<tr><td>${l.name}</td><td>${l.precision.toFixed(3)}</td><td>${l.recall.toFixed(3)}</td></tr>`);
    return new TextEncoder().encode(`<!doctype html><html><title>${title}</title><table>${rows.join("")}</table></html>`);
  },
  async [Request.PREDICT]() {
    return { predictions: model.labels.map((label, j) => ({ label, probability: 0.5 + j / 10, threshold: model.thresholds[j], positive: true })) };
  },
  [Request.STOP]: async () => ({ stopping: false }),
  [Request.RUN_INFO]: async () => { throw new Error("mock: no saved runs"); },
};

self.onmessage = async ({ data: message }) => {
  const { id, type, ...args } = message;
  const progress = (event) => postMessage({ id, type: Reply.PROGRESS, event });
  try {
    const handler = handlers[type];
    if (!handler) throw new Error(`mock worker: "${type}" is not mocked`);
    postMessage({ id, type: Reply.RESULT, value: await handler(args, progress) });
  } catch (e) {
    postMessage({ id, type: Reply.ERROR, message: e instanceof Error ? e.message : String(e) });
  }
};
