// The example page's microphone: the last few seconds of what it hears, kept in a ring buffer
// fed by an AudioWorklet (microphone-worklet.js, served with the page and kept offline like it).

/** The last `capacity` samples written, oldest first on reading. */
export class RingBuffer {
  constructor(capacity) {
    this.samples = new Float32Array(capacity);
    this.next = 0; // where the next sample goes
    this.filled = 0; // how many samples are held, up to capacity
  }

  /** Appends `block`, dropping the oldest samples when full. */
  push(block) {
    const capacity = this.samples.length;
    // Only the last `capacity` samples of a long block can stay.
    const tail = block.length > capacity ? block.subarray(block.length - capacity) : block;
    const first = Math.min(tail.length, capacity - this.next);
    this.samples.set(tail.subarray(0, first), this.next);
    this.samples.set(tail.subarray(first), 0);
    this.next = (this.next + tail.length) % capacity;
    this.filled = Math.min(capacity, this.filled + tail.length);
  }

  /** A copy of the samples held, oldest first. */
  snapshot() {
    const capacity = this.samples.length;
    if (this.filled < capacity) return this.samples.slice(0, this.filled);
    const out = new Float32Array(capacity);
    out.set(this.samples.subarray(this.next), 0);
    out.set(this.samples.subarray(0, this.next), capacity - this.next);
    return out;
  }
}

/**
 * Starts the microphone and keeps its last `seconds` of sound. Resolves to
 * `{ sampleRate, heard(): Float32Array, seconds(): number, stop() }`; rejects when there is no
 * microphone or the page may not use it (a `DOMException` such as `NotFoundError` or
 * `NotAllowedError`).
 */
export async function startMicrophone(seconds) {
  const stream = await navigator.mediaDevices.getUserMedia({ audio: true, video: false });
  const context = new AudioContext();
  try {
    await context.audioWorklet.addModule(new URL("microphone-worklet.js", import.meta.url));
    const source = context.createMediaStreamSource(stream);
    const tap = new AudioWorkletNode(context, "microphone-tap", {
      numberOfInputs: 1,
      numberOfOutputs: 1, // connected to the speakers (silence) so that the graph runs it
      channelCount: 1,
      channelCountMode: "explicit", // Web Audio mixes the microphone to mono
      channelInterpretation: "speakers",
    });
    const ring = new RingBuffer(Math.max(1, Math.round(seconds * context.sampleRate)));
    tap.port.onmessage = (e) => ring.push(e.data);
    source.connect(tap);
    tap.connect(context.destination);
    await context.resume();
    return {
      sampleRate: context.sampleRate,
      heard: () => ring.snapshot(),
      seconds: () => ring.filled / context.sampleRate,
      stop() {
        tap.port.onmessage = null;
        source.disconnect();
        tap.disconnect();
        stream.getTracks().forEach((t) => t.stop());
        context.close();
      },
    };
  } catch (e) {
    stream.getTracks().forEach((t) => t.stop());
    context.close();
    throw e;
  }
}
