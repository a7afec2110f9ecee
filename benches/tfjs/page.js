// The page side of benches/browser_tfjs_speed.mjs: ResNetV2-Small in tf.layers, trained with
// tf.train.adam through optimizer.minimize on a sigmoid cross-entropy loss. Bench only.
/* global tf */
"use strict";

/**
 * ResNetV2 Small of `depth` = 9n + 2 as src/model/resnet.rs and src/model/block.rs build it
 * (the 1×1 stride layout): 3×3 stem conv (16, no bias) at full resolution; three stages of n
 * pre-activation bottleneck units of widths 16, 32, 64 (out 4×), each
 * `a = ReLU(BN(x))`, `r = conv1×1(a, stride) → BN → ReLU → conv3×3 → BN → ReLU → conv1×1(4w)`,
 * `y = r + (projection conv1×1(a, stride) where the shape changes, else x)`, the stride 2 on
 * the first unit of stages 2 and 3; then BN → ReLU → global average pool → Linear(→ labels).
 * BatchNorm as burn's: ε 1e-5, running statistics' momentum 0.1 (TF.js: 0.9). TF.js's WebGL
 * convolutions are NHWC (ours NCHW).
 */
function resnetV2Small(side, depth, labels) {
  const L = tf.layers;
  const bn = (x) => L.batchNormalization({ momentum: 0.9, epsilon: 1e-5 }).apply(x);
  const relu = (x) => L.reLU().apply(x);
  const conv = (x, filters, kernel, stride) => L.conv2d({
    filters, kernelSize: kernel, strides: stride, padding: kernel === 3 ? "same" : "valid",
    useBias: false, kernelInitializer: "heNormal",
  }).apply(x);
  const n = (depth - 2) / 9;
  if (!Number.isInteger(n) || n < 1) throw new Error(`depth ${depth} is not 9n+2`);
  const input = tf.input({ shape: [side, side, 3] });
  let x = conv(input, 16, 3, 1);
  let channels = 16;
  for (let s = 0; s < 3; s++) {
    for (let u = 0; u < n; u++) {
      const width = 16 << s;
      const out = 4 * width;
      const stride = s > 0 && u === 0 ? 2 : 1;
      const a = relu(bn(x));
      const shortcut = stride !== 1 || channels !== out ? conv(a, out, 1, stride) : x;
      let r = conv(a, width, 1, stride);
      r = conv(relu(bn(r)), width, 3, 1);
      r = conv(relu(bn(r)), out, 1, 1);
      x = L.add().apply([r, shortcut]);
      channels = out;
    }
  }
  x = L.globalAveragePooling2d({}).apply(relu(bn(x)));
  return tf.model({ inputs: input, outputs: L.dense({ units: labels }).apply(x) });
}

/** `side` × `side` RGB bytes of an encoded image (stretched, as the page's default). */
async function decode(base64, side) {
  const bytes = Uint8Array.from(atob(base64), (c) => c.charCodeAt(0));
  const bitmap = await createImageBitmap(new Blob([bytes]),
    { resizeWidth: side, resizeHeight: side, resizeQuality: "high" });
  const canvas = new OffscreenCanvas(side, side);
  const context = canvas.getContext("2d");
  context.fillStyle = "white"; // transparent pixels on white
  context.fillRect(0, 0, side, side);
  context.drawImage(bitmap, 0, 0);
  bitmap.close();
  const rgba = context.getImageData(0, 0, side, side).data;
  const rgb = new Uint8Array(side * side * 3);
  for (let i = 0; i < side * side; i++) rgb.set(rgba.subarray(4 * i, 4 * i + 3), 3 * i);
  return rgb;
}

/**
 * Decodes `images` (base64), trains `steps` steps of `batch` images cycling over them, reading
 * the loss after each step, and returns the timings. Throws unless the backend is `backend`.
 */
globalThis.runBench = async ({ images, targets, labels, side, batch, steps, warmup, depth, backend, lr }) => {
  if (!(await tf.setBackend(backend))) throw new Error(`tf.setBackend('${backend}') failed`);
  await tf.ready();
  if (tf.getBackend() !== backend) throw new Error(`backend is ${tf.getBackend()}, not ${backend}`);
  let renderer = "";
  if (backend === "webgl") {
    const gl = tf.backend().gpgpu.gl;
    const info = gl.getExtension("WEBGL_debug_renderer_info");
    renderer = `WebGL ${tf.env().get("WEBGL_VERSION")}, ${gl.getParameter(info ? info.UNMASKED_RENDERER_WEBGL : gl.RENDERER)}`;
  }

  // Pixels, normalised per channel by the decoded images' mean and standard deviation.
  const count = images.length;
  const pixels = new Float32Array(count * side * side * 3);
  for (let i = 0; i < count; i++) {
    const rgb = await decode(images[i], side);
    for (let j = 0; j < rgb.length; j++) pixels[i * rgb.length + j] = rgb[j] / 255;
  }
  const mean = [0, 0, 0];
  const variance = [0, 0, 0];
  for (let j = 0; j < pixels.length; j++) mean[j % 3] += pixels[j] / (pixels.length / 3);
  for (let j = 0; j < pixels.length; j++) variance[j % 3] += (pixels[j] - mean[j % 3]) ** 2 / (pixels.length / 3);
  for (let j = 0; j < pixels.length; j++) pixels[j] = (pixels[j] - mean[j % 3]) / Math.sqrt(variance[j % 3] + 1e-12);
  const x = tf.tensor4d(pixels, [count, side, side, 3]);
  const y = tf.tensor2d(Float32Array.from(targets), [count, labels]);

  const model = resnetV2Small(side, depth, labels);
  const trainable = model.trainableWeights.reduce((sum, w) => sum + w.shape.reduce((a, b) => a * b, 1), 0);
  const parameters = model.countParams();
  const optimizer = tf.train.adam(lr);

  const batches = Math.floor(count / batch);
  const losses = [];
  const stepSeconds = [];
  for (let step = 0; step < steps; step++) {
    const start = performance.now();
    const b = step % batches;
    const xb = x.slice([b * batch, 0, 0, 0], [batch, side, side, 3]);
    const yb = y.slice([b * batch, 0], [batch, labels]);
    const loss = optimizer.minimize(
      () => tf.losses.sigmoidCrossEntropy(yb, model.apply(xb, { training: true })), true);
    losses.push((await loss.data())[0]);
    loss.dispose();
    xb.dispose();
    yb.dispose();
    stepSeconds.push((performance.now() - start) / 1000);
  }
  const timed = stepSeconds.slice(warmup).reduce((a, b) => a + b, 0);
  const all = stepSeconds.reduce((a, b) => a + b, 0);
  const result = {
    backend: tf.getBackend(), version: tf.version.tfjs, renderer, parameters, trainable, losses, stepSeconds,
    imagesPerSec: (batch * (steps - warmup)) / timed, imagesPerSecAll: (batch * steps) / all,
    tensors: tf.memory().numTensors,
  };
  model.dispose();
  optimizer.dispose();
  x.dispose();
  y.dispose();
  return result;
};
