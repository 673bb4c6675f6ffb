// Command-line parsing on node's util.parseArgs: strict flags, and values checked into numbers,
// block lists and choices with errors in the library's style (ERR_INVALID_ARG naming the flag).
import { parseArgs } from 'node:util';
import { ErrorCodes, PersonaSteerError, describe, invalidArg } from '../errors';

export type FlagSpec = Record<string, { type: 'string' | 'boolean'; multiple?: boolean; short?: string }>;
export type Values = Record<string, string | boolean | string[] | boolean[] | undefined>;

export function usageError(message: string): PersonaSteerError {
  return new PersonaSteerError(ErrorCodes.INVALID_ARG, message);
}

/** "--flag -2": parseArgs would call a value starting with "-" ambiguous; a negative number is meant. */
function joinNegativeValues(argv: string[], flags: FlagSpec): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const long = a.startsWith('--') ? a.slice(2) : undefined;
    const spec = long !== undefined ? flags[long] : Object.entries(flags).find(([, f]) => f.short !== undefined && a === `-${f.short}`)?.[1];
    const next = argv[i + 1];
    if (spec?.type === 'string' && next !== undefined && /^-(\d|\.\d)/.test(next)) {
      out.push(long !== undefined ? `${a}=${next}` : `${a}${next}`);
      i++;
    } else {
      out.push(a);
    }
  }
  return out;
}

/** llama.cpp's multi-letter short flags, accepted as spellings of our long ones. */
const ALIASES: Record<string, string> = { '-ctk': '--cache-type-k', '-ctv': '--cache-type-v' };

/** The flags of the command being run (for cliWording): set by parse(). */
export const activeFlags = new Set<string>();

/** Parses argv against the flags; unknown flags and missing values are usage errors. */
export function parse(command: string, argv: string[], flags: FlagSpec, positionals: 'none' | 'some' = 'none'): { values: Values; positionals: string[] } {
  activeFlags.clear();
  for (const f of Object.keys(flags)) activeFlags.add(f);
  const args = argv.map((a) => {
    const [head, ...rest] = a.split('=');
    const long = ALIASES[head];
    return long !== undefined && flags[long.slice(2)] !== undefined ? [long, ...rest].join('=') : a;
  });
  try {
    const r = parseArgs({ args: joinNegativeValues(args, flags), options: flags, strict: true, allowPositionals: positionals === 'some' });
    return { values: r.values as Values, positionals: r.positionals };
  } catch (e) {
    const msg = (e as Error).message.replace(/\s*\n\s*/g, ' ').replace(/\. To specify a positional argument.*$/, '');
    throw usageError(`${msg} (see persona-steer ${command} --help)`);
  }
}

export function str(values: Values, flag: string): string | undefined {
  const v = values[flag];
  if (v === undefined) return undefined;
  if (typeof v !== 'string' || v.length === 0) throw invalidArg(`--${flag}`, 'a non-empty value', v);
  return v;
}

/** A string flag that may be empty (a prompt: "" is a valid one). */
export function text(values: Values, flag: string): string | undefined {
  const v = values[flag];
  if (v === undefined) return undefined;
  if (typeof v !== 'string') throw invalidArg(`--${flag}`, 'a value', v);
  return v;
}

export function required(values: Values, flag: string, what: string): string {
  const v = str(values, flag);
  if (v === undefined) throw usageError(`--${flag} is required (${what})`);
  return v;
}

export function list(values: Values, flag: string): string[] {
  const v = values[flag];
  return Array.isArray(v) ? (v as string[]) : [];
}

export function bool(values: Values, flag: string): boolean {
  return values[flag] === true;
}

const INT = /^-?(0|[1-9][0-9]*)$/;
const NUM = /^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/;

export function parseIntText(name: string, text: string, min: number, max: number): number {
  const n = Number(text);
  if (!INT.test(text) || !Number.isSafeInteger(n) || n < min || n > max) throw invalidArg(name, `an integer in [${min}, ${max}]`, text);
  return n;
}

export function parseNumberText(name: string, text: string, min = -Infinity, max = Infinity): number {
  const n = Number(text);
  if (!NUM.test(text.trim()) || !Number.isFinite(n) || n < min || n > max) {
    const range = min === -Infinity && max === Infinity ? 'a finite number' : `a number in [${min}, ${max}]`;
    throw invalidArg(name, range, text);
  }
  return n;
}

export function int(values: Values, flag: string, min: number, max: number): number | undefined {
  const v = str(values, flag);
  return v === undefined ? undefined : parseIntText(`--${flag}`, v, min, max);
}

export function num(values: Values, flag: string, min = -Infinity, max = Infinity): number | undefined {
  const v = str(values, flag);
  return v === undefined ? undefined : parseNumberText(`--${flag}`, v, min, max);
}

export function choice<T extends string>(values: Values, flag: string, options: readonly T[]): T | undefined {
  const v = str(values, flag);
  if (v === undefined) return undefined;
  if (!options.includes(v as T)) throw invalidArg(`--${flag}`, `one of ${options.join(', ')}`, v);
  return v as T;
}

/** Block lists: "3", "2-4", "1,3,5", "1,3-5" or "all". */
export function parseBlocks(name: string, text: string): number[] | 'all' {
  if (text === 'all') return 'all';
  const out = new Set<number>();
  for (const part of text.split(',')) {
    const m = /^(\d+)(?:-(\d+))?$/.exec(part);
    if (!m) throw invalidArg(name, "blocks like 3, 2-4, 1,3,5 or all", text);
    const a = parseIntText(name, m[1], 0, 65_535);
    const b = m[2] === undefined ? a : parseIntText(name, m[2], 0, 65_535);
    if (b < a) throw invalidArg(name, `a range low-high with low <= high`, part);
    for (let i = a; i <= b; i++) out.add(i);
  }
  return [...out].sort((x, y) => x - y);
}

export function blocksFlag(values: Values, flag: string): number[] | 'all' | undefined {
  const v = str(values, flag);
  return v === undefined ? undefined : parseBlocks(`--${flag}`, v);
}

export { describe };
