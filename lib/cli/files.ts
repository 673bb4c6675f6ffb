// Reading the CLI's input files (JSON, JSON lines, judge modules) and writing plots.
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { ErrorCodes, PersonaSteerError } from '../errors';
import type { Judge } from '../persona/responses';
import { checkRegularFileSync, checkWritable, readRegularFileSync, writeRegularFileSync } from '../regular-file';

/** Largest JSON / JSON-lines input (--pairs, --dataset): refused before reading, never half-read. */
export const MAX_INPUT_BYTES = 256 * 1024 * 1024;
/** Largest judge module (--judge). */
export const MAX_JUDGE_BYTES = 16 * 1024 * 1024;

function badFile(file: string, why: string): PersonaSteerError {
  return new PersonaSteerError(ErrorCodes.BAD_FILE, `${file}: ${why}`);
}

const fileError = (m: string, cause?: unknown) => new PersonaSteerError(ErrorCodes.BAD_FILE, m, { cause });

function readText(file: string): string {
  return readRegularFileSync(file, { maxBytes: MAX_INPUT_BYTES, error: fileError }).toString('utf8');
}

export function readJson(file: string): unknown {
  const text = readText(file);
  try {
    return JSON.parse(text.replace(/^\uFEFF/, ''));
  } catch (e) {
    throw badFile(file, `not valid JSON (${(e as Error).message})`);
  }
}

/** One JSON value per non-empty line; a file holding a single JSON array is accepted too. */
export function readJsonLines(file: string): unknown[] {
  const text = readText(file).replace(/^\uFEFF/, '');
  if (text.trimStart().startsWith('[')) {
    const v = readJson(file);
    if (!Array.isArray(v)) throw badFile(file, 'not a JSON array');
    return v;
  }
  return text.split('\n').flatMap((line, i) => {
    if (line.trim() === '') return [];
    try {
      return [JSON.parse(line)];
    } catch (e) {
      throw badFile(file, `line ${i + 1} is not valid JSON (${(e as Error).message})`);
    }
  });
}

// tsc turns import() into require() for CommonJS output; this keeps a real dynamic import so that
// ES modules load too.
const dynamicImport = new Function('u', 'return import(u)') as (u: string) => Promise<Record<string, unknown>>;

/** A judge module: its default export (or a named export `judge`) is (question, answer) => score. */
export async function loadJudge(file: string): Promise<Judge> {
  const abs = path.resolve(file);
  if (!fs.existsSync(abs)) throw badFile(file, 'no such judge module');
  // Node's module loader would block on a FIFO and read any size: check what it will open.
  checkRegularFileSync(abs, { maxBytes: MAX_JUDGE_BYTES, what: 'judge module', error: fileError });
  let mod: Record<string, unknown>;
  try {
    mod = await dynamicImport(pathToFileURL(abs).href);
  } catch (e) {
    throw badFile(file, `cannot load the judge module (${(e as Error).message.split('\n')[0]})`);
  }
  const d = mod.default as unknown;
  const fn = typeof d === 'function' ? d : typeof (d as Record<string, unknown> | undefined)?.default === 'function'
    ? (d as Record<string, unknown>).default : typeof mod.judge === 'function' ? mod.judge
      : typeof (d as Record<string, unknown> | undefined)?.judge === 'function' ? (d as Record<string, unknown>).judge : undefined;
  if (typeof fn !== 'function') throw badFile(file, 'the judge module must export a function (default export or `judge`)');
  return fn as Judge;
}

/** Fails now, before long work, when `file` is something writeText / writeControlVector would refuse. */
export function checkOutput(file: string): void {
  checkWritable(file, { error: fileError });
}

/** Writes an output file (a plot, a report): atomically, replacing only a regular file. */
export function writeText(file: string, text: string): void {
  writeRegularFileSync(file, text, { error: fileError });
}

/** A prompt read from a questions file: the user turn, and a system prompt of its own if it has one. */
export interface QuestionLine { user: string; system?: string }

/**
 * Questions, one per line: plain text lines, or a JSON array / JSON lines of strings or
 * { "user", "system"? } objects. Blank lines are skipped.
 */
export function readQuestions(file: string): QuestionLine[] {
  const text = readText(file).replace(/^\uFEFF/, '');
  const trimmed = text.trimStart();
  const lines = text.split('\n').map((l) => l.replace(/\r$/, '')).filter((l) => l.trim() !== '');
  const isJson = trimmed.startsWith('[') || (lines.length > 0 && lines.every((l) => /^\s*["{]/.test(l)));
  const values: unknown[] = isJson ? readJsonLines(file) : lines;
  if (values.length === 0) throw badFile(file, 'holds no question');
  return values.map((v, i) => {
    if (typeof v === 'string' && v.trim() !== '') return { user: v };
    if (typeof v === 'object' && v !== null && !Array.isArray(v)) {
      const o = v as Record<string, unknown>;
      const extra = Object.keys(o).filter((k) => k !== 'user' && k !== 'system');
      if (typeof o.user === 'string' && o.user.trim() !== '' && (o.system === undefined || typeof o.system === 'string') && extra.length === 0) {
        return o.system === undefined ? { user: o.user } : { user: o.user, system: o.system as string };
      }
    }
    throw badFile(file, `entry ${i + 1} must be a non-empty string or { "user", "system"? }`);
  });
}
