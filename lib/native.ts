// The whole native surface, typed. This is the only file that loads the .node addon; everything
// else goes through `native()`. Native errors carry a `code` and are turned into
// PersonaSteerError by `fromNative`.
import fs from 'node:fs';
import path from 'node:path';
import { ErrorCodes, PersonaSteerError, type ErrorCode } from './errors';

export interface NativeModelInfo {
  architecture: string;
  name: string;
  description: string;
  /** Loaded with `vocabOnly`: tokenizer only; the shape fields below are 0. */
  vocabOnly: boolean;
  blockCount: number;
  embeddingSize: number;
  vocabularySize: number;
  trainingContextSize: number;
  headCount: number;
  headCountKv: number;
  parameterCount: number;
  sizeBytes: number;
  hasEncoder: boolean;
  hasDecoder: boolean;
  chatTemplate: string | null;
  bosToken: number;
  eosToken: number;
  eotToken: number;
  addBos: boolean;
  /** The most bytes of text one token stands for (special tokens included); 0 without a vocabulary. */
  maxTokenBytes: number;
}

export interface NativeModel {
  info(): NativeModelInfo;
  tokenize(text: string, addSpecial: boolean, parseSpecial: boolean): Int32Array;
  /** On a libuv worker thread; maxTokens <= 0: no limit, otherwise ERR_CONTEXT_OVERFLOW beyond it (checked from the length first). */
  tokenizeAsync(text: string, addSpecial: boolean, parseSpecial: boolean, maxTokens: number): Promise<Int32Array>;
  detokenize(tokens: Int32Array, removeSpecial: boolean, unparseSpecial: boolean): string;
  tokenToPiece(token: number, special: boolean): Uint8Array;
  applyChatTemplate(messages: { role: string; content: string }[], addAssistant: boolean, template: string | null): string;
  dispose(): void;
  isDisposed(): boolean;
}

export interface NativeRows {
  block: number;
  rows: Float32Array;
  pos: Int32Array;
  seq: Int32Array;
}

export interface NativeSequence {
  seq: number;
  pos0: number;
  tokens: Int32Array;
  logits?: Uint8Array;
}

export interface NativeEvaluateRequest {
  sequences: NativeSequence[];
  /** Remove the named sequences' cells first. */
  clear: boolean;
  logits: 'none' | 'last' | 'all';
  steer?: NativePlan | null;
  monitor?: NativeMonitor | null;
  capture?: {
    rows?: Int32Array;
    reduce?: Int32Array;
    ranges?: { seq: Int32Array; p0: Int32Array; p1: Int32Array };
  };
}

export interface NativeEvaluateResult {
  logits: Float32Array;
  outputs: number;
  captures: NativeRows[];
  monitor: NativeRows[];
  /** Sums of the masked rows of this call, in double precision, per reduced block. */
  reductions: { block: number; sum: Float64Array | null; count: number }[];
  graphBuilds: number;
}

export interface NativeSampling {
  greedy: boolean;
  temperature: number;
  topK: number;
  topP: number;
  minP: number;
  repeatPenalty: number;
  repeatLastN: number;
  seed: number;
  /** GBNF grammar (root rule "root"); '' for none. */
  grammar: string;
  /** -1: no log-probabilities; else the sampled token's and the top `logprobs` tokens'. */
  logprobs: number;
}

export interface NativeGenerateRequest {
  /** Sequence id the generation runs on. */
  seq: number;
  tokens: Int32Array;
  /** Prompt tokens the sequence's cells already hold (computed under the same plan). */
  nKeep: number;
  /** Keep the cells afterwards (a Sequence). */
  retain: boolean;
  maxTokens: number;
  sampling: NativeSampling;
  stopAtEog: boolean;
  steer: NativePlan | null;
  monitor: NativeMonitor | null;
  capture?: { rows: Int32Array };
}

export interface NativeGenerateSummary {
  stopReason: 'eog' | 'max-tokens' | 'abort' | 'context-full';
  promptTokens: number;
  /** Prompt tokens reused from the sequence's cells (not evaluated). */
  cachedTokens: number;
  generatedTokens: number;
  /** Positions the sequence's cells hold at the end. */
  pastTokens: number;
  promptMs: number;
  generateMs: number;
  captures: NativeRows[];
  promptMonitor: NativeRows[];
  graphBuilds: number;
}

export interface NativeGenerateJob {
  promise: Promise<NativeGenerateSummary>;
  abort(): void;
  /** Replaces this generation's plan from its next token (null: unsteered). */
  setSteering(plan: NativePlan | null): void;
}

export interface NativePlanOp {
  kind: 'add' | 'clamp';
  blocks: Int32Array;
  vectors: Float32Array;
  scale?: number;
  min?: number;
  max?: number;
}

export interface NativePlan {
  positions: 'all' | 'prompt' | 'generated';
  ops: NativePlanOp[];
}

export interface NativeMonitor {
  nDirs: number;
  blocks: { block: number; directions: Float32Array }[];
}

export interface NativeContextStats {
  graphBuilds: number;
  configures: number;
  /** llama_decode calls made by generations (one per step, however many generations run). */
  generationDecodes: number;
  /** Every llama_decode call of the context (generations and operations such as capture). */
  decodes: number;
  evalCount: number;
  reusedGraphs: number;
}

export interface NativeContext {
  evaluate(req: NativeEvaluateRequest): Promise<NativeEvaluateResult>;
  /** onToken's `logprobs`: the token's log-probability, then (id, log-probability) pairs; null when not asked for. */
  generate(req: NativeGenerateRequest, onToken: (token: number, bytes: Uint8Array, monitor: Float32Array | null, logprobs: Float64Array | null) => void): NativeGenerateJob;
  clearSequence(seq: number): Promise<void>;
  stats(): Promise<NativeContextStats>;
  setControlVector(data: Float32Array | null, ilStart: number, ilEnd: number): Promise<void>;
  info(): { contextSize: number; batchSize: number; threads: number; sequences: number };
  /** ERR_UNSUPPORTED_ARCH naming `what` and the blocks the hook does not reach. */
  requireHooked(blocks: Int32Array, what: string): void;
  /** '' when llama.cpp parses the GBNF grammar against the model's vocabulary, else its reason. */
  checkGrammar(grammar: string): string;
  dispose(): Promise<void>;
}

export interface NativeCompiledPlan {
  blocks: { block: number; add: Float32Array; clamps: { unit: Float32Array; lo: number; hi: number }[] }[];
}

export interface NativeSlotLayout {
  nDirs: number;
  blocks: { block: number; dirs: Float32Array; slots: { slot: number; c: Float32Array; lo: Float32Array; hi: Float32Array }[] }[];
}

export interface NativeAddon {
  loadModel(path: string, options: { gpuLayers: number; useMmap: boolean; vocabOnly: boolean; checkTensors: boolean;
    rpcServers?: string[]; tensorSplit?: number[]; rpcTimeoutMs?: number },
    onProgress?: (progress: number) => void): { promise: Promise<NativeModel>; abort(): void };
  createContext(model: NativeModel, options: {
    contextSize: number; batchSize: number; threads: number; sequences: number; flashAttention: boolean;
    /** KV cache element types (llama.cpp's -ctk/-ctv names: f16, q8_0, ...). */
    typeK: string; typeV: string;
  }): Promise<NativeContext>;
  systemInfo(): {
    llamaSystemInfo: string; supportsGpuOffload: boolean; supportsMmap: boolean; devices: { name: string; description: string }[];
    dynamicBackends: boolean; addonPath: string; backendDir: string | null;
    backends: { name: string; library: string | null; variant: string | null; features: Record<string, string> }[];
  };
  compilePlan(plan: NativePlan, embeddingSize: number, blockCount: number): NativeCompiledPlan;
  layoutSlots(plans: { slot: number; plan: NativePlan }[], embeddingSize: number, blockCount: number): NativeSlotLayout;
  /** Stops and frees every context and load of this thread's environment (run at process 'exit'). */
  shutdown(): void;
  /** ggml's RPC backend (native/rpc-js.cpp). */
  rpcAvailable(): boolean;
  rpcProtocolVersion: string;
  rpcStartServer(endpoint: string, threads: number): void;
  rpcProbe(endpoint: string, timeoutMs: number): { code: string | null; message: string };
  llamaCppVersion: string;
}

/**
 * The method names of the native classes, checked against the interfaces above by the compiler
 * (every key listed, nothing else) and against the loaded addon by test/small-model/native-surface.
 */
export const NATIVE_MODEL_METHODS = ['info', 'tokenize', 'tokenizeAsync', 'detokenize', 'tokenToPiece', 'applyChatTemplate', 'dispose', 'isDisposed'] as const;
export const NATIVE_CONTEXT_METHODS = ['evaluate', 'generate', 'clearSequence', 'stats', 'setControlVector', 'info', 'dispose', 'requireHooked', 'checkGrammar'] as const;
type Exact<List extends readonly string[], I> = [Exclude<keyof I, List[number]>, Exclude<List[number], keyof I>] extends [never, never] ? true : never;
// Compile-time: a method added to an interface but not to its list (or the reverse) fails here.
export const NATIVE_SURFACE_CHECKED: [Exact<typeof NATIVE_MODEL_METHODS, NativeModel>, Exact<typeof NATIVE_CONTEXT_METHODS, NativeContext>] = [true, true];

const packageRoot = path.resolve(__dirname, '..');

/**
 * Inside an Electron app's asar archive the addon cannot be loaded (dlopen needs a real file, and
 * the libraries beside it must be real files too): packagers unpack `prebuilds/` and `build/` to
 * `app.asar.unpacked`, the same path with the archive's name changed.
 */
export function unpackedPath(p: string): string {
  return p.replace(/([\\/])app\.asar([\\/])/, '$1app.asar.unpacked$2');
}

/** Where the loader looks, in order: an explicit override, a matching prebuild, the local build. */
export function addonCandidates(root = packageRoot, env: NodeJS.ProcessEnv = process.env): string[] {
  const out: string[] = [];
  if (env.PERSONA_STEER_ADDON) out.push(path.resolve(env.PERSONA_STEER_ADDON));
  root = unpackedPath(root);
  const prebuildDir = path.join(root, 'prebuilds', `${process.platform}-${process.arch}`);
  try {
    for (const f of fs.readdirSync(prebuildDir).sort()) {
      if (f.endsWith('.napi.node') || f.endsWith('.node')) out.push(path.join(prebuildDir, f));
    }
  } catch { /* no prebuilds for this platform */ }
  out.push(path.join(root, 'build', 'Release', 'persona_steer.node'));
  return out;
}

let cached: NativeAddon | undefined;

/** Loads the first candidate that loads; otherwise ERR_NATIVE_LOAD listing every attempt. */
export function loadAddon(candidates: string[]): NativeAddon {
  const tried: string[] = [];
  for (const file of candidates) {
    if (!fs.existsSync(file)) { tried.push(`${file} (missing)`); continue; }
    try {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const addon = require(file) as NativeAddon;
      // A dynamically loaded build whose CPU libraries are missing, or none of which runs on this
      // CPU, loads but could not run a model: try the next candidate instead.
      const info = addon.systemInfo();
      if (info.dynamicBackends && !info.backends.some((b) => b.name === 'CPU')) {
        tried.push(`${file} (no CPU backend library in ${info.backendDir} loads on this CPU)`);
        continue;
      }
      return addon;
    } catch (err) {
      tried.push(`${file} (${(err as Error).message.split('\n')[0]})`);
    }
  }
  throw new PersonaSteerError(ErrorCodes.NATIVE_LOAD,
    `the persona-steer native addon could not be loaded for ${process.platform}-${process.arch} ` +
    `(Node ${process.versions.node}, N-API ${process.versions.napi}). Tried:\n  ${tried.join('\n  ')}\n` +
    'In a project that installed persona-steer, build it with `npm rebuild persona-steer` (npm may have skipped ' +
    'its install script: allow it, for example with `npm install-scripts approve persona-steer` on npm 11); in a ' +
    'checkout of persona-steer, `npm run build:native`. Both need cmake >= 3.19 and a C++17 compiler (docs/building.md). ' +
    'Or set PERSONA_STEER_ADDON to a built persona_steer.node.');
}

export function native(): NativeAddon {
  if (!cached) {
    const addon = loadAddon(addonCandidates());
    // process.exit() runs C++ static destructors at once; a context thread still inside llama.cpp
    // then crashes the process. 'exit' listeners run before that: stop those threads first.
    process.once('exit', () => addon.shutdown?.());
    cached = addon;
  }
  return cached;
}

const knownCodes = new Set<string>(Object.values(ErrorCodes));

/** Turns an error thrown or rejected by the addon into a PersonaSteerError (other errors pass through). */
export function fromNative(err: unknown): unknown {
  if (err instanceof PersonaSteerError) return err;
  const e = err as { code?: unknown; message?: unknown };
  if (e && typeof e.code === 'string' && knownCodes.has(e.code)) {
    return new PersonaSteerError(e.code as ErrorCode, String(e.message));
  }
  return err;
}

/** Runs a native call and rethrows its error as PersonaSteerError. */
export function call<T>(fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    throw fromNative(err);
  }
}

/**
 * Awaits a native promise and rethrows its rejection as PersonaSteerError. Pass a function when
 * the native call itself may throw synchronously (a context disposed between two awaits, say), so
 * that error is converted too.
 */
export async function callAsync<T>(p: Promise<T> | (() => Promise<T>)): Promise<T> {
  try {
    return await (typeof p === 'function' ? p() : p);
  } catch (err) {
    throw fromNative(err);
  }
}
