// Monitoring: which projections to read back while decoding, and how to label what comes back.
// The addon reads, per monitored block, the projections of h on nDirs unit directions; here each
// named entry owns one direction slot, and blocks an entry does not watch get a placeholder that
// is never reported.
import { invalidArg } from './errors';
import type { NativeMonitor } from './native';
import { checkKeys, checkObject, checkString } from './validate';
import { readVectorInput, type BlockSpec, type VectorInput } from './vector-input';

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

export const MAX_MONITOR_ENTRIES = 4096;

export function buildMonitor(entries: unknown, embeddingSize: number, blockCount: number, name = 'options.monitor'): MonitorLayout | null {
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
    // Values are h . v / |v|: every vector must be a direction.
    const { blocks, values } = readVectorInput(o.vector, o.blocks, { embeddingSize, blockCount },
      { vector: `${name}[${i}].vector`, blocks: `${name}[${i}].blocks` }, true);
    const dirs = new Map(blocks.map((b, k) => [b, values[k]!]));
    return { name: label, dirs };
  });
  const allBlocks = [...new Set(parsed.flatMap((p) => [...p.dirs.keys()]))].sort((a, b) => a - b);
  const nDirs = parsed.length;
  const placeholder = new Float32Array(embeddingSize);
  placeholder[0] = 1;
  const slots: MonitorLayout['slots'] = [];
  const nativeBlocks = allBlocks.map((block, bi) => {
    const directions = new Float32Array(nDirs * embeddingSize);
    parsed.forEach((p, di) => {
      const d = p.dirs.get(block);
      directions.set(d ?? placeholder, di * embeddingSize);
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
