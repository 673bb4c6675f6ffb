// A GGUF model file as an editable value: every key/value with its exact type, every tensor
// info, and the data section as bytes, written back in gguf.cpp's layout. For the model-file
// fuzzer, so it is lenient where the format is not (it keeps invalid UTF-8, NUL bytes, any
// type id) and shares no code with lib/vector/. Written from the GGUF format description.

export const T = {
  u8: 0, i8: 1, u16: 2, i16: 3, u32: 4, i32: 5, f32: 6, bool: 7, string: 8, array: 9, u64: 10, i64: 11, f64: 12,
} as const;

const SIZE: Record<number, number> = { 0: 1, 1: 1, 2: 2, 3: 2, 4: 4, 5: 4, 6: 4, 7: 1, 10: 8, 11: 8, 12: 8 };

/** A scalar: numbers for up-to-32-bit types and floats, bigint for 64-bit integers, bytes for strings. */
export type Scalar = number | bigint | boolean | Buffer;

export interface Kv {
  key: Buffer;
  type: number;
  /** Scalars: the value. Arrays: the element values. */
  value: Scalar | Scalar[];
  /** For arrays, the element type. */
  elemType?: number;
}

export interface TensorInfo {
  name: Buffer;
  dims: bigint[];
  type: number;
  offset: bigint;
}

export interface GgufModel {
  version: number;
  kvs: Kv[];
  tensors: TensorInfo[];
  /** Everything from the start of the data section to the end of the file. */
  data: Buffer;
}

class Reader {
  p = 0;
  constructor(readonly b: Buffer) {}
  u32(): number { const v = this.b.readUInt32LE(this.p); this.p += 4; return v; }
  u64(): bigint { const v = this.b.readBigUInt64LE(this.p); this.p += 8; return v; }
  bytes(n: number): Buffer { const v = this.b.subarray(this.p, this.p + n); if (v.length !== n) throw new Error('short read'); this.p += n; return Buffer.from(v); }
  str(): Buffer { return this.bytes(Number(this.u64())); }
  scalar(type: number): Scalar {
    const b = this.b;
    const at = this.p;
    switch (type) {
      case T.u8: this.p += 1; return b.readUInt8(at);
      case T.i8: this.p += 1; return b.readInt8(at);
      case T.u16: this.p += 2; return b.readUInt16LE(at);
      case T.i16: this.p += 2; return b.readInt16LE(at);
      case T.u32: this.p += 4; return b.readUInt32LE(at);
      case T.i32: this.p += 4; return b.readInt32LE(at);
      case T.f32: this.p += 4; return b.readFloatLE(at);
      case T.bool: this.p += 1; return b.readUInt8(at) !== 0;
      case T.string: return this.str();
      case T.u64: this.p += 8; return b.readBigUInt64LE(at);
      case T.i64: this.p += 8; return b.readBigInt64LE(at);
      case T.f64: this.p += 8; return b.readDoubleLE(at);
      default: throw new Error(`unknown type ${type}`);
    }
  }
}

function alignmentOf(kvs: Kv[]): number {
  const kv = kvs.find((k) => k.key.toString('latin1') === 'general.alignment');
  if (!kv || kv.type !== T.u32) return 32;
  const a = Number(kv.value);
  // Larger alignments are laid out as 32 too: the fuzzer must not write gigabytes of padding.
  return a > 0 && a <= 65536 && (a & (a - 1)) === 0 ? a : 32;
}

/** Parses a well-formed GGUF (the fuzzer's starting points). */
export function parseGguf(buf: Buffer): GgufModel {
  const r = new Reader(buf);
  if (r.bytes(4).toString('latin1') !== 'GGUF') throw new Error('not GGUF');
  const version = r.u32();
  const nTensors = Number(r.u64());
  const nKv = Number(r.u64());
  const kvs: Kv[] = [];
  for (let i = 0; i < nKv; i++) {
    const key = r.str();
    const type = r.u32();
    if (type === T.array) {
      const elemType = r.u32();
      const n = Number(r.u64());
      const value: Scalar[] = [];
      for (let k = 0; k < n; k++) value.push(r.scalar(elemType));
      kvs.push({ key, type, elemType, value });
    } else {
      kvs.push({ key, type, value: r.scalar(type) });
    }
  }
  const tensors: TensorInfo[] = [];
  for (let i = 0; i < nTensors; i++) {
    const name = r.str();
    const nd = r.u32();
    const dims: bigint[] = [];
    for (let d = 0; d < nd; d++) dims.push(r.u64());
    const type = r.u32();
    const offset = r.u64();
    tensors.push({ name, dims, type, offset });
  }
  const align = alignmentOf(kvs);
  const dataStart = Math.ceil(r.p / align) * align;
  return { version, kvs, tensors, data: Buffer.from(buf.subarray(dataStart)) };
}

class Writer {
  parts: Buffer[] = [];
  n = 0;
  push(b: Buffer): void { this.parts.push(b); this.n += b.length; }
  u32(v: number): void { const b = Buffer.alloc(4); b.writeUInt32LE(v >>> 0); this.push(b); }
  u64(v: bigint): void { const b = Buffer.alloc(8); b.writeBigUInt64LE(BigInt.asUintN(64, v)); this.push(b); }
  str(s: Buffer): void { this.u64(BigInt(s.length)); this.push(s); }
  scalar(type: number, v: Scalar): void {
    const size = SIZE[type];
    if (type === T.string) { this.str(Buffer.isBuffer(v) ? v : Buffer.from(String(v))); return; }
    if (size === undefined) return; // an unknown type id: no payload (the reader must refuse it)
    const b = Buffer.alloc(size);
    const num = typeof v === 'bigint' ? Number(v) : typeof v === 'boolean' ? (v ? 1 : 0) : Buffer.isBuffer(v) ? 0 : v;
    switch (type) {
      case T.u8: b.writeUInt8(num & 0xff); break;
      case T.i8: b.writeInt8(((num & 0xff) << 24) >> 24); break;
      case T.u16: b.writeUInt16LE(num & 0xffff); break;
      case T.i16: b.writeInt16LE(((num & 0xffff) << 16) >> 16); break;
      case T.u32: b.writeUInt32LE(num >>> 0); break;
      case T.i32: b.writeInt32LE(num | 0); break;
      case T.f32: b.writeFloatLE(num); break;
      case T.bool: b.writeUInt8(num & 0xff); break;
      case T.u64: b.writeBigUInt64LE(BigInt.asUintN(64, typeof v === 'bigint' ? v : BigInt(Math.trunc(num)))); break;
      case T.i64: b.writeBigInt64LE(BigInt.asIntN(64, typeof v === 'bigint' ? v : BigInt(Math.trunc(num)))); break;
      case T.f64: b.writeDoubleLE(num); break;
    }
    this.push(b);
  }
  pad(align: number): void { const k = (align - (this.n % align)) % align; if (k) this.push(Buffer.alloc(k)); }
}

/** Writes the model back; the data section follows the header, padded to general.alignment. */
export function writeGguf(m: GgufModel): Buffer {
  const w = new Writer();
  w.push(Buffer.from('GGUF', 'latin1'));
  w.u32(m.version);
  w.u64(BigInt(m.tensors.length));
  w.u64(BigInt(m.kvs.length));
  for (const kv of m.kvs) {
    w.str(kv.key);
    w.u32(kv.type);
    if (kv.type === T.array) {
      const et = kv.elemType ?? T.u8;
      const arr = kv.value as Scalar[];
      w.u32(et);
      w.u64(BigInt(arr.length));
      for (const x of arr) w.scalar(et, x);
    } else {
      w.scalar(kv.type, kv.value as Scalar);
    }
  }
  for (const t of m.tensors) {
    w.str(t.name);
    w.u32(t.dims.length);
    for (const d of t.dims) w.u64(d);
    w.u32(t.type);
    w.u64(t.offset);
  }
  w.pad(alignmentOf(m.kvs));
  w.push(m.data);
  return Buffer.concat(w.parts);
}

export function cloneGguf(m: GgufModel): GgufModel {
  return {
    version: m.version,
    kvs: m.kvs.map((k) => ({ ...k, key: Buffer.from(k.key), value: Array.isArray(k.value) ? [...k.value] : k.value })),
    tensors: m.tensors.map((t) => ({ ...t, name: Buffer.from(t.name), dims: [...t.dims] })),
    data: m.data,
  };
}

export function findKv(m: GgufModel, key: string): Kv | undefined {
  return m.kvs.find((k) => k.key.toString('latin1') === key);
}

/** Sets a key (replacing it where it is, appending otherwise). */
export function setKv(m: GgufModel, key: string, type: number, value: Scalar | Scalar[], elemType?: number): void {
  const kv: Kv = { key: Buffer.from(key, 'latin1'), type, value, ...(elemType !== undefined ? { elemType } : {}) };
  const i = m.kvs.findIndex((k) => k.key.toString('latin1') === key);
  if (i >= 0) m.kvs[i] = kv; else m.kvs.push(kv);
}
