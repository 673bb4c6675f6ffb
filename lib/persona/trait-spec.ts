// Trait specs: the contrastive system prompts and questions that define a persona trait for
// extraction (Persona Vectors, Chen et al. 2025). Validated strictly; every error is ERR_BAD_SPEC
// naming the JSON path of the problem.

import { ErrorCodes, PersonaSteerError, describe } from '../errors';
import { readRegularFile } from '../regular-file';

export interface TraitPair {
  /** System prompt that elicits the trait. */
  readonly positive: string;
  /** System prompt that elicits its opposite. */
  readonly negative: string;
}

export interface TraitSpec {
  readonly name: string;
  readonly description: string;
  readonly pairs: readonly TraitPair[];
  readonly extractionQuestions: readonly string[];
  readonly evaluationQuestions?: readonly string[];
  readonly judge?: { readonly rubric?: string };
}

export const TRAIT_SPEC_LIMITS = Object.freeze({
  maxBytes: 10 * 1024 * 1024,
  maxEntries: 10_000,
  maxStringLength: 100_000,
  maxNameLength: 200,
});

function badSpec(path: string, message: string, cause?: unknown): PersonaSteerError {
  return new PersonaSteerError(ErrorCodes.BAD_SPEC, `invalid trait spec: ${path}: ${message}`, { cause });
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  if (typeof v !== 'object' || v === null) return false;
  const proto = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

/** Own data property; an accessor could run code or change between reads. */
function field(obj: Record<string, unknown>, key: string, path: string): unknown {
  const d = Object.getOwnPropertyDescriptor(obj, key);
  if (d === undefined) return undefined;
  if (!('value' in d)) throw badSpec(path, 'must be a data property, not a getter');
  return d.value;
}

function object(v: unknown, path: string, keys: readonly string[]): Record<string, unknown> {
  if (!isPlainObject(v)) throw badSpec(path, `must be an object; received ${describe(v)}`);
  for (const k of Object.keys(v)) {
    if (!keys.includes(k)) throw badSpec(path === '$' ? k : `${path}.${k}`, `unknown key (allowed: ${keys.join(', ')})`);
  }
  return v;
}

function text(v: unknown, path: string, maxLength: number = TRAIT_SPEC_LIMITS.maxStringLength): string {
  if (typeof v !== 'string') throw badSpec(path, `must be a string; received ${describe(v)}`);
  if (v.trim().length === 0) throw badSpec(path, 'must not be empty or only whitespace');
  if (v.length > maxLength) throw badSpec(path, `must be at most ${maxLength} characters; received ${v.length}`);
  return v;
}

function list(v: unknown, path: string): readonly unknown[] {
  if (!Array.isArray(v)) throw badSpec(path, `must be an array; received ${describe(v)}`);
  if (v.length === 0) throw badSpec(path, 'must have at least one entry');
  if (v.length > TRAIT_SPEC_LIMITS.maxEntries) {
    throw badSpec(path, `must have at most ${TRAIT_SPEC_LIMITS.maxEntries} entries; received ${v.length}`);
  }
  // Index reads, not iteration: holes in a sparse array must show up as missing entries.
  return Array.from({ length: v.length }, (_, i) => field(v as unknown as Record<string, unknown>, String(i), `${path}[${i}]`));
}

function questions(v: unknown, path: string, seen: Map<string, string>): string[] {
  return list(v, path).map((q, i) => {
    const s = text(q, `${path}[${i}]`);
    const key = s.trim();
    const first = seen.get(key);
    if (first !== undefined) throw badSpec(`${path}[${i}]`, `duplicates ${first}`);
    seen.set(key, `${path}[${i}]`);
    return s;
  });
}

/** Validates an already-parsed value and returns a deep-frozen copy. */
export function parseTraitSpec(obj: unknown): TraitSpec {
  const root = object(obj, '$', ['name', 'description', 'pairs', 'extractionQuestions', 'evaluationQuestions', 'judge']);
  const name = text(field(root, 'name', 'name'), 'name', TRAIT_SPEC_LIMITS.maxNameLength);
  // Names label files and metadata (persona_steer.trait): one line of printable text.
  if (/[\u0000-\u001f\u007f]/.test(name)) throw badSpec('name', 'must not contain control characters or newlines');
  const description = text(field(root, 'description', 'description'), 'description');

  const seenPairs = new Map<string, string>();
  const pairs = list(field(root, 'pairs', 'pairs'), 'pairs').map((p, i) => {
    const path = `pairs[${i}]`;
    const o = object(p, path, ['positive', 'negative']);
    const positive = text(field(o, 'positive', `${path}.positive`), `${path}.positive`);
    const negative = text(field(o, 'negative', `${path}.negative`), `${path}.negative`);
    if (positive.trim() === negative.trim()) throw badSpec(`${path}.negative`, 'is the same as positive: a pair must contrast');
    const key = JSON.stringify([positive.trim(), negative.trim()]);
    const first = seenPairs.get(key);
    if (first !== undefined) throw badSpec(path, `duplicates ${first}`);
    seenPairs.set(key, path);
    return Object.freeze({ positive, negative });
  });

  // One map for both lists: an evaluation question seen at extraction would leak into the score.
  const seen = new Map<string, string>();
  const extractionQuestions = questions(field(root, 'extractionQuestions', 'extractionQuestions'), 'extractionQuestions', seen);
  const evalRaw = field(root, 'evaluationQuestions', 'evaluationQuestions');
  const evaluationQuestions = evalRaw === undefined ? undefined : questions(evalRaw, 'evaluationQuestions', seen);

  const judgeRaw = field(root, 'judge', 'judge');
  let judge: TraitSpec['judge'];
  if (judgeRaw !== undefined) {
    const j = object(judgeRaw, 'judge', ['rubric']);
    const rubric = field(j, 'rubric', 'judge.rubric');
    judge = Object.freeze(rubric === undefined ? {} : { rubric: text(rubric, 'judge.rubric') });
  }

  const spec: TraitSpec = {
    name,
    description,
    pairs: Object.freeze(pairs),
    extractionQuestions: Object.freeze(extractionQuestions),
    ...(evaluationQuestions !== undefined ? { evaluationQuestions: Object.freeze(evaluationQuestions) } : {}),
    ...(judge !== undefined ? { judge } : {}),
  };
  return Object.freeze(spec);
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Parses JSON text (a string, or UTF-8 bytes) into a validated spec. */
export function parseTraitSpecJson(text: string | Uint8Array): TraitSpec {
  let size: number;
  if (typeof text === 'string') size = Buffer.byteLength(text, 'utf8');
  else if (text instanceof Uint8Array) size = text.length;
  else throw badSpec('$', `must be JSON text; received ${describe(text)}`);
  if (size > TRAIT_SPEC_LIMITS.maxBytes) {
    throw badSpec('$', `is ${size} bytes, more than the limit of ${TRAIT_SPEC_LIMITS.maxBytes}`);
  }
  let str: string;
  if (typeof text === 'string') {
    str = text;
  } else {
    try {
      str = utf8.decode(text);
    } catch (e) {
      throw badSpec('$', 'is not valid UTF-8', e);
    }
  }
  let value: unknown;
  try {
    value = JSON.parse(str.replace(/^\uFEFF/, ''));
  } catch (e) {
    // SyntaxError for bad JSON, RangeError for nesting too deep for the parser.
    throw badSpec('$', `is not valid JSON (${(e as Error).message})`, e);
  }
  return parseTraitSpec(value);
}

/**
 * Reads a spec from a file path, or from JSON text when the argument starts with "{" (after
 * whitespace), which no sensible path does.
 */
export async function readTraitSpec(pathOrString: string): Promise<TraitSpec> {
  if (typeof pathOrString !== 'string' || pathOrString.length === 0) {
    throw new PersonaSteerError(ErrorCodes.INVALID_ARG,
      `pathOrString must be a file path or JSON text; received ${describe(pathOrString)}`);
  }
  if (pathOrString.trimStart().startsWith('{')) return parseTraitSpecJson(pathOrString);
  const bytes = await readRegularFile(pathOrString, { maxBytes: TRAIT_SPEC_LIMITS.maxBytes, error: (m, cause) => badSpec('$', m, cause) });
  return parseTraitSpecJson(bytes);
}
