// Compiled (not run) with `tsc --strict --noEmit` by scripts/build-predict.sh: the package's
// types (www/predict/index.d.ts) must accept what its README shows and refuse misuse.
import { Model, initialize, type LabelResult, type ModelMetadata } from "../../www/predict/index.js";

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
