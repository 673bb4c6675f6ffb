// JSON Schema → GBNF (llama.cpp's grammar format), for a documented subset of JSON Schema. The rules
// follow llama.cpp's common/json-schema-to-grammar.cpp (its primitive rules and property ordering),
// written small: that converter is C++ in llama.cpp's `common` library, which this package does
// not vendor, and no maintained npm package does the conversion. A keyword outside the subset is
// ERR_INVALID_ARG naming its path, never silently ignored (a constraint the output would not meet).
//
// Subset (docs/api.md, "JSON schema"): type (one or a list), enum, const, anyOf / oneOf, $ref to
// #/$defs/NAME or #/definitions/NAME (recursion allowed); objects: properties, required,
// additionalProperties false (the default here: only the listed properties are generated, in their
// order); arrays: items, minItems, maxItems; strings: minLength, maxLength; annotations (title,
// description, examples, default, $schema, $id, $comment) are ignored. `true` or {} is any JSON value.
import { invalidArg } from '../errors';

const ANNOTATIONS = new Set(['title', 'description', 'examples', 'default', '$schema', '$id', '$comment']);
const SUPPORTED = new Set([
  'type', 'enum', 'const', 'anyOf', 'oneOf', '$ref', '$defs', 'definitions', 'properties', 'required',
  'additionalProperties', 'items', 'minItems', 'maxItems', 'minLength', 'maxLength', ...ANNOTATIONS,
]);
const TYPES = ['string', 'number', 'integer', 'boolean', 'null', 'object', 'array'] as const;
type JsonType = typeof TYPES[number];

// Compact JSON: at most one space between tokens, so a small model cannot pad forever.
const PRIMITIVES: Record<string, string> = {
  space: '| " "',
  boolean: '("true" | "false") space',
  null: '"null" space',
  'decimal-part': '[0-9]{1,16}',
  'integral-part': '[0] | [1-9] [0-9]{0,15}',
  number: '("-"? integral-part) ("." decimal-part)? ([eE] [-+]? integral-part)? space',
  integer: '("-"? integral-part) space',
  char: '[^"\\\\\\x7F\\x00-\\x1F] | [\\\\] (["\\\\bfnrt] | "u" [0-9a-fA-F]{4})',
  string: '"\\"" char* "\\"" space',
  value: 'object | array | string | number | boolean | null',
  object: '"{" space ( string ":" space value ("," space string ":" space value)* )? "}" space',
  array: '"[" space ( value ("," space value)* )? "]" space',
};
const DEPENDS: Record<string, string[]> = {
  number: ['integral-part', 'decimal-part', 'space'], integer: ['integral-part', 'space'], string: ['char', 'space'],
  boolean: ['space'], null: ['space'], value: ['object', 'array', 'string', 'number', 'boolean', 'null'],
  object: ['string', 'value', 'space'], array: ['value', 'space'],
};

/** A GBNF string literal matching `text` exactly. */
export function gbnfLiteral(text: string): string {
  let out = '"';
  for (const ch of text) {
    const c = ch.codePointAt(0)!;
    if (ch === '"' || ch === '\\') out += `\\${ch}`;
    else if (ch === '\n') out += '\\n';
    else if (ch === '\r') out += '\\r';
    else if (ch === '\t') out += '\\t';
    else if (c < 0x20 || c === 0x7f) out += `\\x${c.toString(16).padStart(2, '0')}`;
    else out += ch;
  }
  return `${out}"`;
}

class Converter {
  readonly rules = new Map<string, string>();
  readonly #refs = new Map<string, string>();
  readonly #root: Record<string, unknown>;
  readonly #name: string;

  constructor(root: Record<string, unknown>, name: string) {
    this.#root = root;
    this.#name = name;
  }

  primitive(name: string): string {
    if (!this.rules.has(name)) {
      this.rules.set(name, PRIMITIVES[name]);
      for (const d of DEPENDS[name] ?? []) this.primitive(d);
      if (name === 'number' || name === 'integer' || name === 'string' || name === 'boolean' || name === 'null') this.primitive('space');
    }
    return name;
  }

  #add(hint: string, body: string): string {
    const base = hint.replace(/[^a-zA-Z0-9-]+/g, '-').replace(/^-+|-+$/g, '').toLowerCase() || 'r';
    let name = base;
    for (let i = 1; this.rules.has(name) && this.rules.get(name) !== body; i++) name = `${base}-${i}`;
    this.rules.set(name, body);
    return name;
  }

  /** The rule name generating values of `schema` (at JSON-pointer-like `path` for errors). */
  visit(schema: unknown, path: string, hint: string): string {
    if (schema === true || (typeof schema === 'object' && schema !== null && !Array.isArray(schema) && Object.keys(schema).every((k) => ANNOTATIONS.has(k)))) {
      return this.primitive('value');
    }
    if (typeof schema !== 'object' || schema === null || Array.isArray(schema)) {
      throw invalidArg(path, 'a JSON schema (an object, or true)', schema);
    }
    const s = schema as Record<string, unknown>;
    for (const k of Object.keys(s)) {
      if (!SUPPORTED.has(k)) {
        throw invalidArg(`${path}.${k}`, `a keyword of the supported subset (${[...SUPPORTED].filter((x) => !ANNOTATIONS.has(x)).join(', ')}; docs/api.md)`, s[k]);
      }
    }
    if (s.$ref !== undefined) return this.#ref(s.$ref, `${path}.$ref`);
    if (s.const !== undefined) return this.#literal(hint, [s.const], `${path}.const`);
    if (s.enum !== undefined) {
      if (!Array.isArray(s.enum) || s.enum.length === 0) throw invalidArg(`${path}.enum`, 'a non-empty array of JSON values', s.enum);
      return this.#literal(hint, s.enum, `${path}.enum`);
    }
    const alts = s.anyOf ?? s.oneOf;
    if (alts !== undefined) {
      const key = s.anyOf !== undefined ? 'anyOf' : 'oneOf';
      if (!Array.isArray(alts) || alts.length === 0) throw invalidArg(`${path}.${key}`, 'a non-empty array of schemas', alts);
      const names = alts.map((a, i) => this.visit(a, `${path}.${key}[${i}]`, `${hint}-${i}`));
      return this.#add(hint, names.join(' | '));
    }
    if (s.type === undefined) {
      if (s.properties !== undefined) return this.#object(s, path, hint);
      if (s.items !== undefined) return this.#array(s, path, hint);
      return this.primitive('value');
    }
    const types = Array.isArray(s.type) ? s.type : [s.type];
    if (types.length === 0) throw invalidArg(`${path}.type`, `one of ${TYPES.join(', ')} or a non-empty list of them`, s.type);
    const names = types.map((t, i) => {
      if (!TYPES.includes(t as JsonType)) throw invalidArg(Array.isArray(s.type) ? `${path}.type[${i}]` : `${path}.type`, `one of ${TYPES.join(', ')}`, t);
      return this.#typed(t as JsonType, s, path, types.length > 1 ? `${hint}-${t}` : hint);
    });
    return names.length === 1 ? names[0] : this.#add(hint, names.join(' | '));
  }

  #literal(hint: string, values: unknown[], path: string): string {
    this.primitive('space');
    const texts = values.map((v, i) => gbnfLiteral(jsonText(v, values.length === 1 && path.endsWith('.const') ? path : `${path}[${i}]`)));
    return this.#add(hint, `(${texts.join(' | ')}) space`);
  }

  #typed(t: JsonType, s: Record<string, unknown>, path: string, hint: string): string {
    if (t === 'object') return this.#object(s, path, hint);
    if (t === 'array') return this.#array(s, path, hint);
    if (t === 'string' && (s.minLength !== undefined || s.maxLength !== undefined)) {
      const min = s.minLength === undefined ? 0 : count(s.minLength, `${path}.minLength`);
      const max = s.maxLength === undefined ? undefined : count(s.maxLength, `${path}.maxLength`);
      if (max !== undefined && max < min) throw invalidArg(`${path}.maxLength`, `an integer >= minLength (${min})`, max);
      this.primitive('char');
      this.primitive('space');
      return this.#add(hint, `"\\"" char{${min},${max ?? ''}} "\\"" space`);
    }
    return this.primitive(t);
  }

  #object(s: Record<string, unknown>, path: string, hint: string): string {
    const props = s.properties === undefined ? {} : s.properties;
    if (typeof props !== 'object' || props === null || Array.isArray(props)) throw invalidArg(`${path}.properties`, 'an object of schemas', props);
    const required = s.required === undefined ? [] : s.required;
    if (!Array.isArray(required) || required.some((r) => typeof r !== 'string')) throw invalidArg(`${path}.required`, 'an array of property names', required);
    for (const [i, r] of (required as string[]).entries()) {
      if (!(r in props)) throw invalidArg(`${path}.required[${i}]`, 'a name listed in properties', r);
    }
    const extra = s.additionalProperties;
    if (extra !== undefined && extra !== false) {
      throw invalidArg(`${path}.additionalProperties`, 'false or absent (only the listed properties are generated)', extra);
    }
    this.primitive('space');
    const names = Object.keys(props);
    if (names.length === 0) return this.#add(hint, '"{" space "}" space');
    const kv = names.map((n) => {
      const value = this.visit((props as Record<string, unknown>)[n], `${path}.properties.${n}`, `${hint}-${n}`);
      return this.#add(`${hint}-${n}-kv`, `${gbnfLiteral(JSON.stringify(n))} space ":" space ${value}`);
    });
    const req = names.map((n) => (required as string[]).includes(n));
    // after[i]: items i.. once one has been written (each with its comma); start[i]: none written yet.
    const after: string[] = [];
    after[names.length] = '';
    for (let i = names.length - 1; i >= 0; i--) {
      const item = `"," space ${kv[i]}`;
      after[i] = `${req[i] ? item : `(${item})?`} ${after[i + 1]}`.trim();
    }
    const start: string[] = [];
    start[names.length] = '';
    for (let i = names.length - 1; i >= 0; i--) {
      const first = `${kv[i]} ${after[i + 1]}`.trim();
      if (req[i]) start[i] = first;
      else if (i === names.length - 1) start[i] = `(${first})?`;
      else start[i] = `(${first} | ${this.#add(`${hint}-from-${i + 1}`, start[i + 1])})`;
    }
    return this.#add(hint, `"{" space ${start[0]} "}" space`);
  }

  #array(s: Record<string, unknown>, path: string, hint: string): string {
    const item = s.items === undefined ? this.primitive('value') : this.visit(s.items, `${path}.items`, `${hint}-item`);
    const min = s.minItems === undefined ? 0 : count(s.minItems, `${path}.minItems`);
    const max = s.maxItems === undefined ? undefined : count(s.maxItems, `${path}.maxItems`);
    if (max !== undefined && max < min) throw invalidArg(`${path}.maxItems`, `an integer >= minItems (${min})`, max);
    this.primitive('space');
    if (max === 0) return this.#add(hint, '"[" space "]" space');
    const restMin = Math.max(0, min - 1);
    const restMax = max === undefined ? '' : String(max - 1);
    const body = `${item} ("," space ${item}){${restMin},${restMax}}`;
    return this.#add(hint, `"[" space ${min === 0 ? `(${body})?` : body} "]" space`);
  }

  #ref(ref: unknown, path: string): string {
    const m = typeof ref === 'string' ? /^#\/(\$defs|definitions)\/([^/]+)$/.exec(ref) : null;
    if (!m) throw invalidArg(path, "a local reference '#/$defs/NAME' or '#/definitions/NAME'", ref);
    const known = this.#refs.get(ref as string);
    if (known) return known;
    const defs = this.#root[m[1]] as Record<string, unknown> | undefined;
    if (typeof defs !== 'object' || defs === null || !(m[2] in defs)) throw invalidArg(path, `a reference to a schema under ${this.#name}.${m[1]}`, ref);
    // Named before it is visited, so a recursive reference finds it.
    const name = this.#add(`ref-${m[2]}`, '""');
    this.#refs.set(ref as string, name);
    this.rules.set(name, this.visit(defs[m[2]], `${this.#name}.${m[1]}.${m[2]}`, `def-${m[2]}`));
    return name;
  }
}

function count(v: unknown, path: string): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > 1_000_000) throw invalidArg(path, 'an integer in [0, 1000000]', v);
  return v;
}

function jsonText(v: unknown, path: string): string {
  const text = JSON.stringify(v);
  if (text === undefined || (typeof v === 'number' && !Number.isFinite(v))) throw invalidArg(path, 'a JSON value', v);
  return text;
}

/**
 * A GBNF grammar (root rule `root`) whose strings are exactly the compact JSON texts valid under
 * `schema` (within the subset above). `name` is the option path errors name.
 */
export function jsonSchemaToGrammar(schema: unknown, name = 'options.jsonSchema'): string {
  if (schema !== true && (typeof schema !== 'object' || schema === null || Array.isArray(schema))) {
    throw invalidArg(name, 'a JSON schema (an object, or true)', schema);
  }
  const c = new Converter(schema === true ? {} : schema as Record<string, unknown>, name);
  const top = c.visit(schema, name, 'root');
  if (top !== 'root') c.rules.set('root', top);
  return [...c.rules].map(([n, body]) => `${n} ::= ${body}`).join('\n') + '\n';
}
