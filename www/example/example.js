// The example page of @tagtrain/predict: load a model file, drop images, or point the camera
// and watch the label bars follow; for a model of sound clips, drop sound files or listen to the
// microphone. "Export for the web" ships this page pre-wired to its model
// (a <meta name="tagtrain-model"> tag; `?model=URL` does the same).
import { Model } from "../predict/index.js";
import { startMicrophone } from "./microphone.js";

const $ = (selector) => document.querySelector(selector);
let model = null;
let cameraOn = false;
/** The microphone while listening (`startMicrophone`'s handle), else null. */
let microphone = null;
/** Milliseconds from the start of one live prediction to the next, at least. */
const LISTEN_INTERVAL = 300;

function showError(error) {
  $("#error").textContent = error instanceof Error ? error.message : String(error);
  $("#error").hidden = false;
}

async function useModel(source, name) {
  $("#error").hidden = true;
  try {
    const next = await Model.load(source);
    model?.dispose();
    model = next;
    const m = model.metadata;
    const sound = m.input.sound;
    $("#model-info").textContent = `${name}: ${m.model}, ${model.labels.length} labels, ` +
      (sound ? `sound clips (${sound.clipSeconds} s windows at ${sound.sampleRate} Hz).`
        : `${model.inputSize} px (${m.input.resize}).`);
    showInputsFor(model.kind);
    document.body.dataset.model = "ready"; // read by the browser tests
  } catch (e) {
    showError(e);
  }
}

/** The inputs of a model's kind: images and the camera, or sounds and the microphone. */
function showInputsFor(kind) {
  const sound = kind === "sounds";
  if (sound && cameraOn) toggleCamera();
  if (!sound && microphone) toggleListening();
  $("#camera").hidden = sound;
  $("#listen").hidden = !sound;
  // The note says what the camera or the microphone did; a browser without either keeps it.
  if (navigator.mediaDevices?.getUserMedia) $("#camera-note").textContent = "";
  $("#drop-what").textContent = sound ? "Drop sound files (WAV, FLAC, Ogg, MP3) here, or" : "Drop images here, or";
  $("#image-file").accept = sound ? "audio/*,.wav,.flac,.ogg,.oga,.mp3" : "image/*";
  document.body.dataset.kind = kind;
}

/** One bar per label: the probability, the threshold as a mark, green when positive. */
function showResults(results) {
  // Read by the browser tests: how many times the bars were drawn.
  document.body.dataset.updates = String(Number(document.body.dataset.updates ?? 0) + 1);
  $("#bars").replaceChildren(...results.map((r) => {
    const item = document.createElement("li");
    item.className = r.positive ? "positive" : "";
    item.dataset.label = r.label;
    item.dataset.probability = String(r.probability);
    const track = document.createElement("span");
    track.className = "track";
    const fill = document.createElement("span");
    fill.className = "fill";
    fill.style.width = `${(100 * r.probability).toFixed(1)}%`;
    const mark = document.createElement("span");
    mark.className = "threshold";
    mark.style.left = `${(100 * r.threshold).toFixed(1)}%`;
    mark.title = `threshold ${r.threshold.toFixed(2)}`;
    track.append(fill, mark);
    const name = document.createElement("span");
    name.textContent = r.label;
    const value = document.createElement("span");
    value.textContent = r.probability.toFixed(3);
    item.append(name, track, value);
    return item;
  }));
}

async function predictFiles(files) {
  if (!model) return showError("Choose a model file first.");
  $("#error").hidden = true;
  for (const file of files) {
    try {
      const preview = model.kind === "sounds" ? $("#preview-sound") : $("#preview");
      $("#preview").hidden = $("#preview-sound").hidden = true;
      preview.src = URL.createObjectURL(file);
      preview.hidden = false;
      showResults(await model.predict(file));
      document.body.dataset.predicted = file.name;
    } catch (e) {
      showError(e);
    }
  }
}

/** Predicts the camera's current frame, then the next, for as long as the camera is on. */
async function predictLive() {
  const video = $("#video");
  while (cameraOn) {
    if (model && video.readyState >= 2) {
      try {
        showResults(await model.predict(video));
      } catch (e) {
        showError(e);
      }
    }
    await new Promise((resolve) => requestAnimationFrame(resolve));
  }
}

async function toggleCamera() {
  const video = $("#video");
  if (cameraOn) {
    cameraOn = false;
    video.srcObject?.getTracks().forEach((t) => t.stop());
    video.hidden = true;
    $("#camera").textContent = "Use the camera";
    return;
  }
  try {
    video.srcObject = await navigator.mediaDevices.getUserMedia({ video: { facingMode: "environment" }, audio: false });
    await video.play();
    video.hidden = false;
    $("#preview").hidden = true;
    cameraOn = true;
    $("#camera").textContent = "Stop the camera";
    $("#camera-note").textContent = "";
    predictLive();
  } catch (e) {
    $("#camera-note").textContent = `No camera (${e.name ?? e}): drop or choose images instead.`;
  }
}

/** Predicts the microphone's last clip-length of sound, again and again while listening: one
 * prediction at a time, each at least LISTEN_INTERVAL ms after the previous one started. */
async function predictListening(handle) {
  const minimum = Math.min(0.25, model.metadata.input.sound.clipSeconds);
  while (microphone === handle) {
    const started = performance.now();
    if (model && handle.seconds() >= minimum) {
      try {
        showResults(await model.predictSamples(handle.heard(), handle.sampleRate));
      } catch (e) {
        showError(e);
      }
    }
    const rest = LISTEN_INTERVAL - (performance.now() - started);
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, rest)));
  }
}

async function toggleListening() {
  if (microphone) {
    microphone.stop();
    microphone = null;
    $("#listen").textContent = "Listen";
    document.body.dataset.listening = "off";
    return;
  }
  if (!model || model.kind !== "sounds") return;
  $("#listen").disabled = true; // one microphone at a time: no second click while it starts
  try {
    const handle = await startMicrophone(model.metadata.input.sound.clipSeconds);
    microphone = handle;
    $("#listen").textContent = "Stop listening";
    $("#camera-note").textContent = "Listening: the bars follow the last " +
      `${model.metadata.input.sound.clipSeconds} s the microphone heard.`;
    document.body.dataset.listening = "on";
    predictListening(handle);
  } catch (e) {
    $("#camera-note").textContent = `No microphone (${e.name ?? e}): drop or choose sound files instead.`;
    document.body.dataset.listening = "unavailable";
  } finally {
    $("#listen").disabled = false;
  }
}

$("#model-file").addEventListener("change", (e) => {
  const file = e.target.files[0];
  if (file) useModel(file, file.name);
});
$("#image-file").addEventListener("change", (e) => predictFiles([...e.target.files]));
const drop = $("#drop");
drop.addEventListener("dragover", (e) => { e.preventDefault(); drop.classList.add("over"); });
drop.addEventListener("dragleave", () => drop.classList.remove("over"));
drop.addEventListener("drop", (e) => {
  e.preventDefault();
  drop.classList.remove("over");
  predictFiles([...e.dataTransfer.files]);
});
if (navigator.mediaDevices?.getUserMedia) {
  $("#camera").addEventListener("click", toggleCamera);
  $("#listen").addEventListener("click", toggleListening);
} else {
  $("#camera").disabled = $("#listen").disabled = true;
  $("#camera-note").textContent = "This browser offers no camera or microphone to pages (it needs https or localhost).";
}
// The model to load at once: `?model=…`, or the <meta name="tagtrain-model"> of an exported page.
const preset = new URLSearchParams(location.search).get("model") ??
  /** @type {HTMLMetaElement | null} */ (document.querySelector('meta[name="tagtrain-model"]'))?.content;
if (preset) useModel(new URL(preset, location.href), preset.split("/").pop());
