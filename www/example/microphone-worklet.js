// The example page's microphone tap (an AudioWorklet, loaded by microphone.js): hands the
// microphone's samples to the page in blocks. Its node is made with one channel in "explicit"
// mode, so Web Audio has already mixed a stereo microphone to mono (the mean of left and right,
// as the model's decoder mixes a file's channels).
const BLOCK = 2048; // samples per message: ~43 ms at 48 kHz

class MicrophoneTap extends AudioWorkletProcessor {
  constructor() {
    super();
    this.block = new Float32Array(BLOCK);
    this.filled = 0;
  }

  process(inputs) {
    const mono = inputs[0]?.[0];
    if (mono) {
      let at = 0;
      while (at < mono.length) {
        const n = Math.min(mono.length - at, BLOCK - this.filled);
        this.block.set(mono.subarray(at, at + n), this.filled);
        this.filled += n;
        at += n;
        if (this.filled === BLOCK) {
          this.port.postMessage(this.block, [this.block.buffer]);
          this.block = new Float32Array(BLOCK);
          this.filled = 0;
        }
      }
    }
    return true; // its output stays silent; keep running while the node is connected
  }
}

registerProcessor("microphone-tap", MicrophoneTap);
