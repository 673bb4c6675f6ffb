// A strict GGUF v2/v3 reader for untrusted input. Every count and length is checked against the
// bytes that remain before anything is allocated, so memory stays proportional to the input (and
// below the limits), every loop is bounded by the input size, and every failure is an
// ERR_BAD_FILE naming what was wrong and where.

import { endianness } from 'node:os';
import { ErrorCodes, PersonaSteerError, invalidArg } from '../errors';
import {
  FIXED_SIZE, GGML_TYPES, GGML_TYPE_F32, GGUF_ALIGNMENT_KEY, GGUF_DEFAULT_ALIGNMENT, GGUF_MAGIC,
  GGUF_MAX_DIMS, GGUF_MAX_TENSOR_NAME_BYTES, GgufType, GgufValue, alignUp, ggufTypeName,
} from './gguf-format';

export interface GgufLimits {
  /** Longest string (key, value, array item or tensor name) in bytes. */
  maxStringBytes: number;
  /** Most items in one metadata array. */
  maxArrayLength: number;
  /** Most array items in the whole file: bounds the JS objects made for tiny encoded items. */
  maxTotalArrayItems: number;
  maxKeyValues: number;
  maxTensors: number;
  /** Most elements in one tensor. */
  maxTensorElements: number;
}

export const DEFAULT_GGUF_LIMITS: Readonly<GgufLimits> = Object.freeze({
  maxStringBytes: 16 * 1024 * 1024,
  maxArrayLength: 4 * 1024 * 1024,
  maxTotalArrayItems: 8 * 1024 * 1024,
  maxKeyValues: 65_536,
  maxTensors: 65_536,
  maxTensorElements: 2 ** 31 - 1,
});

export interface GgufTensor {
  readonly name: string;
  /** ggml order: dims[0] is the number of elements in a row. */
  readonly dims: readonly number[];
  /** ggml type id (0 = F32). */
  readonly type: number;
  readonly typeName: string;
  /** Offset of the data from the start of the data section, as stored. */
  readonly offset: number;
  readonly byteLength: number;
  /** A copy of the data for F32 tensors; absent for every other type. */
  readonly data?: Float32Array;
}

export interface GgufFile {
  readonly version: 2 | 3;
  readonly alignment: number;
  /** In file order. */
  readonly metadata: ReadonlyMap<string, GgufValue>;
  /** In file order. */
  readonly tensors: readonly GgufTensor[];
  /** Absolute offset of the data section. */
  readonly dataOffset: number;
}

// Smallest encodings, used to refuse counts that cannot fit before looping over them:
// key-value = u64 length + 1-byte key + u32 type + 1-byte value;
// tensor info = u64 length + 1-byte name + u32 n_dims + u32 type + u64 offset.
const MIN_KV_BYTES = 8 + 1 + 4 + 1;
const MIN_TENSOR_INFO_BYTES = 8 + 1 + 4 + 4 + 8;
const HOST_IS_LE = endianness() === 'LE';

function bad(offset: number, what: string): PersonaSteerError {
  return new PersonaSteerError(ErrorCodes.BAD_FILE, `invalid GGUF file: ${what} (at byte offset ${offset})`);
}

class Cursor {
  pos = 0;
  private readonly view: DataView;
  private readonly utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

  constructor(readonly bytes: Uint8Array) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  get remaining(): number {
    return this.bytes.length - this.pos;
  }

  need(n: number, what: string): void {
    if (n > this.remaining) {
      throw bad(this.pos, `${what} needs ${n} bytes but only ${this.remaining} remain`);
    }
  }

  u8(what: string): number { this.need(1, what); return this.view.getUint8(this.pos++); }
  i8(what: string): number { this.need(1, what); return this.view.getInt8(this.pos++); }
  u16(what: string): number { this.need(2, what); const v = this.view.getUint16(this.pos, true); this.pos += 2; return v; }
  i16(what: string): number { this.need(2, what); const v = this.view.getInt16(this.pos, true); this.pos += 2; return v; }
  u32(what: string): number { this.need(4, what); const v = this.view.getUint32(this.pos, true); this.pos += 4; return v; }
  i32(what: string): number { this.need(4, what); const v = this.view.getInt32(this.pos, true); this.pos += 4; return v; }
  f32(what: string): number { this.need(4, what); const v = this.view.getFloat32(this.pos, true); this.pos += 4; return v; }
  f64(what: string): number { this.need(8, what); const v = this.view.getFloat64(this.pos, true); this.pos += 8; return v; }
  u64(what: string): bigint { this.need(8, what); const v = this.view.getBigUint64(this.pos, true); this.pos += 8; return v; }
  i64(what: string): bigint { this.need(8, what); const v = this.view.getBigInt64(this.pos, true); this.pos += 8; return v; }

  /** A u64 count or length, refused unless it is at most `max`. */
  count(what: string, max: number): number {
    const at = this.pos;
    const v = this.u64(what);
    if (v > BigInt(max)) throw bad(at, `${what} is ${v}, more than the limit ${max}`);
    return Number(v);
  }

  string(what: string, maxBytes: number): string {
    const at = this.pos;
    const len = this.count(`length of ${what}`, maxBytes);
    this.need(len, what);
    const slice = this.bytes.subarray(this.pos, this.pos + len);
    let s: string;
    try {
      s = this.utf8.decode(slice);
    } catch {
      throw bad(at, `${what} is not valid UTF-8`);
    }
    this.pos += len;
    return s;
  }
}

function assertLimits(limits: GgufLimits): void {
  for (const [k, v] of Object.entries(limits)) {
    if (!Number.isSafeInteger(v) || v < 0) throw invalidArg(`limits.${k}`, 'a non-negative safe integer', v);
  }
}

export function readGguf(bytes: Uint8Array, limits?: Partial<GgufLimits>): GgufFile {
  if (!(bytes instanceof Uint8Array)) throw invalidArg('bytes', 'a Uint8Array or Buffer', bytes);
  // TextDecoder refuses views of shared memory, and another thread could change it under us.
  if (typeof SharedArrayBuffer !== 'undefined' && bytes.buffer instanceof SharedArrayBuffer) bytes = new Uint8Array(bytes);
  const lim: GgufLimits = { ...DEFAULT_GGUF_LIMITS, ...limits };
  assertLimits(lim);
  const c = new Cursor(bytes);

  const magic = c.u32('magic');
  if (magic !== GGUF_MAGIC) throw bad(0, `magic is 0x${magic.toString(16).padStart(8, '0')}, expected "GGUF"`);
  const version = c.u32('version');
  if (version !== 2 && version !== 3) {
    const hint = version === 1 ? ' (GGUF v1 is not supported)'
      : (version & 0xffff) === 0 ? ' (a big-endian file? only little-endian is supported)' : '';
    throw bad(4, `version is ${version}, expected 2 or 3${hint}`);
  }
  const tensorCount = c.count('tensor count', lim.maxTensors);
  const kvCount = c.count('key-value count', lim.maxKeyValues);
  if (kvCount * MIN_KV_BYTES + tensorCount * MIN_TENSOR_INFO_BYTES > c.remaining) {
    throw bad(8, `${tensorCount} tensors and ${kvCount} key-value pairs cannot fit in the ${c.remaining} bytes that follow`);
  }

  const budget = { arrayItems: lim.maxTotalArrayItems };
  const metadata = new Map<string, GgufValue>();
  for (let i = 0; i < kvCount; i++) {
    const at = c.pos;
    const key = c.string(`key ${i}`, lim.maxStringBytes);
    if (key.length === 0) throw bad(at, `key ${i} is empty`);
    if (metadata.has(key)) throw bad(at, `duplicate key "${key}"`);
    metadata.set(key, readValue(c, key, lim, budget));
  }

  const alignment = readAlignment(metadata);
  const tensors = readTensorInfos(c, tensorCount, lim);
  let dataOffset = c.pos;
  if (tensorCount > 0) {
    dataOffset = alignUp(c.pos, alignment);
    if (dataOffset > bytes.length) {
      throw bad(c.pos, `data section would start at ${dataOffset} (alignment ${alignment}), past the end of the file (${bytes.length} bytes)`);
    }
  }
  return {
    version: version as 2 | 3,
    alignment,
    metadata,
    tensors: placeTensors(bytes, tensors, dataOffset, alignment),
    dataOffset,
  };
}

function readValue(c: Cursor, key: string, lim: GgufLimits, budget: { arrayItems: number }): GgufValue {
  const typeAt = c.pos;
  const type = c.u32(`type of "${key}"`);
  if (type === GgufType.ARRAY) {
    const itemType = c.u32(`item type of array "${key}"`);
    if (itemType === GgufType.ARRAY) throw bad(typeAt + 4, `"${key}" is an array of arrays, which is not supported`);
    if (!(itemType in GgufType)) throw bad(typeAt + 4, `"${key}" has unknown array item type ${itemType}`);
    const countAt = c.pos;
    const n = c.count(`item count of "${key}"`, lim.maxArrayLength);
    if (n > budget.arrayItems) throw bad(countAt, `array "${key}" exceeds the limit of ${lim.maxTotalArrayItems} array items per file`);
    budget.arrayItems -= n;
    // Strings take at least their 8-byte length each.
    const minItem = FIXED_SIZE[itemType as GgufType] ?? 8;
    if (n * minItem > c.remaining) {
      throw bad(countAt, `array "${key}" claims ${n} items of ${ggufTypeName(itemType)}, more than the ${c.remaining} remaining bytes can hold`);
    }
    const items: unknown[] = new Array(n);
    for (let i = 0; i < n; i++) items[i] = readScalar(c, itemType, `${key}[${i}]`, lim);
    return { type, itemType, value: items } as GgufValue;
  }
  if (!(type in GgufType)) throw bad(typeAt, `"${key}" has unknown value type ${type}`);
  return { type, value: readScalar(c, type, key, lim) } as GgufValue;
}

function readScalar(c: Cursor, type: number, what: string, lim: GgufLimits): number | bigint | boolean | string {
  switch (type) {
    case GgufType.UINT8: return c.u8(what);
    case GgufType.INT8: return c.i8(what);
    case GgufType.UINT16: return c.u16(what);
    case GgufType.INT16: return c.i16(what);
    case GgufType.UINT32: return c.u32(what);
    case GgufType.INT32: return c.i32(what);
    case GgufType.FLOAT32: return c.f32(what);
    case GgufType.FLOAT64: return c.f64(what);
    case GgufType.UINT64: return c.u64(what);
    case GgufType.INT64: return c.i64(what);
    case GgufType.STRING: return c.string(`"${what}"`, lim.maxStringBytes);
    case GgufType.BOOL: {
      const at = c.pos;
      const b = c.u8(what);
      if (b > 1) throw bad(at, `bool "${what}" is ${b}, expected 0 or 1`);
      return b === 1;
    }
    default:
      throw bad(c.pos, `"${what}" has unknown value type ${type}`);
  }
}

function readAlignment(metadata: ReadonlyMap<string, GgufValue>): number {
  const v = metadata.get(GGUF_ALIGNMENT_KEY);
  if (v === undefined) return GGUF_DEFAULT_ALIGNMENT;
  // Same rule as gguf.cpp: u32, non-zero power of two.
  if (v.type !== GgufType.UINT32) throw bad(0, `${GGUF_ALIGNMENT_KEY} must be UINT32, found ${ggufTypeName(v.type)}`);
  const a = v.value;
  if (a === 0 || (a & (a - 1)) !== 0) throw bad(0, `${GGUF_ALIGNMENT_KEY} is ${a}, not a power of two`);
  return a;
}

interface TensorInfo {
  name: string;
  dims: number[];
  type: number;
  offset: number;
  byteLength: number;
  at: number;
}

function readTensorInfos(c: Cursor, n: number, lim: GgufLimits): TensorInfo[] {
  const infos: TensorInfo[] = [];
  const names = new Set<string>();
  for (let i = 0; i < n; i++) {
    const at = c.pos;
    const name = c.string(`name of tensor ${i}`, GGUF_MAX_TENSOR_NAME_BYTES);
    if (name.length === 0) throw bad(at, `tensor ${i} has an empty name`);
    if (names.has(name)) throw bad(at, `duplicate tensor name "${name}"`);
    names.add(name);
    const nDimsAt = c.pos;
    const nDims = c.u32(`dimension count of "${name}"`);
    if (nDims > GGUF_MAX_DIMS) throw bad(nDimsAt, `tensor "${name}" has ${nDims} dimensions, at most ${GGUF_MAX_DIMS} allowed`);
    const dims: number[] = [];
    let elements = 1n;
    for (let d = 0; d < nDims; d++) {
      const dimAt = c.pos;
      const dim = c.u64(`dimension ${d} of "${name}"`);
      // Each dimension on its own too: a zero elsewhere would hide a huge one from the product.
      if (dim > BigInt(lim.maxTensorElements)) {
        throw bad(dimAt, `tensor "${name}" dimension ${d} is ${dim}, more than the limit ${lim.maxTensorElements}`);
      }
      elements *= dim;
      // Checked at each step so that the product stays small.
      if (elements > BigInt(lim.maxTensorElements)) {
        throw bad(dimAt, `tensor "${name}" has more than ${lim.maxTensorElements} elements`);
      }
      dims.push(Number(dim));
    }
    const typeAt = c.pos;
    const type = c.u32(`type of "${name}"`);
    const traits = GGML_TYPES.get(type);
    if (traits === undefined) throw bad(typeAt, `tensor "${name}" has unknown ggml type ${type}`);
    const rowLength = dims[0] ?? 1;
    if (rowLength % traits.blockSize !== 0) {
      throw bad(typeAt, `tensor "${name}" of type ${traits.name} has rows of ${rowLength} elements, not a multiple of its block size ${traits.blockSize}`);
    }
    const offsetAt = c.pos;
    const offset = c.u64(`data offset of "${name}"`);
    if (offset > BigInt(c.bytes.length)) throw bad(offsetAt, `tensor "${name}" data offset ${offset} is past the end of the file`);
    const byteLength = (Number(elements) / traits.blockSize) * traits.typeSize;
    infos.push({ name, dims, type, offset: Number(offset), byteLength, at });
  }
  return infos;
}

function placeTensors(bytes: Uint8Array, infos: TensorInfo[], dataOffset: number, alignment: number): GgufTensor[] {
  const dataSize = bytes.length - dataOffset;
  for (const t of infos) {
    if (t.offset % alignment !== 0) throw bad(t.at, `tensor "${t.name}" data offset ${t.offset} is not a multiple of the alignment ${alignment}`);
    if (t.offset + t.byteLength > dataSize) {
      throw bad(t.at, `tensor "${t.name}" data [${t.offset}, ${t.offset + t.byteLength}) runs past the end of the data section (${dataSize} bytes)`);
    }
  }
  const byOffset = [...infos].sort((a, b) => a.offset - b.offset);
  for (let i = 1; i < byOffset.length; i++) {
    const prev = byOffset[i - 1]!;
    const cur = byOffset[i]!;
    if (prev.byteLength > 0 && cur.byteLength > 0 && prev.offset + prev.byteLength > cur.offset) {
      throw bad(cur.at, `tensor "${cur.name}" data overlaps tensor "${prev.name}"`);
    }
  }
  return infos.map((t) => {
    const base = {
      name: t.name,
      dims: Object.freeze(t.dims),
      type: t.type,
      typeName: GGML_TYPES.get(t.type)!.name,
      offset: t.offset,
      byteLength: t.byteLength,
    };
    if (t.type !== GGML_TYPE_F32) return Object.freeze(base);
    const start = dataOffset + t.offset;
    return Object.freeze({ ...base, data: copyF32(bytes, start, t.byteLength / 4) });
  });
}

function copyF32(bytes: Uint8Array, start: number, n: number): Float32Array {
  const out = new Float32Array(n);
  if (HOST_IS_LE) {
    // A byte copy keeps every bit, NaN payloads included; a DataView round trip might not.
    new Uint8Array(out.buffer).set(bytes.subarray(start, start + n * 4));
  } else {
    const view = new DataView(bytes.buffer, bytes.byteOffset + start, n * 4);
    for (let i = 0; i < n; i++) out[i] = view.getFloat32(i * 4, true);
  }
  return out;
}
