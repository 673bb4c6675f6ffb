// A request's "steering", "steering_positions" and "monitor" fields, turned into the library's
// SteeringPlan and MonitorEntry[] with the persona helpers (steerAdd, cap, steerAblate,
// monitorVector), so a missing scale, blocks or bound takes the vector file's recorded
// coefficient, recommended blocks and cap thresholds exactly as the library does.
//
// The route schemas already reject wrong types and unknown fields; these checks repeat them so
// the same code validates a --default-steering file, and they add what a schema cannot know
// (which vectors exist, what each records).
import { ErrorCodes, PersonaSteerError } from '../errors';
import type { MonitorEntry } from '../monitor-layout';
import { monitorVector } from '../persona/projections';
import { cap, personaPlan, steerAblate, steerAdd } from '../persona/steer';
import type { BlockSpec, Positions, SteerOp, SteeringPlan } from '../steering';
import { capThresholdBlocks } from '../vector/vector-metadata';
import { ApiError, badRequest } from './errors';
import type { VectorRegistry } from './registry';

export type WireBlocks = number | number[] | 'all';

export interface WireAddOp { op: 'add'; vector: string; scale?: number; blocks?: WireBlocks; relative?: boolean }
export interface WireCapOp { op: 'cap'; vector: string; max?: number; min?: number; blocks?: WireBlocks }
export interface WireAblateOp { op: 'ablate'; vector: string; blocks?: WireBlocks }
export type WireOp = WireAddOp | WireCapOp | WireAblateOp;
export interface WireMonitor { vector: string; blocks?: WireBlocks }

/** What a request (or the server default) says about steering. */
export interface SteeringFields {
  steering?: WireOp[] | false;
  steering_positions?: Positions;
  monitor?: WireMonitor[] | false;
}

export interface ResolvedSteering {
  /** null: unsteered. */
  plan: SteeringPlan | null;
  /** undefined: nothing monitored. */
  monitor: MonitorEntry[] | undefined;
  /** The vector names the plan uses (for the default monitor). */
  steered: string[];
}

const OP_KEYS: Record<WireOp['op'], readonly string[]> = {
  add: ['op', 'vector', 'scale', 'blocks', 'relative'],
  cap: ['op', 'vector', 'max', 'min', 'blocks'],
  ablate: ['op', 'vector', 'blocks'],
};

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function checkFields(param: string, o: Record<string, unknown>, allowed: readonly string[]): void {
  for (const k of Object.keys(o)) {
    if (!allowed.includes(k)) throw badRequest(`${param}.${k}`, `${param}.${k}: unknown field (allowed: ${allowed.join(', ')})`, 'unknown_field');
  }
}

function finiteOrUndefined(param: string, v: unknown): number | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== 'number' || !Number.isFinite(v)) throw badRequest(param, `${param} must be a finite number`, 'invalid_type');
  return v;
}

function blocksOrUndefined(param: string, v: unknown): BlockSpec | undefined {
  if (v === undefined) return undefined;
  if (v === 'all') return 'all';
  const ok = (b: unknown) => typeof b === 'number' && Number.isInteger(b) && b >= 0 && b <= 65_535;
  if (ok(v)) return v as number;
  if (Array.isArray(v) && v.length > 0 && v.length <= 1024 && v.every(ok)) return v as number[];
  throw badRequest(param, `${param} must be a block index, a non-empty array of block indices or "all"`, 'invalid_type');
}

function vectorOf(param: string, name: unknown, registry: VectorRegistry) {
  if (typeof name !== 'string' || name.length === 0) throw badRequest(param, `${param} must be the name of a vector (GET /v1/vectors lists them)`, 'invalid_type');
  const entry = registry.get(name);
  if (!entry) {
    const known = registry.list().map((e) => e.name);
    throw new ApiError(400, `${param}: no vector named ${JSON.stringify(name.slice(0, 80))} (known: ${known.length ? known.join(', ') : 'none'})`, { param, code: 'vector_not_found' });
  }
  return entry.vector;
}

/** A library error from a persona helper, re-worded to name the request field. */
function named<T>(param: string, f: () => T): T {
  try {
    return f();
  } catch (e) {
    if (e instanceof PersonaSteerError) {
      const msg = e.message.replace(/^options\.blocks/, `${param}.blocks`).replace(/^options\.max/, `${param}.max`)
        .replace(/^options\.min/, `${param}.min`).replace(/^coefficient/, `${param}.scale`).replace(/^options/, param);
      throw badRequest(param, msg.startsWith(param) ? msg : `${param}: ${msg}`);
    }
    throw e;
  }
}

function toOps(i: number, raw: unknown, registry: VectorRegistry, base: string): SteerOp | SteerOp[] {
  const param = `${base}[${i}]`;
  if (!isObject(raw)) throw badRequest(param, `${param} must be an object { op, vector, ... }`, 'invalid_type');
  const op = raw.op;
  if (op !== 'add' && op !== 'cap' && op !== 'ablate') throw badRequest(`${param}.op`, `${param}.op must be one of "add", "cap", "ablate"`, 'invalid_value');
  checkFields(param, raw, OP_KEYS[op]);
  const v = vectorOf(`${param}.vector`, raw.vector, registry);
  const blocks = blocksOrUndefined(`${param}.blocks`, raw.blocks);
  const name = raw.vector as string;
  if (op === 'add') {
    const scale = finiteOrUndefined(`${param}.scale`, raw.scale);
    if (raw.relative !== undefined && typeof raw.relative !== 'boolean') throw badRequest(`${param}.relative`, `${param}.relative must be a boolean`, 'invalid_type');
    if (scale === undefined && v.metadata.coefficient === undefined) {
      throw badRequest(`${param}.scale`, `${param}.scale is required: the vector "${name}" records no coefficient`, 'missing_field');
    }
    return named(param, () => steerAdd(v, scale, { ...(blocks !== undefined ? { blocks } : {}), relative: raw.relative === true }));
  }
  if (op === 'cap') {
    const max = finiteOrUndefined(`${param}.max`, raw.max);
    const min = finiteOrUndefined(`${param}.min`, raw.min);
    if (max === undefined && min === undefined) {
      if (!v.metadata.capThresholds) {
        throw badRequest(`${param}.max`, `${param} needs max or min: the vector "${name}" records no cap thresholds`, 'missing_field');
      }
      if (blocks !== undefined) {
        throw badRequest(`${param}.blocks`, `${param}.blocks must be left out when the recorded thresholds are used (they belong to the vector's cap blocks ${(capThresholdBlocks(v.metadata) ?? []).join(', ')})`);
      }
      return named(param, () => cap(v));
    }
    if (max !== undefined && min !== undefined && min > max) throw badRequest(`${param}.min`, `${param}.min (${min}) must be <= max (${max})`);
    const bounds = { ...(max !== undefined ? { max } : {}), ...(min !== undefined ? { min } : {}) } as { max: number; min?: number };
    return named(param, () => cap(v, { ...bounds, ...(blocks !== undefined ? { blocks } : {}) }));
  }
  return named(param, () => steerAblate(v, blocks !== undefined ? { blocks } : {}));
}

/** The plan for a list of wire ops; null for none. */
export function buildPlan(ops: unknown, positions: unknown, registry: VectorRegistry, base = 'steering'): { plan: SteeringPlan | null; steered: string[] } {
  if (ops === undefined || ops === false) return { plan: null, steered: [] };
  if (!Array.isArray(ops)) throw badRequest(base, `${base} must be an array of steering operations or false`, 'invalid_type');
  if (ops.length > 64) throw badRequest(base, `${base} has ${ops.length} operations; at most 64`);
  if (positions !== undefined && positions !== 'all' && positions !== 'prompt' && positions !== 'generated') {
    throw badRequest('steering_positions', 'steering_positions must be one of "all", "prompt", "generated"', 'invalid_value');
  }
  if (ops.length === 0) return { plan: null, steered: [] };
  const parts = ops.map((raw, i) => toOps(i, raw, registry, base));
  const steered = [...new Set(ops.map((o) => (o as WireOp).vector))];
  // Without steering_positions the library's rule applies: the positions the ops' vectors recorded
  // (for an add, metadata.positions; for a cap at recorded thresholds, capPositions), else all.
  let plan: SteeringPlan;
  try {
    plan = personaPlan(parts, positions === undefined ? {} : { positions: positions as Positions });
  } catch (e) {
    if (e instanceof PersonaSteerError) {
      throw badRequest('steering_positions', `steering_positions is needed: ${e.message.replace(/^options\.positions must be /, 'it must be ')}`, 'missing_field');
    }
    throw e;
  }
  return { plan, steered };
}

/** Monitor entries named after their vectors; null/false/[] for none. */
export function buildMonitor(entries: unknown, registry: VectorRegistry, base = 'monitor'): MonitorEntry[] | undefined {
  if (entries === undefined || entries === false) return undefined;
  if (!Array.isArray(entries)) throw badRequest(base, `${base} must be an array of { vector, blocks? } or false`, 'invalid_type');
  if (entries.length > 64) throw badRequest(base, `${base} has ${entries.length} entries; at most 64`);
  if (entries.length === 0) return undefined;
  const seen = new Set<string>();
  return entries.map((raw, i) => {
    const param = `${base}[${i}]`;
    if (!isObject(raw)) throw badRequest(param, `${param} must be an object { vector, blocks? }`, 'invalid_type');
    checkFields(param, raw, ['vector', 'blocks']);
    const v = vectorOf(`${param}.vector`, raw.vector, registry);
    const name = raw.vector as string;
    if (seen.has(name)) throw badRequest(`${param}.vector`, `${param}.vector: "${name}" is monitored twice (list its blocks in one entry)`);
    seen.add(name);
    const blocks = blocksOrUndefined(`${param}.blocks`, raw.blocks);
    return named(param, () => monitorVector(v, { name, ...(blocks !== undefined ? { blocks } : {}) }));
  });
}

/**
 * What a request asks for, with the server default filling what it leaves out: a field the request
 * gives replaces the default's (steering: false turns steering off). With no monitor anywhere, the
 * vectors the plan steers are monitored at their recommended blocks, so a steered answer always
 * carries its persona trace.
 */
export function resolveSteering(request: SteeringFields, defaults: SteeringFields | null, registry: VectorRegistry): ResolvedSteering {
  const fromRequest = request.steering !== undefined;
  const ops = fromRequest ? request.steering : defaults?.steering;
  const positions = request.steering_positions ?? (fromRequest ? undefined : defaults?.steering_positions);
  const { plan, steered } = buildPlan(ops, positions, registry, fromRequest ? 'steering' : 'default steering');
  let monitor: MonitorEntry[] | undefined;
  if (request.monitor !== undefined) monitor = buildMonitor(request.monitor, registry);
  else if (defaults?.monitor !== undefined) monitor = buildMonitor(defaults.monitor, registry, 'default monitor');
  else if (steered.length > 0) monitor = steered.map((name) => monitorVector(registry.get(name)!.vector, { name }));
  return { plan, monitor, steered };
}

/** Checks a --default-steering file's content: the three fields and nothing else. */
export function checkDefaultSteering(value: unknown, registry: VectorRegistry): SteeringFields {
  if (!isObject(value)) throw new PersonaSteerError(ErrorCodes.INVALID_ARG, '--default-steering: the file must hold a JSON object { steering, steering_positions?, monitor? }');
  try {
    checkFields('default', value, ['steering', 'steering_positions', 'monitor']);
    const fields = value as SteeringFields;
    resolveSteering({}, fields, registry);
    return fields;
  } catch (e) {
    if (e instanceof ApiError) throw new PersonaSteerError(ErrorCodes.INVALID_ARG, `--default-steering: ${e.message}`);
    throw e;
  }
}
