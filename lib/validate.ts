// Argument checks shared by the public API. Each throws ERR_INVALID_ARG naming the argument,
// what was expected and what was received; `checkKeys` rejects unknown options so a typo
// never silently does nothing.
import { invalidArg } from './errors';

export function checkObject(name: string, value: unknown, optional = true): Record<string, unknown> {
  if (value === undefined && optional) return {};
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw invalidArg(name, 'an object', value);
  }
  return value as Record<string, unknown>;
}

/**
 * An options object read once: its own enumerable keys copied into a plain object, so a getter runs
 * one time and a value cannot change between the check and the use. Unknown keys are refused.
 */
export function readOptions(name: string, value: unknown, allowed: readonly string[]): Record<string, unknown> {
  const o = checkObject(name, value);
  const copy: Record<string, unknown> = {};
  for (const key of Object.keys(o)) copy[key] = o[key];
  checkKeys(name, copy, allowed);
  return copy;
}

export function checkKeys(name: string, obj: Record<string, unknown>, allowed: readonly string[]): void {
  for (const key of Object.keys(obj)) {
    if (!allowed.includes(key)) {
      throw invalidArg(`${name}.${key}`, `one of the known options (${allowed.join(', ')})`, obj[key]);
    }
  }
}

export function checkInt(name: string, value: unknown, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    const range = max === Number.MAX_SAFE_INTEGER ? `>= ${min}` : `in [${min}, ${max}]`;
    throw invalidArg(name, `an integer ${range}`, value);
  }
  return value;
}

export function optInt(name: string, value: unknown, min: number, max: number, fallback: number): number {
  return value === undefined ? fallback : checkInt(name, value, min, max);
}

export function checkNumber(name: string, value: unknown, min = -Infinity, max = Infinity): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min || value > max) {
    const range = min === -Infinity && max === Infinity ? 'a finite number'
      : max === Infinity ? `a finite number >= ${min}` : min === -Infinity ? `a finite number <= ${max}`
        : `a finite number in [${min}, ${max}]`;
    throw invalidArg(name, range, value);
  }
  return value;
}

export function optNumber(name: string, value: unknown, min: number, max: number, fallback: number): number {
  return value === undefined ? fallback : checkNumber(name, value, min, max);
}

export function optBool(name: string, value: unknown, fallback: boolean): boolean {
  if (value === undefined) return fallback;
  if (typeof value !== 'boolean') throw invalidArg(name, 'a boolean', value);
  return value;
}

export function checkString(name: string, value: unknown, nonEmpty = true): string {
  if (typeof value !== 'string' || (nonEmpty && value.length === 0)) {
    throw invalidArg(name, nonEmpty ? 'a non-empty string' : 'a string', value);
  }
  return value;
}

export function checkOneOf<T extends string>(name: string, value: unknown, options: readonly T[], fallback?: T): T {
  if (value === undefined && fallback !== undefined) return fallback;
  if (typeof value !== 'string' || !options.includes(value as T)) {
    throw invalidArg(name, `one of ${options.map((o) => JSON.stringify(o)).join(', ')}`, value);
  }
  return value as T;
}

export function checkSignal(name: string, value: unknown): AbortSignal | undefined {
  if (value === undefined) return undefined;
  if (!(value instanceof AbortSignal)) throw invalidArg(name, 'an AbortSignal', value);
  return value;
}

export function checkFunction<T extends (...args: never[]) => unknown>(name: string, value: unknown): T | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'function') throw invalidArg(name, 'a function', value);
  return value as T;
}

/** Block list: integers in [0, blockCount), or 'all'. Returns sorted unique blocks. */
export function checkBlocks(name: string, value: unknown, blockCount: number): number[] {
  if (value === 'all') return Array.from({ length: blockCount }, (_, i) => i);
  const list = typeof value === 'number' ? [value] : value;
  if (!Array.isArray(list) || list.length === 0) {
    throw invalidArg(name, `'all', a block index or a non-empty array of block indices in [0, ${blockCount})`, value);
  }
  for (let i = 0; i < list.length; i++) checkInt(`${name}[${i}]`, list[i], 0, blockCount - 1);
  return [...new Set(list as number[])].sort((a, b) => a - b);
}

export function checkFiniteArray(name: string, value: unknown, length?: number): Float32Array {
  if (!(value instanceof Float32Array) && !(value instanceof Float64Array) && !Array.isArray(value)) {
    throw invalidArg(name, length === undefined ? 'a Float32Array or an array of numbers' : `a Float32Array of length ${length}`, value);
  }
  const arr = value as ArrayLike<unknown>;
  // Read once: a Proxy (or a getter) may answer differently on every read; what is checked is
  // exactly what is used.
  const n = arr.length;
  if (length !== undefined && n !== length) {
    throw invalidArg(name, `${length} values (the model's embedding size)`, value);
  }
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const x = arr[i];
    if (typeof x !== 'number' || !Number.isFinite(x)) throw invalidArg(`${name}[${i}]`, 'a finite number', x);
    // Finite in JavaScript but infinite once stored as the float32 the graph computes with.
    if (Math.abs(x) > FLOAT32_MAX) throw invalidArg(`${name}[${i}]`, `a number within float32 range (|x| <= ${FLOAT32_MAX})`, x);
    out[i] = x;
  }
  return out;
}

/** The largest finite float32. */
export const FLOAT32_MAX = 3.4028234663852886e38;
