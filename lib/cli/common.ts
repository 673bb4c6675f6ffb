// What most subcommands share: loading the model and a context from common flags, loading vector
// files against the model, printing JSON and warnings.
import type { Context } from '../context';
import { Model } from '../model';
import { checkVectorFitsModel, readControlVector } from '../vector/control-vector-file';
import type { PersonaVector } from '../vector/persona-vector';
import { int, required, usageError, type FlagSpec, type Values } from './args';

export const MODEL_FLAGS: FlagSpec = {
  model: { type: 'string', short: 'm' },
  'context-size': { type: 'string' },
  threads: { type: 'string' },
  'gpu-layers': { type: 'string' },
};

export const COMMON_FLAGS: FlagSpec = {
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
};

export interface Session {
  model: Model;
  context: Context;
  close(): Promise<void>;
}

export async function openModel(values: Values, contextSize?: number, sequences = 1): Promise<Session> {
  const path = required(values, 'model', 'a model GGUF file');
  const ctxSize = int(values, 'context-size', 8, 1 << 20) ?? contextSize;
  const threads = int(values, 'threads', 0, 1024);
  const gpuLayers = int(values, 'gpu-layers', -1, 100_000);
  const model = await Model.load(path, gpuLayers === undefined ? {} : { gpuLayers });
  try {
    const context = await model.createContext({
      ...(ctxSize !== undefined ? { contextSize: ctxSize } : {}),
      ...(threads !== undefined ? { threads } : {}),
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

export function warn(message: string): void {
  process.stderr.write(`persona-steer: warning: ${message}\n`);
}

/** Reads a control-vector file and checks that it fits the model (hard mismatches throw). */
export async function loadVector(file: string, model?: Model): Promise<PersonaVector> {
  const v = await readControlVector(file);
  if (model) {
    const info = model.info;
    for (const w of checkVectorFitsModel(v, { nEmbd: info.embeddingSize, nLayer: info.blockCount, architecture: info.architecture })) warn(`${file}: ${w}`);
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

/** A --blocks value checked against the loaded model, so the error names the flag. */
export function checkModelBlocks(flag: string, blocks: number[] | 'all', model: Model): number[] | 'all' {
  if (blocks === 'all') return blocks;
  const n = model.info.blockCount;
  const outside = blocks.filter((b) => b >= n);
  if (outside.length > 0) throw usageError(`${flag}: block ${outside.join(', ')} is beyond the model's ${n} blocks (0 to ${n - 1})`);
  return blocks;
}
