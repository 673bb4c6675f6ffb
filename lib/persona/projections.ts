// Persona-level monitoring conveniences over Context's `monitor` option: entries built from a
// PersonaVector's metadata, and the values of one (name, block) picked out of a generation.
import { invalidArg } from '../errors';
import type { GenerationResult } from '../generation-stream';
import type { MonitorEntry, Projection } from '../monitor-layout';
import type { BlockSpec } from '../steering';
import { checkKeys, checkObject, checkString } from '../validate';
import { PersonaVector } from '../vector/persona-vector';
import { resolveBlocks } from './vector-blocks';

/**
 * A monitor entry for generate({ monitor: [...] }): named after the vector's trait (else "persona"),
 * watching its recommended blocks (else every block it has). Values are h . v / |v|.
 */
export function monitorVector(vector: PersonaVector, options: { name?: string; blocks?: BlockSpec } = {}): MonitorEntry {
  if (!(vector instanceof PersonaVector)) throw invalidArg('vector', 'a PersonaVector', vector);
  const o = checkObject('options', options);
  checkKeys('options', o, ['name', 'blocks']);
  const name = o.name === undefined ? vector.metadata.trait ?? 'persona' : checkString('options.name', o.name);
  // Checked here, by this option's name (not later as options.monitor[i].blocks in generate).
  const blocks = resolveBlocks('options.blocks', vector, o.blocks);
  return { name, vector, blocks };
}

function pick(list: Projection[], name: string, block: number | undefined, what: string): number {
  const named = list.filter((p) => p.name === name);
  if (named.length === 0) throw invalidArg('name', `a monitored name in ${what} (${[...new Set(list.map((p) => p.name))].join(', ')})`, name);
  const hits = block === undefined ? named : named.filter((p) => p.block === block);
  if (hits.length === 1) return hits[0].value;
  throw invalidArg('block', `one of the blocks "${name}" watches (${named.map((h) => h.block).join(', ')})`, block);
}

/** The projection on `name` at `block` for every generated token (block optional when only one is watched). */
export function projectionTrace(result: GenerationResult, name: string, block?: number): number[] {
  checkString('name', name);
  return result.projections.map((p, i) => pick(p, name, block, `token ${i}`));
}

/** The projection at the last prompt token, which predicts the trait of the coming answer. */
export function lastPromptProjection(result: GenerationResult, name: string, block?: number): number {
  checkString('name', name);
  return pick(result.lastPromptProjections, name, block, 'the last prompt token');
}
