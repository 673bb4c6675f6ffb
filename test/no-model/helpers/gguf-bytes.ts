// A GGUF byte builder for tests, written from the format description and sharing no code with
// lib/vector/. It records where each field lies so that fuzzing can aim at counts and lengths.

export type FieldKind = 'count' | 'version' | 'magic' | 'str-len' | 'str' | 'type' | 'n-dims' | 'dim' | 'ggml-type' | 'offset' | 'value' | 'data';

export interface Field {
  kind: FieldKind;
  offset: number;
  size: number;
}

export type KvSpec =
  | [key: string, type: 'string', value: string]
  | [key: string, type: 'u32' | 'i32' | 'u8' | 'f32' | 'f64', value: number]
  | [key: string, type: 'u64' | 'i64', value: bigint]
  | [key: string, type: 'bool', value: boolean]
  | [key: string, type: 'f32[]' | 'f64[]' | 'i32[]', value: number[]]
  | [key: string, type: 'string[]', value: string[]];

export interface TensorSpec {
  name: string;
  dims: number[];
  ggmlType?: number;
  data: Uint8Array;
  /** Override the computed offset (relative to the data section). */
  offset?: number;
}

const TYPE_ID: Record<string, number> = {
  u8: 0, u32: 4, i32: 5, f32: 6, bool: 7, string: 8, u64: 10, i64: 11, f64: 12,
};

export class ByteBuilder {
  private bytes: number[] = [];
  readonly fields: Field[] = [];

  get length(): number { return this.bytes.length; }

  private push(kind: FieldKind | null, b: Uint8Array | number[]): void {
    if (kind !== null) this.fields.push({ kind, offset: this.bytes.length, size: b.length });
    for (const x of b) this.bytes.push(x);
  }

  u8(v: number, kind: FieldKind | null = 'value'): void { this.push(kind, [v & 0xff]); }
  u32(v: number, kind: FieldKind | null = 'value'): void {
    const b = Buffer.alloc(4); b.writeUInt32LE(v >>> 0); this.push(kind, b);
  }
  i32(v: number, kind: FieldKind | null = 'value'): void {
    const b = Buffer.alloc(4); b.writeInt32LE(v); this.push(kind, b);
  }
  u64(v: bigint | number, kind: FieldKind | null = 'value'): void {
    const b = Buffer.alloc(8); b.writeBigUInt64LE(BigInt(v)); this.push(kind, b);
  }
  i64(v: bigint, kind: FieldKind | null = 'value'): void {
    const b = Buffer.alloc(8); b.writeBigInt64LE(v); this.push(kind, b);
  }
  f32(v: number, kind: FieldKind | null = 'value'): void {
    const b = Buffer.alloc(4); b.writeFloatLE(v); this.push(kind, b);
  }
  f64(v: number, kind: FieldKind | null = 'value'): void {
    const b = Buffer.alloc(8); b.writeDoubleLE(v); this.push(kind, b);
  }
  str(s: string | Uint8Array): void {
    const b = typeof s === 'string' ? Buffer.from(s, 'utf8') : s;
    this.u64(b.length, 'str-len');
    this.push('str', b);
  }
  raw(b: Uint8Array, kind: FieldKind | null = 'data'): void { this.push(kind, b); }
  pad(align: number): void {
    while (this.bytes.length % align !== 0) this.bytes.push(0);
  }
  result(): Buffer { return Buffer.from(this.bytes); }
}

export function f32Bytes(values: ArrayLike<number>): Uint8Array {
  const b = Buffer.alloc(values.length * 4);
  for (let i = 0; i < values.length; i++) b.writeFloatLE(values[i]!, i * 4);
  return b;
}

function writeKv(w: ByteBuilder, kv: KvSpec): void {
  const [key, type, value] = kv;
  w.str(key);
  if (type.endsWith('[]')) {
    const item = type.slice(0, -2);
    w.u32(9, 'type');
    w.u32(TYPE_ID[item]!, 'type');
    const arr = value as Array<number | string>;
    w.u64(arr.length, 'count');
    for (const x of arr) writeScalar(w, item, x);
    return;
  }
  w.u32(TYPE_ID[type]!, 'type');
  writeScalar(w, type, value);
}

function writeScalar(w: ByteBuilder, type: string, v: unknown): void {
  switch (type) {
    case 'string': w.str(v as string); break;
    case 'u8': w.u8(v as number); break;
    case 'u32': w.u32(v as number); break;
    case 'i32': w.i32(v as number); break;
    case 'f32': w.f32(v as number); break;
    case 'f64': w.f64(v as number); break;
    case 'u64': w.u64(v as bigint); break;
    case 'i64': w.i64(v as bigint); break;
    case 'bool': w.u8(v ? 1 : 0); break;
    default: throw new Error(`test builder: unknown type ${type}`);
  }
}

/** A whole GGUF file, laid out like gguf.cpp writes it. */
export function buildGguf(opts: {
  version?: number;
  kvs: KvSpec[];
  tensors: TensorSpec[];
  alignment?: number;
  magic?: string;
}): { bytes: Buffer; fields: Field[] } {
  const align = opts.alignment ?? 32;
  const w = new ByteBuilder();
  w.raw(Buffer.from(opts.magic ?? 'GGUF', 'latin1'), 'magic');
  w.u32(opts.version ?? 3, 'version');
  w.u64(opts.tensors.length, 'count');
  w.u64(opts.kvs.length, 'count');
  for (const kv of opts.kvs) writeKv(w, kv);
  let offset = 0;
  for (const t of opts.tensors) {
    w.str(t.name);
    w.u32(t.dims.length, 'n-dims');
    for (const d of t.dims) w.u64(d, 'dim');
    w.u32(t.ggmlType ?? 0, 'ggml-type');
    w.u64(t.offset ?? offset, 'offset');
    offset += t.data.length + ((align - (t.data.length % align)) % align);
  }
  w.pad(align);
  for (const t of opts.tensors) {
    w.raw(t.data, 'data');
    w.pad(align);
  }
  return { bytes: w.result(), fields: w.fields };
}

/** A control-vector file as cvector-generator writes it, for blocks with the given values. */
export function buildControlVector(blocks: Record<number, number[]>, extraKvs: KvSpec[] = []): { bytes: Buffer; fields: Field[] } {
  const ids = Object.keys(blocks).map(Number);
  return buildGguf({
    kvs: [
      ['general.architecture', 'string', 'controlvector'],
      ['controlvector.model_hint', 'string', 'llama'],
      ['controlvector.layer_count', 'i32', ids.length],
      ...extraKvs,
    ],
    tensors: ids.map((il) => ({ name: `direction.${il}`, dims: [blocks[il]!.length], data: f32Bytes(blocks[il]!) })),
  });
}
