// The recipe's defaults in one place: where a vector was read, where it acts, which blocks a cap
// touches and which settings a sweep tries (docs/persona.md explains each with measurements).
import { invalidArg } from '../errors';
import { PersonaVector } from '../vector/persona-vector';
import type { SteerPositions } from '../vector/vector-metadata';
import { norm } from './extraction-math';

export type ExtractionPositions = 'response' | 'last-prompt';

/** Coefficients a sweep tries by default (raw units: 1 moves a negative sample's mean onto a positive one's). */
export const DEFAULT_SWEEP_COEFFICIENTS: readonly number[] = Object.freeze([0.25, 0.5, 1, 2, 4]);

/** Questions a sweep answers by default, at most (the first of the spec's evaluation, else extraction, questions). */
export const DEFAULT_SWEEP_QUESTIONS = 12;

/** The tokens a vector was averaged over, read from its method ("mean-diff/last-prompt"); undefined when unknown. */
export function extractionPositions(vector: PersonaVector): ExtractionPositions | undefined {
  const m = vector.metadata.method;
  if (m === undefined) return undefined;
  return m.endsWith('/last-prompt') ? 'last-prompt' : m === 'mean-diff' || m === 'pca' ? 'response' : undefined;
}

/**
 * Where a vector acts when nothing says otherwise: the prompt's positions for a vector read at the
 * last prompt token (that is where it was measured, and the answer follows what the prompt
 * settled), every position for a response-token vector (as Persona Vectors steers).
 */
export function defaultPositions(vector: PersonaVector): SteerPositions {
  return extractionPositions(vector) === 'last-prompt' ? 'prompt' : 'all';
}

/**
 * The blocks where the vector separates the poles: |v_b| at least `fraction` (default 0.5) of its
 * largest block norm. A block where the poles barely differ (the toy model's block 0 at the last
 * prompt token: a gap of a few units against 40 later) would put a cap threshold inside both
 * poles' spread.
 */
export function separatingBlocks(vector: PersonaVector, fraction = 0.5): number[] {
  if (!(vector instanceof PersonaVector)) throw invalidArg('vector', 'a PersonaVector', vector);
  if (typeof fraction !== 'number' || !(fraction >= 0 && fraction <= 1)) throw invalidArg('fraction', 'a number in [0, 1]', fraction);
  const norms = vector.blocks.map((b) => norm(vector.block(b)));
  const top = Math.max(...norms);
  return vector.blocks.filter((_, i) => norms[i]! >= fraction * top);
}

/**
 * Block sets a sweep tries by default, each a single block: every block of the vector when it has
 * at most 8, else 5 blocks evenly spaced over the middle half of the model's depth (where steering
 * papers find additions work), each moved to the nearest block the vector has.
 */
export function defaultSweepBlocks(vector: PersonaVector, blockCount: number): number[][] {
  const have = vector.blocks.filter((b) => b < blockCount);
  if (have.length <= 8) return have.map((b) => [b]);
  const picks = new Set<number>();
  for (let i = 0; i < 5; i++) {
    const target = blockCount / 4 + (i * (blockCount / 2)) / 4;
    let best = have[0]!;
    for (const b of have) if (Math.abs(b - target) < Math.abs(best - target)) best = b;
    picks.add(best);
  }
  return [...picks].sort((a, b) => a - b).map((b) => [b]);
}
