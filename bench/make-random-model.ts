// A llama-architecture GGUF with random weights, for speed measurements where n_embd matters
// (random weights decode as fast as trained ones). Deterministic from the seed: the same spec
// gives the same bytes. The tokenizer is copied from stories260K's metadata (vocabulary 512,
// SentencePiece-style) when that file is at hand, otherwise a small synthetic byte vocabulary.
//
//   node dist/bench/make-random-model.js --blocks 16 --embd 1024 --type q8_0 --seed 1 [--out file.gguf]
//
// Written as a stream (header, tensor infos, then one tensor at a time), so memory stays at one
// tensor however large the model is. Q8_0 blocks are 32 values: an f16 scale and 32 int8.
import fs from 'node:fs';
import path from 'node:path';

// GGUF value types (self-contained: this file is also imported from TypeScript sources by tests).
enum GgufType { UINT8 = 0, INT8 = 1, UINT16 = 2, INT16 = 3, UINT32 = 4, INT32 = 5, FLOAT32 = 6, BOOL = 7, STRING = 8, ARRAY = 9, UINT64 = 10, INT64 = 11, FLOAT64 = 12 }
interface GgufValue { type: GgufType; value: unknown; itemType?: GgufType }

/** The metadata key-value pairs of a GGUF file (a trusted local model; no tensor data is read). */
export function readGgufMetadata(bytes: Buffer): Map<string, GgufValue> {
  let o = 0;
  const u32 = () => { const v = bytes.readUInt32LE(o); o += 4; return v; };
  const u64 = () => { const v = Number(bytes.readBigUInt64LE(o)); o += 8; return v; };
  const str = () => { const n = u64(); const v = bytes.toString('utf8', o, o + n); o += n; return v; };
  const scalar = (t: GgufType): unknown => {
    switch (t) {
      case GgufType.UINT8: return bytes.readUInt8(o++);
      case GgufType.INT8: return bytes.readInt8(o++);
      case GgufType.UINT16: { const v = bytes.readUInt16LE(o); o += 2; return v; }
      case GgufType.INT16: { const v = bytes.readInt16LE(o); o += 2; return v; }
      case GgufType.UINT32: return u32();
      case GgufType.INT32: { const v = bytes.readInt32LE(o); o += 4; return v; }
      case GgufType.FLOAT32: { const v = bytes.readFloatLE(o); o += 4; return v; }
      case GgufType.BOOL: return bytes.readUInt8(o++) !== 0;
      case GgufType.STRING: return str();
      case GgufType.UINT64: { const v = bytes.readBigUInt64LE(o); o += 8; return v; }
      case GgufType.INT64: { const v = bytes.readBigInt64LE(o); o += 8; return v; }
      case GgufType.FLOAT64: { const v = bytes.readDoubleLE(o); o += 8; return v; }
      default: throw new Error(`GGUF type ${t} at offset ${o}`);
    }
  };
  if (u32() !== 0x46554747) throw new Error('not a GGUF file');
  const version = u32();
  if (version < 2) throw new Error(`GGUF version ${version}`);
  u64();
  const nKv = u64();
  const out = new Map<string, GgufValue>();
  for (let i = 0; i < nKv; i++) {
    const key = str();
    const type = u32() as GgufType;
    if (type === GgufType.ARRAY) {
      const itemType = u32() as GgufType;
      const n = u64();
      const value: unknown[] = new Array(n);
      for (let k = 0; k < n; k++) value[k] = scalar(itemType);
      out.set(key, { type, itemType, value });
    } else {
      out.set(key, { type, value: scalar(type) });
    }
  }
  return out;
}

export type WeightType = 'f32' | 'f16' | 'q8_0';

export interface RandomModelSpec {
  blocks: number;
  embd: number;
  /** Feed-forward width (default: 2.75 x embd rounded up to 32: 2816 for 1024). */
  ff?: number;
  /** Attention heads (default embd / 64, at least 1). */
  heads?: number;
  /** Key/value heads (default heads / 4, at least 1). */
  headsKv?: number;
  type: WeightType;
  seed: number;
  /** llama.context_length (default 4096). */
  context?: number;
}

const GGML = { f32: 0, f16: 1, q8_0: 8 } as const;
const ALIGN = 32;

export function normalizeSpec(s: RandomModelSpec): Required<RandomModelSpec> {
  const heads = s.heads ?? Math.max(1, Math.floor(s.embd / 64));
  const ff = s.ff ?? Math.ceil((s.embd * 2.75) / 32) * 32;
  return { blocks: s.blocks, embd: s.embd, ff, heads, headsKv: s.headsKv ?? Math.max(1, Math.floor(heads / 4)), type: s.type, seed: s.seed, context: s.context ?? 4096 };
}

export function randomModelFileName(spec: RandomModelSpec): string {
  const s = normalizeSpec(spec);
  return `rand-${s.blocks}x${s.embd}-ff${s.ff}-h${s.heads}-kv${s.headsKv}-${s.type}-s${s.seed}.gguf`;
}

// mulberry32 as 32-bit integers, the same generator as lib/seeded-random.ts. Kept here because
// the tests load this file from source, where bench/ cannot import the library (the other bench
// files import it compiled, from dist/).
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  };
}

/** Float to IEEE half bits (round to nearest; no denormal output needed for these magnitudes). */
export function f32ToF16(x: number): number {
  const f = new Float32Array(1);
  const u = new Uint32Array(f.buffer);
  f[0] = x;
  const bits = u[0];
  const sign = (bits >>> 16) & 0x8000;
  const exp = ((bits >>> 23) & 0xff) - 127 + 15;
  const mant = bits & 0x7fffff;
  if (exp <= 0) return sign;
  if (exp >= 31) return sign | 0x7c00;
  let h = sign | (exp << 10) | (mant >>> 13);
  if ((mant & 0x1fff) > 0x1000 || ((mant & 0x1fff) === 0x1000 && (h & 1))) h++;
  return h;
}

/** Random bytes of one tensor in the given type: weights of magnitude ~ 1/sqrt(fan-in). */
function tensorBytes(type: WeightType, elements: number, rowLen: number, next: () => number): Uint8Array {
  const scale = 1 / Math.sqrt(rowLen);
  if (type === 'q8_0') {
    const nBlocks = elements / 32;
    const out = new Uint8Array(nBlocks * 34);
    const dv = new DataView(out.buffer);
    // Uniform int8 in [-127, 127] has standard deviation ~73: d = scale / 73.
    const d = f32ToF16(scale / 73);
    for (let b = 0; b < nBlocks; b++) {
      const o = b * 34;
      dv.setUint16(o, d, true);
      for (let k = 0; k < 32; k += 4) {
        const r = next();
        for (let j = 0; j < 4; j++) {
          const v = ((r >>> (8 * j)) & 0xff) % 255; // 0..254
          out[o + 2 + k + j] = (v - 127) & 0xff;
        }
      }
    }
    return out;
  }
  if (type === 'f16') {
    const out = new Uint16Array(elements);
    // A few magnitudes around `scale`, random sign and mantissa: no subnormals, no infinities.
    const e0 = Math.max(1, Math.round(Math.log2(scale)) + 15 - 1);
    for (let i = 0; i < elements; i += 2) {
      const r = next();
      for (let j = 0; j < 2 && i + j < elements; j++) {
        const w = (r >>> (16 * j)) & 0xffff;
        const sign = (w & 1) << 15;
        const exp = e0 + ((w >>> 1) & 1);
        const mant = (w >>> 2) & 0x3ff;
        out[i + j] = sign | (exp << 10) | mant;
      }
    }
    return new Uint8Array(out.buffer);
  }
  const out = new Float32Array(elements);
  for (let i = 0; i < elements; i++) out[i] = ((next() / 0xffffffff) * 2 - 1) * scale * 1.7;
  return new Uint8Array(out.buffer);
}

// ---- GGUF encoding (metadata values as readGguf returns them) ----

class Chunks {
  parts: Buffer[] = [];
  u32(v: number): void { const b = Buffer.alloc(4); b.writeUInt32LE(v >>> 0); this.parts.push(b); }
  i32(v: number): void { const b = Buffer.alloc(4); b.writeInt32LE(v); this.parts.push(b); }
  u64(v: number | bigint): void { const b = Buffer.alloc(8); b.writeBigUInt64LE(BigInt(v)); this.parts.push(b); }
  f32(v: number): void { const b = Buffer.alloc(4); b.writeFloatLE(v); this.parts.push(b); }
  str(s: string): void { const b = Buffer.from(s, 'utf8'); this.u64(b.length); this.parts.push(b); }
  scalar(type: GgufType, v: unknown): void {
    switch (type) {
      case GgufType.UINT8: { const b = Buffer.alloc(1); b.writeUInt8(v as number); this.parts.push(b); return; }
      case GgufType.INT8: { const b = Buffer.alloc(1); b.writeInt8(v as number); this.parts.push(b); return; }
      case GgufType.UINT16: { const b = Buffer.alloc(2); b.writeUInt16LE(v as number); this.parts.push(b); return; }
      case GgufType.INT16: { const b = Buffer.alloc(2); b.writeInt16LE(v as number); this.parts.push(b); return; }
      case GgufType.UINT32: return this.u32(v as number);
      case GgufType.INT32: return this.i32(v as number);
      case GgufType.FLOAT32: return this.f32(v as number);
      case GgufType.FLOAT64: { const b = Buffer.alloc(8); b.writeDoubleLE(v as number); this.parts.push(b); return; }
      case GgufType.UINT64: return this.u64(v as bigint);
      case GgufType.INT64: { const b = Buffer.alloc(8); b.writeBigInt64LE(v as bigint); this.parts.push(b); return; }
      case GgufType.BOOL: { this.parts.push(Buffer.from([v ? 1 : 0])); return; }
      case GgufType.STRING: return this.str(v as string);
      default: throw new Error(`cannot encode GGUF type ${type}`);
    }
  }
  kv(key: string, value: GgufValue): void {
    this.str(key);
    this.u32(value.type);
    if (value.type === GgufType.ARRAY) {
      const items = value.value as readonly unknown[];
      const itemType = value.itemType as GgufType;
      this.u32(itemType);
      this.u64(items.length);
      for (const item of items) this.scalar(itemType, item);
    } else {
      this.scalar(value.type, value.value);
    }
  }
  get length(): number { return this.parts.reduce((n, p) => n + p.length, 0); }
}

const u32 = (value: number): GgufValue => ({ type: GgufType.UINT32, value });
const f32 = (value: number): GgufValue => ({ type: GgufType.FLOAT32, value });
const str = (value: string): GgufValue => ({ type: GgufType.STRING, value });

/** stories260K's tokenizer.* metadata, or a synthetic byte-level SentencePiece vocabulary. */
export function tokenizerMetadata(source: string | null): Map<string, GgufValue> {
  const out = new Map<string, GgufValue>();
  if (source && fs.existsSync(source)) {
    for (const [k, v] of readGgufMetadata(fs.readFileSync(source))) if (k.startsWith('tokenizer.')) out.set(k, v);
    if (out.has('tokenizer.ggml.tokens')) return out;
    out.clear();
  }
  const tokens = ['<unk>', '<s>', '</s>'];
  const types = [2, 3, 3];
  for (let b = 0; b < 256; b++) { tokens.push(`<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`); types.push(6); }
  for (const p of ['\u2581', '\u2581the', '\u2581a', 'e', 't', 'a', 'o', 'n', 's', 'h', 'r', 'd', 'l', '\u2581and', '\u2581to']) { tokens.push(p); types.push(1); }
  out.set('tokenizer.ggml.model', str('llama'));
  out.set('tokenizer.ggml.tokens', { type: GgufType.ARRAY, itemType: GgufType.STRING, value: tokens });
  out.set('tokenizer.ggml.scores', { type: GgufType.ARRAY, itemType: GgufType.FLOAT32, value: tokens.map((_, i) => -i) });
  out.set('tokenizer.ggml.token_type', { type: GgufType.ARRAY, itemType: GgufType.INT32, value: types });
  out.set('tokenizer.ggml.bos_token_id', u32(1));
  out.set('tokenizer.ggml.eos_token_id', u32(2));
  out.set('tokenizer.ggml.unknown_token_id', u32(0));
  return out;
}

interface TensorPlan { name: string; dims: number[]; type: WeightType; offset: number; bytes: number }

function bytesOf(type: WeightType, elements: number): number {
  return type === 'q8_0' ? (elements / 32) * 34 : type === 'f16' ? elements * 2 : elements * 4;
}

const alignUp = (n: number, a: number) => Math.ceil(n / a) * a;

/** Writes the model to `file` (atomically: a temporary file renamed at the end). */
export function writeRandomModel(spec: RandomModelSpec, file: string, tokenizerSource: string | null): void {
  const s = normalizeSpec(spec);
  if (s.embd % 32 !== 0 || s.ff % 32 !== 0) throw new Error('embd and ff must be multiples of 32');
  if (s.embd % s.heads !== 0 || s.heads % s.headsKv !== 0) throw new Error('embd must divide into heads, heads into kv heads');
  const tok = tokenizerMetadata(tokenizerSource);
  const vocab = (tok.get('tokenizer.ggml.tokens') as { value: readonly unknown[] }).value.length;
  const headDim = s.embd / s.heads;
  const kvDim = headDim * s.headsKv;
  const md = new Map<string, GgufValue>([
    ['general.architecture', str('llama')],
    ['general.name', str(`persona-steer random ${s.blocks}x${s.embd} ${s.type}`)],
    ['general.description', str(`random weights (seed ${s.seed}) for speed measurements only`)],
    ['general.file_type', u32(s.type === 'q8_0' ? 7 : s.type === 'f16' ? 1 : 0)],
    ['general.alignment', u32(ALIGN)],
    ['llama.context_length', u32(s.context)],
    ['llama.embedding_length', u32(s.embd)],
    ['llama.block_count', u32(s.blocks)],
    ['llama.feed_forward_length', u32(s.ff)],
    ['llama.rope.dimension_count', u32(headDim)],
    ['llama.attention.head_count', u32(s.heads)],
    ['llama.attention.head_count_kv', u32(s.headsKv)],
    ['llama.attention.layer_norm_rms_epsilon', f32(1e-5)],
    ['llama.vocab_size', u32(vocab)],
    ...tok,
  ]);
  // Quantized matrices; norms stay F32. Q8_0 rows must be multiples of 32 (embd, ff are).
  const w = s.type;
  const defs: [string, number[], WeightType][] = [['token_embd.weight', [s.embd, vocab], w]];
  for (let b = 0; b < s.blocks; b++) {
    defs.push(
      [`blk.${b}.attn_norm.weight`, [s.embd], 'f32'],
      [`blk.${b}.attn_q.weight`, [s.embd, s.embd], w],
      [`blk.${b}.attn_k.weight`, [s.embd, kvDim], w],
      [`blk.${b}.attn_v.weight`, [s.embd, kvDim], w],
      [`blk.${b}.attn_output.weight`, [s.embd, s.embd], w],
      [`blk.${b}.ffn_norm.weight`, [s.embd], 'f32'],
      [`blk.${b}.ffn_gate.weight`, [s.embd, s.ff], w],
      [`blk.${b}.ffn_up.weight`, [s.embd, s.ff], w],
      [`blk.${b}.ffn_down.weight`, [s.ff, s.embd], w],
    );
  }
  defs.push(['output_norm.weight', [s.embd], 'f32'], ['output.weight', [s.embd, vocab], w]);
  let offset = 0;
  const plan: TensorPlan[] = defs.map(([name, dims, type]) => {
    const elements = dims.reduce((a, b) => a * b, 1);
    const t = { name, dims, type, offset, bytes: bytesOf(type, elements) };
    offset += alignUp(t.bytes, ALIGN);
    return t;
  });

  const head = new Chunks();
  head.u32(0x46554747);
  head.u32(3);
  head.u64(plan.length);
  head.u64(md.size);
  for (const [k, v] of md) head.kv(k, v);
  for (const t of plan) {
    head.str(t.name);
    head.u32(t.dims.length);
    for (const d of t.dims) head.u64(d);
    head.u32(GGML[t.type]);
    head.u64(t.offset);
  }
  const headLen = head.length;
  head.parts.push(Buffer.alloc(alignUp(headLen, ALIGN) - headLen));

  fs.mkdirSync(path.dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  const fd = fs.openSync(tmp, 'w');
  try {
    for (const p of head.parts) fs.writeSync(fd, p);
    const next = prng(s.seed);
    for (const t of plan) {
      let data: Uint8Array;
      if (t.name.endsWith('_norm.weight')) data = new Uint8Array(new Float32Array(t.dims[0]).fill(1).buffer);
      else data = tensorBytes(t.type, t.dims.reduce((a, b) => a * b, 1), t.dims[0], next);
      fs.writeSync(fd, data);
      const pad = alignUp(t.bytes, ALIGN) - t.bytes;
      if (pad > 0) fs.writeSync(fd, Buffer.alloc(pad));
    }
  } finally {
    fs.closeSync(fd);
  }
  fs.renameSync(tmp, file);
}

/** The model's path in `dir`, generated on first use. */
export function ensureRandomModel(spec: RandomModelSpec, dir: string, tokenizerSource: string | null, log: (m: string) => void = () => undefined): string {
  const file = path.join(dir, randomModelFileName(spec));
  if (fs.existsSync(file)) return file;
  const t0 = Date.now();
  log(`generating ${path.basename(file)} (random weights, seed ${spec.seed}) ...`);
  writeRandomModel(spec, file, tokenizerSource);
  log(`generated ${path.basename(file)}: ${(fs.statSync(file).size / 2 ** 20).toFixed(0)} MiB in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  return file;
}

if (require.main === module) {
  const args = process.argv.slice(2);
  const get = (k: string, d?: string) => { const i = args.indexOf(`--${k}`); return i >= 0 ? args[i + 1] : d; };
  const spec: RandomModelSpec = {
    blocks: Number(get('blocks', '16')), embd: Number(get('embd', '1024')), type: get('type', 'q8_0') as WeightType,
    seed: Number(get('seed', '1')), ff: get('ff') ? Number(get('ff')) : undefined,
    heads: get('heads') ? Number(get('heads')) : undefined, headsKv: get('heads-kv') ? Number(get('heads-kv')) : undefined,
  };
  const root = path.resolve(__dirname, '..', '..');
  const tokenizer = get('tokenizer', path.resolve(root, '..', 'shared', 'models', 'stories260K.gguf'))!;
  const out = get('out');
  if (out) { writeRandomModel(spec, out, tokenizer); console.log(out); }
  else console.log(ensureRandomModel(spec, path.join(root, 'bench', '.models'), tokenizer, (m) => console.error(m)));
}
