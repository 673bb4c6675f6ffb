// The steering flags shared by generate, capture, monitor and chat:
//   --add FILE[:SCALE][@BLOCKS]   --clamp FILE:MIN:MAX[@BLOCKS]   --ablate FILE[@BLOCKS]
// FILE is a control-vector GGUF; MIN or MAX may be empty (one-sided); BLOCKS like 3, 2-4, 1,3,5 or
// all; without @BLOCKS every block the file has.
import { invalidArg } from '../errors';
import type { Model } from '../model';
import type { SteerOp } from '../steering';
import type { PersonaVector } from '../vector/persona-vector';
import { list, parseBlocks, parseNumberText, usageError, type FlagSpec, type Values } from './args';
import { loadVector } from './common';

export const STEER_FLAGS: FlagSpec = {
  add: { type: 'string', multiple: true },
  clamp: { type: 'string', multiple: true },
  ablate: { type: 'string', multiple: true },
};

export interface SteerSpec {
  kind: 'add' | 'clamp' | 'ablate';
  file: string;
  scale?: number;
  min?: number;
  max?: number;
  blocks?: number[] | 'all';
}

/** Splits "X@BLOCKS" when the part after the last @ is a block list; otherwise "X" is all file. */
function splitBlocks(flag: string, text: string): { rest: string; blocks?: number[] | 'all' } {
  const at = text.lastIndexOf('@');
  if (at < 0) return { rest: text };
  const tail = text.slice(at + 1);
  if (!/^(all|[\d,-]+)$/.test(tail)) return { rest: text };
  return { rest: text.slice(0, at), blocks: parseBlocks(`${flag} ${text} (blocks after @)`, tail) };
}

export function parseAdd(text: string): SteerSpec {
  const { rest, blocks } = splitBlocks('--add', text);
  const m = /^(.+):([^:]*)$/.exec(rest);
  if (m && /^[-+.\d]/.test(m[2])) {
    return { kind: 'add', file: m[1], scale: parseNumberText(`--add ${text} (the scale after :)`, m[2]), blocks };
  }
  if (rest.length === 0) throw invalidArg('--add', 'FILE[:SCALE][@BLOCKS]', text);
  return { kind: 'add', file: rest, scale: 1, blocks };
}

export function parseClamp(text: string): SteerSpec {
  const { rest, blocks } = splitBlocks('--clamp', text);
  const m = /^(.+):([^:]*):([^:]*)$/.exec(rest);
  if (!m) throw invalidArg('--clamp', 'FILE:MIN:MAX[@BLOCKS] (MIN or MAX may be empty)', text);
  const min = m[2] === '' ? undefined : parseNumberText(`--clamp ${text} (MIN)`, m[2]);
  const max = m[3] === '' ? undefined : parseNumberText(`--clamp ${text} (MAX)`, m[3]);
  if (min === undefined && max === undefined) throw invalidArg('--clamp', 'FILE:MIN:MAX with at least one of MIN and MAX', text);
  if (min !== undefined && max !== undefined && min > max) throw invalidArg(`--clamp ${text} (MIN)`, `a number <= MAX (${max})`, m[2]);
  return { kind: 'clamp', file: m[1], min, max, blocks };
}

export function parseAblate(text: string): SteerSpec {
  const { rest, blocks } = splitBlocks('--ablate', text);
  if (rest.length === 0) throw invalidArg('--ablate', 'FILE[@BLOCKS]', text);
  return { kind: 'ablate', file: rest, blocks };
}

export function steerSpecs(values: Values): SteerSpec[] {
  return [...list(values, 'add').map(parseAdd), ...list(values, 'clamp').map(parseClamp), ...list(values, 'ablate').map(parseAblate)];
}

/** Loads each file once and turns the specs into steering ops. */
export async function buildOps(specs: SteerSpec[], model: Model, cache = new Map<string, PersonaVector>()): Promise<SteerOp[]> {
  const ops: SteerOp[] = [];
  for (const s of specs) {
    let v = cache.get(s.file);
    if (!v) {
      v = await loadVector(s.file, model);
      cache.set(s.file, v);
    }
    const vec = v;
    let blocks: number[] | undefined;
    if (s.blocks === 'all' || s.blocks === undefined) blocks = [...vec.blocks];
    else {
      const missing = s.blocks.filter((b) => !vec.has(b));
      if (missing.length > 0) throw usageError(`--${s.kind} ${s.file}@${s.blocks.join(',')}: block ${missing.join(', ')} is not in the file (it has ${vec.blocks.join(', ')})`);
      blocks = s.blocks;
    }
    if (s.kind === 'add') ops.push({ kind: 'add', vector: vec, scale: s.scale ?? 1, blocks });
    else if (s.kind === 'ablate') ops.push({ kind: 'ablate', direction: vec, blocks });
    else {
      const op: SteerOp = { kind: 'clamp', direction: vec, blocks };
      if (s.min !== undefined) op.min = s.min;
      if (s.max !== undefined) op.max = s.max;
      ops.push(op);
    }
  }
  return ops;
}

/** The plan in words, for humans and JSON output. */
export function describeSpecs(specs: SteerSpec[]): string[] {
  return specs.map((s) => {
    const at = s.blocks === undefined ? '' : `@${s.blocks === 'all' ? 'all' : s.blocks.join(',')}`;
    if (s.kind === 'add') return `add ${s.file}:${s.scale}${at}`;
    if (s.kind === 'ablate') return `ablate ${s.file}${at}`;
    return `clamp ${s.file}:${s.min ?? ''}:${s.max ?? ''}${at}`;
  });
}
