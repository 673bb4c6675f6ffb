// Monitoring: which projections to read back while decoding, and how to label what comes back.
// The addon reads, per monitored block, the projections of h on nDirs unit directions; here each
// named entry owns one direction slot, and blocks an entry does not watch get a placeholder that
// is never reported.
import { invalidArg } from './errors';
import type { NativeMonitor } from './native';
import { checkBlocks, checkFiniteArray, checkKeys, checkObject, checkString } from './validate';
import type { BlockSpec, VectorInput, BlockVectors } from './steering';

export interface MonitorEntry {
  /** Label reported with each value. */
  name: string;
  /** Direction(s) to project on; normalised, so values are h . v / |v|. */
  vector: VectorInput;
  /** Blocks to watch (default: every block the vector has). */
  blocks?: BlockSpec;
}

export interface Projection {
  name: string;
  block: number;
  value: number;
}

export interface MonitorLayout {
  native: NativeMonitor;
  /** For each reported value: where it sits in a native row [block slot][direction slot]. */
  slots: { name: string; block: number; offset: number }[];
  blocks: number[];
}

function perBlock(v: VectorInput, block: number): ArrayLike<number> | undefined {
  if (v instanceof Float32Array || Array.isArray(v)) return v;
  const bv = v as BlockVectors;
  if (Array.isArray(bv.blocks) && typeof bv.block === 'function') return bv.blocks.includes(block) ? bv.block(block) : undefined;
  if (v instanceof Map) return v.get(block);
  return (v as Record<number, ArrayLike<number>>)[block];
}

function ownBlocks(v: VectorInput): number[] | null {
  if (v instanceof Float32Array || Array.isArray(v)) return null;
  const bv = v as BlockVectors;
  if (Array.isArray(bv.blocks) && typeof bv.block === 'function') return [...bv.blocks];
  if (v instanceof Map) return [...v.keys()];
  return Object.keys(v).map(Number);
}

export const MAX_MONITOR_ENTRIES = 4096;

export function buildMonitor(entries: unknown, nEmbd: number, nLayer: number, name = 'options.monitor'): MonitorLayout | null {
  if (entries === undefined) return null;
  if (!Array.isArray(entries) || entries.length === 0) throw invalidArg(name, 'a non-empty array of { name, vector, blocks? }', entries);
  // The addon reads at most this many directions per block.
  if (entries.length > MAX_MONITOR_ENTRIES) throw invalidArg(name, `an array of at most ${MAX_MONITOR_ENTRIES} entries`, `${entries.length} entries`);
  const names = new Set<string>();
  const parsed = entries.map((e, i) => {
    const o = checkObject(`${name}[${i}]`, e, false);
    checkKeys(`${name}[${i}]`, o, ['name', 'vector', 'blocks']);
    const label = checkString(`${name}[${i}].name`, o.name);
    if (names.has(label)) throw invalidArg(`${name}[${i}].name`, 'a name not used by another entry', label);
    names.add(label);
    const vec = o.vector as VectorInput;
    if (typeof vec !== 'object' || vec === null) throw invalidArg(`${name}[${i}].vector`, 'a PersonaVector, a Map of block vectors or a Float32Array', vec);
    const own = ownBlocks(vec);
    if (o.blocks === undefined && own === null) throw invalidArg(`${name}[${i}].blocks`, 'block indices (required with a plain array vector)', undefined);
    const blocks = checkBlocks(`${name}[${i}].blocks`, o.blocks ?? own, nLayer);
    const dirs = new Map<number, Float32Array>();
    for (const b of blocks) {
      const v = perBlock(vec, b);
      if (v === undefined) throw invalidArg(`${name}[${i}].blocks`, `blocks the vector has (${own?.join(', ')})`, b);
      const arr = checkFiniteArray(`${name}[${i}].vector@${b}`, v, nEmbd);
      if (arr.every((x) => x === 0)) throw invalidArg(`${name}[${i}].vector@${b}`, 'a direction with non-zero length', 'a zero vector');
      dirs.set(b, arr);
    }
    return { name: label, dirs };
  });
  const allBlocks = [...new Set(parsed.flatMap((p) => [...p.dirs.keys()]))].sort((a, b) => a - b);
  const nDirs = parsed.length;
  const placeholder = new Float32Array(nEmbd);
  placeholder[0] = 1;
  const slots: MonitorLayout['slots'] = [];
  const nativeBlocks = allBlocks.map((block, bi) => {
    const directions = new Float32Array(nDirs * nEmbd);
    parsed.forEach((p, di) => {
      const d = p.dirs.get(block);
      directions.set(d ?? placeholder, di * nEmbd);
      if (d) slots.push({ name: p.name, block, offset: bi * nDirs + di });
    });
    return { block, directions };
  });
  return { native: { nDirs, blocks: nativeBlocks }, slots, blocks: allBlocks };
}

export function readProjections(layout: MonitorLayout, row: Float32Array | null): Projection[] {
  if (!row) return [];
  return layout.slots.map((s) => ({ name: s.name, block: s.block, value: row[s.offset] }));
}
