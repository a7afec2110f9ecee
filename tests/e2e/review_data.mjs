// A small dataset made for the evaluation-view tests: 16×16 px images on grey noise, each label a
// coloured square in its own corner (clear evidence, learnt in a few quick epochs), a rare label
// (3 positives), a `group` column and one byte-identical pair of files.
import { pngOf, zipOf } from "./harness.mjs";

export const SIDE = 16;
/** The corner labels, then the rare one. */
export const LABELS = ["red", "green", "blue", "white", "rare"];
const SQUARES = {
  red: { x: 0, y: 0, rgb: [220, 40, 40] },
  green: { x: 9, y: 0, rgb: [40, 200, 40] },
  blue: { x: 0, y: 9, rgb: [40, 40, 220] },
  white: { x: 9, y: 9, rgb: [245, 245, 245] },
  rare: { x: 6, y: 6, rgb: [230, 220, 30] },
};

/** A deterministic generator (mulberry32), so that every run sees the same images. */
function random(seed) {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * `{ zip, rows }`: the dataset zip (index.csv: image, the labels, group) and each image's name and
 * labels. `count` images plus `dup.png`, a byte-for-byte copy of the first.
 */
export function reviewDataset({ count = 96, seed = 12 } = {}) {
  const next = random(seed);
  const files = {};
  const rows = [];
  for (let i = 0; i < count; i++) {
    const labels = LABELS.slice(0, 4).filter(() => next() < 0.45);
    if (i % 32 === 5) labels.push("rare"); // 3 positives in 96
    const rgb = Buffer.alloc(SIDE * SIDE * 3);
    for (let p = 0; p < SIDE * SIDE; p++) rgb.fill(60 + Math.floor(next() * 60), p * 3, p * 3 + 3);
    for (const label of labels) {
      const { x, y, rgb: colour } = SQUARES[label];
      const size = label === "rare" ? 4 : 7;
      for (let dy = 0; dy < size; dy++) {
        for (let dx = 0; dx < size; dx++) rgb.set(colour, ((y + dy) * SIDE + x + dx) * 3);
      }
    }
    const name = `img${String(i).padStart(3, "0")}.png`;
    files[name] = pngOf(SIDE, SIDE, rgb);
    rows.push({ name, labels, group: `g${i % 24}` });
  }
  files["dup.png"] = files[rows[0].name];
  rows.push({ ...rows[0], name: "dup.png" });
  const csv = ["image," + LABELS.join(",") + ",group",
    ...rows.map((r) => [r.name, ...LABELS.map((l) => (r.labels.includes(l) ? 1 : 0)), r.group].join(","))].join("\n");
  return { zip: zipOf({ "index.csv": csv + "\n", ...files }), rows };
}
