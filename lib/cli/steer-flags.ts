// The steering flags shared by generate, capture, monitor and chat. One meaning per file, the same
// as the library's helpers (steerAdd, cap, steerAblate, personaPlan):
//   --add FILE[:SCALE][@BLOCKS]   the recorded coefficient at the recommended blocks; :SCALE replaces
//                                 the coefficient (raw), @BLOCKS the blocks
//   --cap FILE                    the recorded cap thresholds at the recorded cap blocks (persona-steer calibrate)
//   --clamp FILE:MIN:MAX[@BLOCKS] --ablate FILE[@BLOCKS]   at the recommended blocks unless @BLOCKS
//   --positions prompt|generated|all   the plan's positions; default: what the files record
// FILE is a control-vector GGUF; BLOCKS like 3, 2-4, 1,3,5 or all (every block the file has).
import { invalidArg } from '../errors';
import type { Model } from '../model';
import { cap, personaPlan, recommendedPositions, steerAblate, steerAdd } from '../persona/steer';
import type { SteeringPlan, SteerOp } from '../steering';
import type { PersonaVector } from '../vector/persona-vector';
import { STEER_POSITIONS, type SteerPositions } from '../vector/vector-metadata';
import { choice, list, parseBlocks, parseNumberText, usageError, type FlagSpec, type Values } from './args';
import { checkFileBlocks, loadVector } from './common';

export const STEER_FLAGS: FlagSpec = {
  add: { type: 'string', multiple: true },
  cap: { type: 'string', multiple: true },
  clamp: { type: 'string', multiple: true },
  ablate: { type: 'string', multiple: true },
};

/** --positions, for the commands whose own --positions does not mean something else (capture's does). */
export const POSITIONS_FLAG: FlagSpec = { positions: { type: 'string' } };

export interface SteerSpec {
  kind: 'add' | 'cap' | 'clamp' | 'ablate';
  file: string;
  /** add: undefined means the file's recorded coefficient. */
  scale?: number;
  min?: number;
  max?: number;
  /** undefined: the recommended (cap: recorded cap) blocks; 'all': every block of the file. */
  blocks?: number[] | 'all';
  /** How the user wrote it ("--add f.gguf:2@3", "/add f.gguf 0.5 9"): errors about it quote this. */
  label?: string;
}

/** The flag or chat command a spec came from, as the user wrote it. */
export function specLabel(s: SteerSpec): string {
  return s.label ?? `--${s.kind} ${s.file}`;
}

/** Splits "X@BLOCKS" when the part after the last @ is a block list; otherwise "X" is all file. */
function splitBlocks(flag: string, text: string): { rest: string; blocks?: number[] | 'all' } {
  const at = text.lastIndexOf('@');
  if (at < 0) return { rest: text };
  const tail = text.slice(at + 1);
  if (!/^(all|[\d,-]+)$/.test(tail)) return { rest: text };
  return { rest: text.slice(0, at), blocks: parseBlocks(`${flag} ${text} (blocks after @)`, tail) };
}

/**
 * FILE[:SCALE][@BLOCKS]: the text after the last ':' is the scale (a bad one is an error, never part
 * of the file name), except the ':' of a Windows drive (C:\\...).
 */
export function parseAdd(text: string, flag = '--add'): SteerSpec {
  const { rest, blocks } = splitBlocks(flag, text);
  const colon = rest.lastIndexOf(':');
  const drive = colon === 1 && /^[A-Za-z]:[\\/]/.test(rest);
  if (colon >= 0 && !drive) {
    const file = rest.slice(0, colon);
    if (file.length === 0) throw invalidArg(flag, 'FILE[:SCALE][@BLOCKS]', text);
    return { kind: 'add', file, scale: parseNumberText(`${flag} ${text} (the scale after :)`, rest.slice(colon + 1)), blocks, label: `${flag} ${text}` };
  }
  if (rest.length === 0) throw invalidArg(flag, 'FILE[:SCALE][@BLOCKS]', text);
  return { kind: 'add', file: rest, blocks, label: `${flag} ${text}` };
}

export function parseCap(text: string): SteerSpec {
  if (text.length === 0) throw invalidArg('--cap', 'FILE (a control-vector file with recorded cap thresholds)', text);
  return { kind: 'cap', file: text, label: `--cap ${text}` };
}

export function parseClamp(text: string): SteerSpec {
  const { rest, blocks } = splitBlocks('--clamp', text);
  const m = /^(.+):([^:]*):([^:]*)$/.exec(rest);
  if (!m) throw invalidArg('--clamp', 'FILE:MIN:MAX[@BLOCKS] (MIN or MAX may be empty)', text);
  const min = m[2] === '' ? undefined : parseNumberText(`--clamp ${text} (MIN)`, m[2]);
  const max = m[3] === '' ? undefined : parseNumberText(`--clamp ${text} (MAX)`, m[3]);
  if (min === undefined && max === undefined) throw invalidArg('--clamp', 'FILE:MIN:MAX with at least one of MIN and MAX', text);
  if (min !== undefined && max !== undefined && min > max) throw invalidArg(`--clamp ${text} (MIN)`, `a number <= MAX (${max})`, m[2]);
  return { kind: 'clamp', file: m[1], min, max, blocks, label: `--clamp ${text}` };
}

export function parseAblate(text: string): SteerSpec {
  const { rest, blocks } = splitBlocks('--ablate', text);
  if (rest.length === 0) throw invalidArg('--ablate', 'FILE[@BLOCKS]', text);
  return { kind: 'ablate', file: rest, blocks, label: `--ablate ${text}` };
}

export function steerSpecs(values: Values): SteerSpec[] {
  return [...list(values, 'add').map((t) => parseAdd(t)), ...list(values, 'cap').map(parseCap), ...list(values, 'clamp').map(parseClamp),
    ...list(values, 'ablate').map(parseAblate)];
}

/** The --positions flag (undefined: from the files). */
export function positionsFlag(values: Values): SteerPositions | undefined {
  return choice(values, 'positions', STEER_POSITIONS);
}

export type VectorCache = Map<string, PersonaVector>;

async function vectorOf(file: string, model: Model, cache: VectorCache): Promise<PersonaVector> {
  let v = cache.get(file);
  if (!v) {
    v = await loadVector(file, model);
    cache.set(file, v);
  }
  return v;
}

function blocksOf(s: SteerSpec, v: PersonaVector): number[] | 'all' | undefined {
  if (s.blocks === undefined || s.blocks === 'all') return s.blocks;
  checkFileBlocks(specLabel(s), s.file, s.blocks, v);
  return s.blocks;
}

/** One spec as library ops, with the file's recorded defaults; the error names the flag. */
export function specOps(s: SteerSpec, v: PersonaVector): SteerOp[] {
  const blocks = blocksOf(s, v);
  const opts = blocks === undefined ? {} : { blocks };
  if (s.kind === 'add') {
    if (s.scale === undefined && v.metadata.coefficient === undefined) {
      throw usageError(`${specLabel(s)}: the file records no coefficient (it was extracted without a steering sweep); give one as ${s.file}:SCALE, or record one with persona-steer sweep --out`);
    }
    return [steerAdd(v, s.scale, opts)];
  }
  if (s.kind === 'cap') {
    if (v.metadata.capThresholds === undefined) {
      throw usageError(`${specLabel(s)}: the file records no cap thresholds; record them with persona-steer calibrate --vector ${s.file}, or give one with --clamp ${s.file}::MAX`);
    }
    return cap(v);
  }
  if (s.kind === 'ablate') return [steerAblate(v, opts)];
  const bounds = { ...(s.min !== undefined ? { min: s.min } : {}), ...(s.max !== undefined ? { max: s.max } : {}) };
  return [cap(v, { ...bounds, ...opts } as { max: number })];
}

function blockText(b: readonly number[]): string {
  return b.join(',');
}

/** A spec in words, with what the file supplied filled in ("add happy.gguf:0.75@1,2,3", "cap evil.gguf@2,3"). */
function describeSpec(s: SteerSpec, ops: SteerOp[]): string {
  const blocks = [...new Set(ops.flatMap((o) => (Array.isArray(o.blocks) ? o.blocks : typeof o.blocks === 'number' ? [o.blocks] : [])))].sort((a, b) => a - b);
  if (s.kind === 'add') return `add ${s.file}:${(ops[0] as { scale: number }).scale}@${blockText(blocks)}`;
  if (s.kind === 'cap') return `cap ${s.file}@${blockText(blocks)}`;
  if (s.kind === 'ablate') return `ablate ${s.file}@${blockText(blocks)}`;
  return `clamp ${s.file}:${s.min ?? ''}:${s.max ?? ''}@${blockText(blocks)}`;
}

export interface BuiltPlan {
  /** null when there is nothing to steer with. */
  plan: SteeringPlan | null;
  positions: SteerPositions;
  /** The plan in words, one entry per flag. */
  steering: string[];
}

/** Loads each file once and turns the specs into one plan; positions: the flag, else what the files record, else 'all'. */
export async function buildPlan(specs: SteerSpec[], model: Model, positions?: SteerPositions, cache: VectorCache = new Map()): Promise<BuiltPlan> {
  const ops: SteerOp[] = [];
  const steering: string[] = [];
  const wanted = new Map<SteerPositions, string[]>();
  for (const s of specs) {
    const own = specOps(s, await vectorOf(s.file, model, cache));
    ops.push(...own);
    steering.push(describeSpec(s, own));
    const p = recommendedPositions(own[0]);
    if (p !== undefined) wanted.set(p, [...(wanted.get(p) ?? []), specLabel(s)]);
  }
  if (positions === undefined && wanted.size > 1) {
    throw usageError(`the files recommend different positions (${[...wanted].map(([p, who]) => `${p}: ${who.join(', ')}`).join('; ')}); choose one with --positions`);
  }
  const plan = personaPlan(ops, positions === undefined ? {} : { positions });
  const resolved = plan.positions ?? 'all';
  return { plan: ops.length > 0 ? { ops, positions: resolved } : null, positions: resolved, steering };
}
