// What most subcommands share: loading the model and a context from common flags, loading vector
// files against the model, printing JSON and warnings.
import fs from 'node:fs';
import { KV_CACHE_TYPES, type Context, type ContextOptions } from '../context';
import { ErrorCodes, PersonaSteerError, invalidArg } from '../errors';
import { Model, type LoadOptions } from '../model';
import { modelFileHash } from '../persona/model-hash';
import { checkEndpoint } from '../rpc';
import { checkVectorFitsModel, readControlVector } from '../vector/control-vector-file';
import type { PersonaVector } from '../vector/persona-vector';
import { bool, choice, int, required, str, usageError, type FlagSpec, type Values } from './args';

export const MODEL_FLAGS: FlagSpec = {
  model: { type: 'string', short: 'm' },
  'context-size': { type: 'string' },
  threads: { type: 'string' },
  'gpu-layers': { type: 'string' },
  rpc: { type: 'string' },
  'tensor-split': { type: 'string' },
  'batch-size': { type: 'string' },
  'flash-attn': { type: 'boolean' },
  'cache-type-k': { type: 'string' },
  'cache-type-v': { type: 'string' },
  'chat-template': { type: 'string' },
  'chat-template-file': { type: 'string' },
  jinja: { type: 'boolean' },
};

/** Help text for MODEL_FLAGS (less --model, which each command lists itself). */
export const MODEL_USAGE = `  --context-size N          tokens the context holds (default min(2048, the model's training context);
                            more than the training context works but warns, as llama.cpp does)
  --threads N               CPU threads, 1 or more (default: all cores)
  --gpu-layers N            blocks offloaded to the GPU (default all, with a GPU backend)
  --rpc HOST:PORT[,...]     rpc-servers that take the offloaded blocks (docs/distributed.md)
  --tensor-split A,B,...    proportions of the offloaded blocks per device, RPC servers first
  --batch-size N            tokens per llama_decode (default 512)
  --flash-attn              flash attention
  --cache-type-k T, -ctk T  KV cache types: ${KV_CACHE_TYPES.join(', ')} (default f16;
  --cache-type-v T, -ctv T  a quantized V cache needs --flash-attn)
  --chat-template NAME|JINJA   chat template instead of the model's: a llama.cpp built-in name (chatml, llama3, ...)
  --chat-template-file FILE    or a Jinja template, given inline or in a file
  --jinja                   render the model's own template with Jinja instead of llama.cpp's built-in renderers
`;

export const COMMON_FLAGS: FlagSpec = {
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
};

export interface Session {
  model: Model;
  context: Context;
  close(): Promise<void>;
}

/** The model and context flags as Model.load and createContext options (checked before anything loads). */
export function modelOptions(values: Values): { path: string; load: LoadOptions; context: ContextOptions } {
  const path = required(values, 'model', 'a model GGUF file');
  const load: LoadOptions = {};
  const context: ContextOptions = {};
  const gpuLayers = int(values, 'gpu-layers', -1, 100_000);
  if (gpuLayers !== undefined) load.gpuLayers = gpuLayers;
  Object.assign(load, rpcFlags(values));
  const inline = str(values, 'chat-template');
  const file = str(values, 'chat-template-file');
  if (inline !== undefined && file !== undefined) throw usageError('give one of --chat-template and --chat-template-file');
  if (file !== undefined) load.chatTemplate = readFlagFile('--chat-template-file', file);
  else if (inline !== undefined) load.chatTemplate = inline;
  if (bool(values, 'jinja')) load.jinja = true;
  const ctxSize = int(values, 'context-size', 8, 1 << 20);
  if (ctxSize !== undefined) context.contextSize = ctxSize;
  // 0 would mean "all cores" to llama.cpp: say it by leaving the flag out, not by a silent 0.
  if (values.threads === '0') throw invalidArg('--threads', 'an integer in [1, 1024] (leave --threads out for all cores)', '0');
  const threads = int(values, 'threads', 1, 1024);
  if (threads !== undefined) context.threads = threads;
  const batch = int(values, 'batch-size', 1, 1 << 20);
  if (batch !== undefined) context.batchSize = batch;
  if (bool(values, 'flash-attn')) context.flashAttention = true;
  const k = choice(values, 'cache-type-k', KV_CACHE_TYPES);
  const v = choice(values, 'cache-type-v', KV_CACHE_TYPES);
  if (v !== undefined && !['f32', 'f16', 'bf16'].includes(v) && !context.flashAttention) {
    throw usageError(`--cache-type-v ${v}: a quantized V cache needs --flash-attn (as in llama.cpp)`);
  }
  if (k !== undefined || v !== undefined) context.kvCacheType = { ...(k ? { k } : {}), ...(v ? { v } : {}) };
  return { path, load, context };
}

/** A file a flag names, read as text; '-' is standard input. */
export function readFlagFile(flag: string, file: string): string {
  try {
    return fs.readFileSync(file === '-' ? 0 : file, 'utf8');
  } catch (e) {
    throw new PersonaSteerError(ErrorCodes.BAD_FILE, `${flag} ${file}: cannot read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
}

export async function openModel(values: Values, contextSize?: number, sequences = 1): Promise<Session> {
  const o = modelOptions(values);
  const model = await Model.load(o.path, o.load);
  try {
    const train = model.info.trainingContextSize;
    const ctxSize = o.context.contextSize ?? contextSize;
    if (o.context.contextSize !== undefined && train > 0 && o.context.contextSize > train) {
      warn(`--context-size ${o.context.contextSize} is beyond the model's training context (${train} tokens): positions past it may give poor text, as llama.cpp warns`);
    }
    const context = await model.createContext({
      ...o.context,
      ...(ctxSize !== undefined ? { contextSize: ctxSize } : {}),
      ...(sequences > 1 ? { sequences } : {}),
    });
    return {
      model,
      context,
      async close() {
        await context.dispose();
        model.dispose();
      },
    };
  } catch (e) {
    model.dispose();
    throw e;
  }
}

/** --rpc HOST:PORT[,HOST:PORT...] and --tensor-split A,B,...: Model.load's rpcServers and tensorSplit. */
export function rpcFlags(values: Values): { rpcServers?: string[]; tensorSplit?: number[] } {
  const out: { rpcServers?: string[]; tensorSplit?: number[] } = {};
  if (typeof values.rpc === 'string') out.rpcServers = values.rpc.split(',').map((s, i) => checkEndpoint(`--rpc (entry ${i + 1})`, s.trim()));
  if (typeof values['tensor-split'] === 'string') {
    out.tensorSplit = values['tensor-split'].split(',').map((s) => {
      const x = Number(s.trim());
      if (s.trim() === '' || !Number.isFinite(x) || x < 0) throw usageError(`--tensor-split: expected comma-separated non-negative numbers, received ${JSON.stringify(values['tensor-split'])}`);
      return x;
    });
  }
  return out;
}

export function warn(message: string): void {
  process.stderr.write(`persona-steer: warning: ${message}\n`);
}

/** Something worth knowing that is not a problem for this run. */
export function note(message: string): void {
  process.stderr.write(`persona-steer: note: ${message}\n`);
}

/** Why a file with block 0 does not travel to llama.cpp's own control-vector path. */
export function blockZeroNote(file: string, blockCount?: number): string {
  return `${file} holds block 0 (direction.0): llama.cpp's own control-vector loader (--control-vector) refuses a file with ` +
    'direction.0, and setLlamaControlVector cannot apply block 0 (llama.cpp\'s control vectors start at block 1); persona-steer steers ' +
    `block 0 as any other. For a file llama.cpp loads, extract with --blocks ${blockCount !== undefined ? `1-${blockCount - 1}` : '1-N'}`;
}

const hashes = new WeakMap<Model, Promise<string | undefined>>();

/** The model file's hash as extraction records it (persona/model-hash.ts), computed once per model. */
function modelHash(model: Model): Promise<string | undefined> {
  let h = hashes.get(model);
  if (!h) {
    h = modelFileHash(model.info.path).catch(() => undefined);
    hashes.set(model, h);
  }
  return h;
}

/**
 * Reads a control-vector file and checks that it fits the model: hard mismatches throw; softer
 * ones (architecture hint, source model's depth, a different source model file) are warnings.
 */
export async function loadVector(file: string, model?: Model): Promise<PersonaVector> {
  const v = await readControlVector(file);
  if (model) {
    const hash = v.metadata.source?.hash !== undefined ? await modelHash(model) : undefined;
    for (const w of checkVectorFitsModel(v, { ...model.info, ...(hash ? { hash } : {}) })) warn(`${file}: ${w}`);
  }
  return v;
}

/** JSON numbers: non-finite values become null; float32 values keep 9 significant digits (exact round trip). */
export function jsonNumber(x: number): number | null {
  return Number.isFinite(x) ? x : null;
}

export function f32(x: number): number {
  return Number(x.toPrecision(9));
}

export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, (_k, v) => (typeof v === 'number' && !Number.isFinite(v) ? null : v))}\n`);
}

/** Blocks written after FILE@ must be blocks of the file; the error names the flag as the user wrote it. */
export function checkFileBlocks(label: string, file: string, blocks: readonly number[], vector: PersonaVector): void {
  const missing = blocks.filter((b) => !vector.has(b));
  if (missing.length > 0) throw usageError(`${label}: block ${missing.join(', ')} is not in ${file} (it has ${vector.blocks.join(', ')})`);
}

/** A --blocks value checked against the loaded model, so the error names the flag. */
export function checkModelBlocks(flag: string, blocks: number[] | 'all', model: Model): number[] | 'all' {
  if (blocks === 'all') return blocks;
  const n = model.info.blockCount;
  const outside = blocks.filter((b) => b >= n);
  if (outside.length > 0) throw usageError(`${flag}: block ${outside.join(', ')} is beyond the model's ${n} blocks (0 to ${n - 1})`);
  return blocks;
}
