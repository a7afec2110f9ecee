// The globals of an AudioWorklet's scope (TypeScript ships no lib for it), as far as
// microphone-worklet.js uses them; checked by tsconfig.worklet.json.
declare class AudioWorkletProcessor {
  readonly port: MessagePort;
  constructor(options?: unknown);
}
declare function registerProcessor(name: string, processor: new (options?: unknown) => AudioWorkletProcessor): void;
declare const sampleRate: number;
declare const currentTime: number;
