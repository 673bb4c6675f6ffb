// Does a vector fit a loaded model? Width and depth must match (else steering would write out of
// bounds or into the wrong place); the architecture hint only warns, as llama.cpp ignores it too.

import { ErrorCodes, PersonaSteerError, invalidArg } from '../errors';
import { PersonaVector } from './persona-vector';

/**
 * A model's shape as `model.info` gives it: `checkVectorFitsModel(v, model.info)` works as it is.
 */
export interface ModelShape {
  /** Values per block (llama.cpp's n_embd). */
  readonly embeddingSize: number;
  /** Decoder blocks (llama.cpp's n_layer). */
  readonly blockCount: number;
  /** The model's general.architecture; omitted: no architecture check. */
  readonly architecture?: string;
  /** The model file's hash (modelFileHash); omitted: no source-model check. */
  readonly hash?: string;
}

/** Keys of earlier versions, refused with their new name. */
const RENAMED: Readonly<Record<string, string>> = { nEmbd: 'embeddingSize', nLayer: 'blockCount' };

/** Throws ERR_MODEL_MISMATCH unless the vector's embedding size is the model's. */
export function checkEmbeddingSize(vector: PersonaVector, embeddingSize: number): void {
  if (vector.embeddingSize !== embeddingSize) {
    throw new PersonaSteerError(ErrorCodes.MODEL_MISMATCH,
      `the vector has embedding size ${vector.embeddingSize} but the model has embedding size ${embeddingSize}`);
  }
}

/**
 * Throws ERR_MODEL_MISMATCH when the vector's embedding size differs from the model's or one of
 * its blocks is ≥ blockCount. Returns warnings (possibly none) for softer mismatches: the
 * architecture hint or the recorded source model's shape.
 */
export function checkVectorFitsModel(vector: PersonaVector, model: ModelShape): string[] {
  if (!(vector instanceof PersonaVector)) throw invalidArg('vector', 'a PersonaVector', vector);
  if (typeof model !== 'object' || model === null) {
    throw invalidArg('model', 'model.info, or an object { embeddingSize, blockCount, architecture?, hash? }', model);
  }
  const m = model as unknown as Record<string, unknown>;
  for (const [old, now] of Object.entries(RENAMED)) {
    if (m[old] !== undefined && m[now] === undefined) throw invalidArg(`model.${old}`, `absent (renamed ${now}, as model.info names it)`, m[old]);
  }
  const { embeddingSize, blockCount, architecture, hash } = model;
  if (!Number.isSafeInteger(embeddingSize) || embeddingSize < 1) throw invalidArg('model.embeddingSize', 'a positive integer', embeddingSize);
  if (!Number.isSafeInteger(blockCount) || blockCount < 1) throw invalidArg('model.blockCount', 'a positive integer', blockCount);
  if (architecture !== undefined && typeof architecture !== 'string') {
    throw invalidArg('model.architecture', 'a string or undefined', architecture);
  }
  if (hash !== undefined && typeof hash !== 'string') throw invalidArg('model.hash', 'a string or undefined', hash);
  checkEmbeddingSize(vector, embeddingSize);
  const outside = vector.blocks.filter((b) => b >= blockCount);
  if (outside.length > 0) {
    throw new PersonaSteerError(ErrorCodes.MODEL_MISMATCH,
      `the vector has block${outside.length > 1 ? 's' : ''} ${outside.join(', ')} but the model has only ${blockCount} blocks (0 to ${blockCount - 1})`);
  }
  const warnings: string[] = [];
  const md = vector.metadata;
  if (architecture !== undefined) {
    const want = architecture.toLowerCase();
    if (md.modelHint !== undefined && md.modelHint.toLowerCase() !== want) {
      warnings.push(`the vector's model hint is "${md.modelHint}" but the model's architecture is "${architecture}"`);
    }
    const src = md.source?.architecture;
    if (src !== undefined && src.toLowerCase() !== want && src !== md.modelHint) {
      warnings.push(`the vector was extracted from a "${src}" model but this model's architecture is "${architecture}"`);
    }
  }
  if (md.source?.blockCount !== undefined && md.source.blockCount !== blockCount) {
    warnings.push(`the vector was extracted from a model with ${md.source.blockCount} blocks; this one has ${blockCount}`);
  }
  if (hash !== undefined && md.source?.hash !== undefined && md.source.hash !== hash) {
    warnings.push(`the vector was extracted from another model file (recorded hash ${md.source.hash}, this model's ${hash}): ` +
      'the same shape, different weights, so its direction, coefficient and thresholds may not carry over');
  }
  return warnings;
}
