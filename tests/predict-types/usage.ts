// Compiled (not run) with `tsc --strict --noEmit` by scripts/build-predict.sh: the package's
// types (www/predict/index.d.ts) must accept what its README shows and refuse misuse.
import {
  Model, initialize, type LabelResult, type ModelKind, type ModelMetadata, type SoundSettings, type WindowPrediction,
} from "../../www/predict/index.js";

async function usage(file: File, image: HTMLImageElement, video: HTMLVideoElement, data: ImageData) {
  await initialize({ wasm: new URL("https://example.invalid/tagtrain_predict_bg.wasm") });
  const model: Model = await Model.load("model.safetensors");
  const fromBytes = await Model.load(new Uint8Array(await file.arrayBuffer()));
  const labels: string[] = model.labels;
  const side: number = model.inputSize;
  const metadata: ModelMetadata = model.metadata;
  const resize: "stretch" | "center-crop" | "letterbox" = metadata.input.resize;
  const results: LabelResult[] = await model.predict(file);
  for (const { label, probability, threshold, positive } of results) {
    const line: string = `${label} ${probability.toFixed(3)} ${threshold} ${positive ? "yes" : "no"}`;
    void line;
  }
  await model.predict(image);
  await model.predict(video);
  await model.predict(data);
  await model.predict(await createImageBitmap(file));
  const batch: LabelResult[][] = await fromBytes.predictBatch([file, image, data]);
  // @ts-expect-error: a string is a model's URL, not an image.
  await model.predict("cat.jpg");
  // @ts-expect-error: labels are read-only.
  model.labels = [];
  model.dispose();
  void labels, side, resize, batch;
}
void usage;

async function soundUsage(clip: File, audio: AudioBuffer, samples: Float32Array) {
  const model = await Model.load("birds.safetensors");
  const kind: ModelKind = model.kind;
  if (kind === "sounds") {
    const settings: SoundSettings | null | undefined = model.metadata.input.sound;
    const seconds: number = settings?.clipSeconds ?? 1;
    const fromFile: LabelResult[] = await model.predict(clip);
    const fromBytes: LabelResult[] = await model.predict(new Uint8Array(await clip.arrayBuffer()));
    const fromBuffer: LabelResult[] = await model.predict(audio);
    const fromSamples: LabelResult[] = await model.predictSamples(samples, 16_000);
    await model.predictSamples([0, 0.5, -0.5], 8_000);
    const windows: WindowPrediction[] = await model.predictWindows(clip, { hopSeconds: seconds / 2 });
    for (const { start, end, predictions } of windows) {
      const line: string = `${start}–${end} s: ${predictions.map((p) => p.probability).join(" ")}`;
      void line;
    }
    await model.predictWindows(audio);
    await model.predictWindows({ samples, sampleRate: 44_100 }, { hopSeconds: 0.25 });
    await model.predictBatch([clip, clip]);
    // @ts-expect-error: the rate is a number of samples per second.
    await model.predictSamples(samples, "16 kHz");
    // @ts-expect-error: the hop is an option.
    await model.predictWindows(clip, 0.5);
    // @ts-expect-error: an AudioBuffer goes to predict(), one at a time.
    await model.predictBatch([audio]);
    // @ts-expect-error: a model's kind is read-only.
    model.kind = "images";
    void fromFile, fromBytes, fromBuffer, fromSamples;
  }
}
void soundUsage;
