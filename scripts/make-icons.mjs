// Draws the app's icons (a white price tag on the app's blue) into www/icons/ as PNGs, with no
// dependencies: shapes are tested per pixel with 4×4 supersampling for smooth edges, and the
// PNG is written with node:zlib. Run by hand after changing the design: node scripts/make-icons.mjs
import { writeFileSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { crc32, deflateSync } from "node:zlib";

const OUT = join(fileURLToPath(new URL("..", import.meta.url)), "www", "icons");
/** The page's accent colour (style.css `--accent`) and white. */
const BLUE = [0x33, 0x66, 0xcc];
const WHITE = [0xff, 0xff, 0xff];

/** The tag's outline in its own frame: the pointed end at the left, the body to the right. */
const TAG = [[-1, 0], [-0.5, -0.5], [1, -0.5], [1, 0.5], [-0.5, 0.5]];
const HOLE = { x: -0.48, y: 0, r: 0.14 };

function inPolygon(x, y, polygon) {
  let inside = false;
  for (let i = 0, j = polygon.length - 1; i < polygon.length; j = i++) {
    const [xi, yi] = polygon[i];
    const [xj, yj] = polygon[j];
    if ((yi > y) !== (yj > y) && x < ((xj - xi) * (y - yi)) / (yj - yi) + xi) inside = !inside;
  }
  return inside;
}

/** Inside a square of half-side `half` with corners rounded by `radius`, centred on 0. */
function inRoundedSquare(x, y, half, radius) {
  const dx = Math.max(Math.abs(x) - (half - radius), 0);
  const dy = Math.max(Math.abs(y) - (half - radius), 0);
  return Math.abs(x) <= half && Math.abs(y) <= half && dx * dx + dy * dy <= radius * radius;
}

/**
 * What covers the point (x, y) in [-1, 1]²: "tag", "background" or nothing. `maskable` fills
 * the whole square (the platform cuts its own shape) and keeps the tag inside the safe zone,
 * the central circle of radius 0.8.
 */
function shapeAt(x, y, maskable) {
  const background = maskable || inRoundedSquare(x, y, 1, 0.36);
  if (!background) return null;
  // The tag, turned 45° so that it points to the top left, scaled into the square.
  const scale = maskable ? 0.5 : 0.62;
  const c = Math.SQRT1_2;
  // Shifted along its axis by 0.15 so that its mass, not its outline, sits in the middle.
  const u = (c * x + c * y) / scale + 0.15;
  const v = (-c * x + c * y) / scale;
  const inHole = (u - HOLE.x) ** 2 + (v - HOLE.y) ** 2 <= HOLE.r ** 2;
  return inPolygon(u, v, TAG) && !inHole ? "tag" : "background";
}

/** The icon's RGBA pixels, `size × size`. */
function drawIcon(size, maskable) {
  const rgba = Buffer.alloc(size * size * 4);
  const samples = 4;
  for (let py = 0; py < size; py++) {
    for (let px = 0; px < size; px++) {
      let tag = 0;
      let covered = 0;
      for (let sy = 0; sy < samples; sy++) {
        for (let sx = 0; sx < samples; sx++) {
          const x = ((px + (sx + 0.5) / samples) / size) * 2 - 1;
          const y = ((py + (sy + 0.5) / samples) / size) * 2 - 1;
          const shape = shapeAt(x, y, maskable);
          if (shape) covered++;
          if (shape === "tag") tag++;
        }
      }
      const at = (py * size + px) * 4;
      const white = covered ? tag / covered : 0;
      for (let i = 0; i < 3; i++) rgba[at + i] = Math.round(BLUE[i] + (WHITE[i] - BLUE[i]) * white);
      rgba[at + 3] = Math.round((255 * covered) / (samples * samples));
    }
  }
  return rgba;
}

/** An 8-bit RGBA PNG. */
function pngOf(size, rgba) {
  const chunk = (type, data) => {
    const body = Buffer.concat([Buffer.from(type, "latin1"), data]);
    const length = Buffer.alloc(4);
    length.writeUInt32BE(data.length);
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(crc32(body));
    return Buffer.concat([length, body, crc]);
  };
  const header = Buffer.alloc(13);
  header.writeUInt32BE(size, 0);
  header.writeUInt32BE(size, 4);
  header.set([8, 6, 0, 0, 0], 8); // 8 bits, RGBA, deflate, no filter method, no interlace
  const rows = Buffer.alloc(size * (1 + size * 4)); // each row starts with filter type 0
  for (let y = 0; y < size; y++) rgba.copy(rows, y * (1 + size * 4) + 1, y * size * 4, (y + 1) * size * 4);
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk("IHDR", header), chunk("IDAT", deflateSync(rows, { level: 9 })), chunk("IEND", Buffer.alloc(0)),
  ]);
}

mkdirSync(OUT, { recursive: true });
for (const [name, size, maskable] of [
  ["icon-192.png", 192, false],
  ["icon-512.png", 512, false],
  ["icon-maskable-512.png", 512, true],
]) {
  const png = pngOf(size, drawIcon(size, maskable));
  writeFileSync(join(OUT, name), png);
  console.log(`www/icons/${name}: ${size}×${size}, ${png.length} B`);
}
