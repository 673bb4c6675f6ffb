// Does a vector fit a loaded model? Width and depth must match (else steering would write out of
// bounds or into the wrong place); the architecture hint only warns, as llama.cpp ignores it too.

import { ErrorCodes, PersonaSteerError, invalidArg } from '../errors';
import { PersonaVector } from './persona-vector';

/**
 * A model's shape, in llama.cpp's terms ({ nEmbd, nLayer }) or as `model.info` gives it
 * ({ embeddingSize, blockCount }): `checkVectorFitsModel(v, model.info)` works as it is.
 */
export type ModelShape = ({ readonly nEmbd: number; readonly nLayer: number } | { readonly embeddingSize: number; readonly blockCount: number }) & {
  /** The model's general.architecture; omitted: no architecture check. */
  readonly architecture?: string;
  /** The model file's hash (modelFileHash); omitted: no source-model check. */
  readonly hash?: string;
};

/**
 * Throws ERR_MODEL_MISMATCH when the vector's nEmbd differs from the model's or one of its blocks
 * is ≥ nLayer. Returns warnings (possibly none) for softer mismatches: the architecture hint or
 * the recorded source model's shape.
 */
export function checkVectorFitsModel(vector: PersonaVector, model: ModelShape): string[] {
  if (!(vector instanceof PersonaVector)) throw invalidArg('vector', 'a PersonaVector', vector);
  if (typeof model !== 'object' || model === null) {
    throw invalidArg('model', 'an object { nEmbd, nLayer, architecture?, hash? } or model.info ({ embeddingSize, blockCount, ... })', model);
  }
  const m = model as Record<string, unknown>;
  const infoTerms = m.nEmbd === undefined && m.nLayer === undefined;
  const [embdKey, layerKey] = infoTerms ? ['embeddingSize', 'blockCount'] : ['nEmbd', 'nLayer'];
  const nEmbd = m[embdKey] as number;
  const nLayer = m[layerKey] as number;
  const { architecture, hash } = model;
  if (!Number.isSafeInteger(nEmbd) || nEmbd < 1) throw invalidArg(`model.${embdKey}`, 'a positive integer', nEmbd);
  if (!Number.isSafeInteger(nLayer) || nLayer < 1) throw invalidArg(`model.${layerKey}`, 'a positive integer', nLayer);
  if (architecture !== undefined && typeof architecture !== 'string') {
    throw invalidArg('model.architecture', 'a string or undefined', architecture);
  }
  if (hash !== undefined && typeof hash !== 'string') throw invalidArg('model.hash', 'a string or undefined', hash);
  if (vector.nEmbd !== nEmbd) {
    throw new PersonaSteerError(ErrorCodes.MODEL_MISMATCH,
      `the vector has n_embd ${vector.nEmbd} but the model has n_embd ${nEmbd}`);
  }
  const outside = vector.blocks.filter((b) => b >= nLayer);
  if (outside.length > 0) {
    throw new PersonaSteerError(ErrorCodes.MODEL_MISMATCH,
      `the vector has block${outside.length > 1 ? 's' : ''} ${outside.join(', ')} but the model has only ${nLayer} blocks (0 to ${nLayer - 1})`);
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
  if (md.source?.nLayer !== undefined && md.source.nLayer !== nLayer) {
    warnings.push(`the vector was extracted from a model with ${md.source.nLayer} blocks; this one has ${nLayer}`);
  }
  if (hash !== undefined && md.source?.hash !== undefined && md.source.hash !== hash) {
    warnings.push(`the vector was extracted from another model file (recorded hash ${md.source.hash}, this model's ${hash}): ` +
      'the same shape, different weights, so its direction, coefficient and thresholds may not carry over');
  }
  return warnings;
}
