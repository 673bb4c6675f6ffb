// GGUF v2/v3 writer, little-endian, laid out as ggml's gguf.cpp and gguf-py write it: header,
// key-value pairs in the given order, tensor infos, zero padding to the alignment, then each
// tensor's data padded to the alignment.

import { ErrorCodes, PersonaSteerError, invalidArg } from '../errors';
import {
  GGML_TYPES, GGML_TYPE_F32, GGUF_ALIGNMENT_KEY, GGUF_DEFAULT_ALIGNMENT, GGUF_MAGIC,
  GGUF_MAX_DIMS, GGUF_MAX_TENSOR_NAME_BYTES, GgufType, GgufValue, alignUp, ggufTypeName,
} from './gguf-format';

export type GgufTensorInput =
  /** An F32 tensor; dims default to [data.length]. */
  | { readonly name: string; readonly data: Float32Array; readonly dims?: readonly number[] }
  /** Raw bytes of any ggml type, already encoded. */
  | { readonly name: string; readonly type: number; readonly dims: readonly number[]; readonly bytes: Uint8Array };

export interface GgufWriteInput {
  /** Default 3. v2 and v3 share the little-endian layout. */
  readonly version?: 2 | 3;
  /** Written in iteration order. `general.alignment`, when present, sets the alignment. */
  readonly metadata?: ReadonlyMap<string, GgufValue> | Iterable<readonly [string, GgufValue]>;
  readonly tensors?: readonly GgufTensorInput[];
}

const INT_RANGES: Partial<Record<GgufType, [number, number]>> = {
  [GgufType.UINT8]: [0, 0xff], [GgufType.INT8]: [-0x80, 0x7f],
  [GgufType.UINT16]: [0, 0xffff], [GgufType.INT16]: [-0x8000, 0x7fff],
  [GgufType.UINT32]: [0, 0xffffffff], [GgufType.INT32]: [-0x80000000, 0x7fffffff],
};
const BIGINT_RANGES: Partial<Record<GgufType, [bigint, bigint]>> = {
  [GgufType.UINT64]: [0n, 2n ** 64n - 1n], [GgufType.INT64]: [-(2n ** 63n), 2n ** 63n - 1n],
};

class Sink {
  private buf: Buffer = Buffer.alloc(1024);
  len = 0;

  private grow(n: number): void {
    if (this.len + n <= this.buf.length) return;
    const next = Buffer.alloc(Math.max(this.buf.length * 2, this.len + n));
    this.buf.copy(next, 0, 0, this.len);
    this.buf = next;
  }

  u8(v: number): void { this.grow(1); this.buf.writeUInt8(v, this.len); this.len += 1; }
  i8(v: number): void { this.grow(1); this.buf.writeInt8(v, this.len); this.len += 1; }
  u16(v: number): void { this.grow(2); this.buf.writeUInt16LE(v, this.len); this.len += 2; }
  i16(v: number): void { this.grow(2); this.buf.writeInt16LE(v, this.len); this.len += 2; }
  u32(v: number): void { this.grow(4); this.buf.writeUInt32LE(v, this.len); this.len += 4; }
  i32(v: number): void { this.grow(4); this.buf.writeInt32LE(v, this.len); this.len += 4; }
  f32(v: number): void { this.grow(4); this.buf.writeFloatLE(v, this.len); this.len += 4; }
  f64(v: number): void { this.grow(8); this.buf.writeDoubleLE(v, this.len); this.len += 8; }
  u64(v: bigint): void { this.grow(8); this.buf.writeBigUInt64LE(v, this.len); this.len += 8; }
  i64(v: bigint): void { this.grow(8); this.buf.writeBigInt64LE(v, this.len); this.len += 8; }
  bytes(b: Uint8Array): void { this.grow(b.length); this.buf.set(b, this.len); this.len += b.length; }
  string(s: string): void {
    const b = Buffer.from(s, 'utf8');
    this.u64(BigInt(b.length));
    this.bytes(b);
  }
  padTo(alignment: number): void {
    const target = alignUp(this.len, alignment);
    this.grow(target - this.len);
    this.buf.fill(0, this.len, target);
    this.len = target;
  }
  result(): Buffer { return this.buf.subarray(0, this.len); }
}

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

function checkString(s: unknown, what: string): string {
  if (typeof s !== 'string') throw invalidArg(what, 'a string', s);
  if (LONE_SURROGATE.test(s)) throw invalidArg(what, 'a well-formed string (no lone surrogates)', s);
  return s;
}

function checkScalar(type: GgufType, v: unknown, what: string): void {
  const ints = INT_RANGES[type];
  if (ints !== undefined) {
    if (typeof v !== 'number' || !Number.isInteger(v) || v < ints[0] || v > ints[1]) {
      throw invalidArg(what, `an integer in [${ints[0]}, ${ints[1]}] for ${ggufTypeName(type)}`, v);
    }
    return;
  }
  const bigs = BIGINT_RANGES[type];
  if (bigs !== undefined) {
    if (typeof v !== 'bigint' || v < bigs[0] || v > bigs[1]) {
      throw invalidArg(what, `a bigint in [${bigs[0]}, ${bigs[1]}] for ${ggufTypeName(type)}`, v);
    }
    return;
  }
  switch (type) {
    case GgufType.FLOAT32:
    case GgufType.FLOAT64:
      if (typeof v !== 'number') throw invalidArg(what, `a number for ${ggufTypeName(type)}`, v);
      return;
    case GgufType.BOOL:
      if (typeof v !== 'boolean') throw invalidArg(what, 'a boolean', v);
      return;
    case GgufType.STRING:
      checkString(v, what);
      return;
    default:
      throw invalidArg(`${what} type`, 'a GGUF scalar type (0-8, 10-12)', type);
  }
}

/** Throws ERR_INVALID_ARG, naming `what`, unless `value` is a GgufValue this writer can encode. */
export function checkGgufValue(value: unknown, what: string): asserts value is GgufValue {
  if (typeof value !== 'object' || value === null) throw invalidArg(what, 'a GgufValue', value);
  const v = value as { type?: unknown; itemType?: unknown; value?: unknown };
  if (v.type === GgufType.ARRAY) {
    if (!Array.isArray(v.value)) throw invalidArg(`${what}.value`, 'an array', v.value);
    if (typeof v.itemType !== 'number' || v.itemType === GgufType.ARRAY) {
      throw invalidArg(`${what}.itemType`, 'a GGUF scalar type (0-8, 10-12)', v.itemType);
    }
    const itemType = v.itemType as GgufType;
    v.value.forEach((item: unknown, i: number) => checkScalar(itemType, item, `${what}[${i}]`));
    return;
  }
  if (typeof v.type !== 'number') throw invalidArg(`${what}.type`, 'a GGUF type number', v.type);
  checkScalar(v.type as GgufType, v.value, what);
}

function writeScalar(out: Sink, type: GgufType, v: unknown): void {
  switch (type) {
    case GgufType.UINT8: return out.u8(v as number);
    case GgufType.INT8: return out.i8(v as number);
    case GgufType.UINT16: return out.u16(v as number);
    case GgufType.INT16: return out.i16(v as number);
    case GgufType.UINT32: return out.u32(v as number);
    case GgufType.INT32: return out.i32(v as number);
    case GgufType.FLOAT32: return out.f32(v as number);
    case GgufType.FLOAT64: return out.f64(v as number);
    case GgufType.UINT64: return out.u64(v as bigint);
    case GgufType.INT64: return out.i64(v as bigint);
    case GgufType.BOOL: return out.u8(v ? 1 : 0);
    case GgufType.STRING: return out.string(v as string);
    default: throw new PersonaSteerError(ErrorCodes.INVALID_ARG, `cannot write GGUF type ${type}`);
  }
}

interface PreparedTensor { name: string; dims: readonly number[]; type: number; bytes: Uint8Array }

function prepareTensor(t: GgufTensorInput, i: number): PreparedTensor {
  const what = `tensors[${i}]`;
  if (typeof t !== 'object' || t === null) throw invalidArg(what, 'a tensor object', t);
  const name = checkString(t.name, `${what}.name`);
  const nameBytes = Buffer.byteLength(name, 'utf8');
  if (nameBytes === 0 || nameBytes > GGUF_MAX_TENSOR_NAME_BYTES) {
    throw invalidArg(`${what}.name`, `1 to ${GGUF_MAX_TENSOR_NAME_BYTES} bytes of UTF-8`, name);
  }
  let type: number;
  let bytes: Uint8Array;
  let dims: readonly number[];
  if ('data' in t) {
    if (!(t.data instanceof Float32Array)) throw invalidArg(`${what}.data`, 'a Float32Array', t.data);
    type = GGML_TYPE_F32;
    dims = t.dims ?? [t.data.length];
    bytes = f32Bytes(t.data);
  } else {
    if (!(t.bytes instanceof Uint8Array)) throw invalidArg(`${what}.bytes`, 'a Uint8Array', t.bytes);
    type = t.type;
    dims = t.dims;
    bytes = t.bytes;
  }
  const traits = GGML_TYPES.get(type);
  if (traits === undefined) throw invalidArg(`${what}.type`, 'a known ggml type id', type);
  if (!Array.isArray(dims) || dims.length > GGUF_MAX_DIMS) {
    throw invalidArg(`${what}.dims`, `an array of at most ${GGUF_MAX_DIMS} dimensions`, dims);
  }
  let elements = 1;
  for (const [d, n] of dims.entries()) {
    if (!Number.isSafeInteger(n) || n < 0) throw invalidArg(`${what}.dims[${d}]`, 'a non-negative integer', n);
    elements *= n;
  }
  const row = dims[0] ?? 1;
  if (row % traits.blockSize !== 0) {
    throw invalidArg(`${what}.dims[0]`, `a multiple of ${traits.blockSize} for ${traits.name}`, row);
  }
  const expected = (elements / traits.blockSize) * traits.typeSize;
  if (bytes.length !== expected) {
    throw invalidArg(`${what} data`, `${expected} bytes for dims [${dims.join(', ')}] of ${traits.name}`, bytes);
  }
  return { name, dims, type, bytes };
}

function f32Bytes(data: Float32Array): Uint8Array {
  // Buffer.writeFloatLE would go through a double; copying the bytes keeps NaN payloads.
  const copy = new Uint8Array(data.length * 4);
  const view = new DataView(copy.buffer);
  const bits = new Uint32Array(data.buffer, data.byteOffset, data.length);
  for (let i = 0; i < bits.length; i++) view.setUint32(i * 4, bits[i]!, true);
  return copy;
}

function alignmentOf(metadata: ReadonlyMap<string, GgufValue>): number {
  const v = metadata.get(GGUF_ALIGNMENT_KEY);
  if (v === undefined) return GGUF_DEFAULT_ALIGNMENT;
  if (v.type !== GgufType.UINT32 || v.value === 0 || (v.value & (v.value - 1)) !== 0) {
    throw invalidArg(`metadata["${GGUF_ALIGNMENT_KEY}"]`, 'a UINT32 power of two', v.value);
  }
  return v.value;
}

export function encodeGguf(input: GgufWriteInput): Buffer {
  if (typeof input !== 'object' || input === null) throw invalidArg('input', 'an object', input);
  const version = input.version ?? 3;
  if (version !== 2 && version !== 3) throw invalidArg('input.version', '2 or 3', version);

  const metadata = new Map<string, GgufValue>();
  for (const [key, value] of input.metadata ?? []) {
    checkString(key, 'metadata key');
    if (key.length === 0) throw invalidArg('metadata key', 'a non-empty string', key);
    if (metadata.has(key)) throw invalidArg('metadata', 'unique keys', key);
    checkGgufValue(value, `metadata["${key}"]`);
    metadata.set(key, value);
  }
  const alignment = alignmentOf(metadata);
  const tensors = (input.tensors ?? []).map(prepareTensor);
  const names = new Set<string>();
  for (const t of tensors) {
    if (names.has(t.name)) throw invalidArg('tensors', 'unique tensor names', t.name);
    names.add(t.name);
  }

  const out = new Sink();
  out.u32(GGUF_MAGIC);
  out.u32(version);
  out.u64(BigInt(tensors.length));
  out.u64(BigInt(metadata.size));
  for (const [key, value] of metadata) {
    out.string(key);
    out.u32(value.type);
    if (value.type === GgufType.ARRAY) {
      out.u32(value.itemType);
      out.u64(BigInt(value.value.length));
      for (const item of value.value) writeScalar(out, value.itemType, item);
    } else {
      writeScalar(out, value.type, value.value);
    }
  }
  let offset = 0;
  for (const t of tensors) {
    out.string(t.name);
    out.u32(t.dims.length);
    for (const d of t.dims) out.u64(BigInt(d));
    out.u32(t.type);
    out.u64(BigInt(offset));
    offset += alignUp(t.bytes.length, alignment);
  }
  out.padTo(alignment);
  for (const t of tensors) {
    out.bytes(t.bytes);
    out.padTo(alignment);
  }
  return out.result();
}

