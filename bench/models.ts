// The models the benchmarks run on: stories260K (real, tiny: fixed costs per token dominate) and
// llama-architecture models with random weights generated into bench/.models on first use
// (costs that scale with n_embd show). Keys: 'stories260K' or 'rand-<blocks>x<embd>-<q8|f16|f32>'.
import fs from 'node:fs';
import path from 'node:path';
import { ensureRandomModel, type RandomModelSpec, type WeightType } from './make-random-model';

export const ROOT = path.resolve(__dirname, '..', '..');
export const MODELS_DIR = path.join(ROOT, 'bench', '.models');
export const SHARED_MODELS = process.env.PERSONA_STEER_MODELS ?? path.resolve(ROOT, '..', 'shared', 'models');
export const STORIES = path.join(SHARED_MODELS, 'stories260K.gguf');

/** The larger model of the main table. */
export const BIG = 'rand-16x1024-q8';

const TYPES: Record<string, WeightType> = { q8: 'q8_0', f16: 'f16', f32: 'f32' };

export function randomSpec(key: string): RandomModelSpec | null {
  const m = /^rand-(\d+)x(\d+)-(q8|f16|f32)$/.exec(key);
  if (!m) return null;
  return { blocks: Number(m[1]), embd: Number(m[2]), type: TYPES[m[3]], seed: 1 };
}

export function modelPath(key: string, log: (m: string) => void): string {
  if (key === 'stories260K') {
    if (!fs.existsSync(STORIES)) throw new Error(`stories260K.gguf not found at ${STORIES} (set PERSONA_STEER_MODELS)`);
    return STORIES;
  }
  const spec = randomSpec(key);
  if (spec) return ensureRandomModel(spec, MODELS_DIR, fs.existsSync(STORIES) ? STORIES : null, log);
  if (key.endsWith('.gguf') && fs.existsSync(key)) return path.resolve(key);
  throw new Error(`unknown model '${key}': use stories260K, rand-<blocks>x<embd>-<q8|f16|f32> or a .gguf path`);
}
