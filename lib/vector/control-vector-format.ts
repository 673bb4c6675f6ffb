// Control-vector GGUF <-> PersonaVector. The layout is the one llama.cpp's cvector-generator and
// repeng's export_gguf write (general.architecture = "controlvector", controlvector.model_hint,
// controlvector.layer_count, F32 tensors direction.<il>); our own metadata lives under
// persona_steer.*, which llama.cpp and repeng ignore.

import { ErrorCodes, PersonaSteerError, invalidArg } from '../errors';
import { GGML_TYPE_F32, GgufType, GgufValue, GgufValues as V, ggufTypeName } from './gguf-format';
import { GgufLimits, GgufTensor, readGguf } from './gguf-reader';
import { encodeGguf } from './gguf-writer';
import { PersonaVector } from './persona-vector';
import { MAX_BLOCK, PersonaVectorMetadata, isReservedKey } from './vector-metadata';

export const FORMAT_VERSION = 1;
export const K = {
  architecture: 'general.architecture',
  alignment: 'general.alignment',
  modelHint: 'controlvector.model_hint',
  layerCount: 'controlvector.layer_count',
  version: 'persona_steer.version',
  blockConvention: 'persona_steer.block_convention',
  hookPoint: 'persona_steer.hook_point',
  method: 'persona_steer.method',
  trait: 'persona_steer.trait',
  description: 'persona_steer.description',
  sourceArchitecture: 'persona_steer.source.architecture',
  sourceBlockCount: 'persona_steer.source.n_layer',
  sourceEmbeddingSize: 'persona_steer.source.n_embd',
  sourceHash: 'persona_steer.source.hash',
  residualNorms: 'persona_steer.residual_norms',
  recommendedBlocks: 'persona_steer.recommended_blocks',
  coefficient: 'persona_steer.coefficient',
  positions: 'persona_steer.positions',
  recommendedBy: 'persona_steer.recommended_by',
  capBlocks: 'persona_steer.cap_blocks',
  capThresholds: 'persona_steer.cap_thresholds',
  capPositions: 'persona_steer.cap_positions',
} as const;
export const ARCHITECTURE = 'controlvector';
export const BLOCK_CONVENTION = 'il';
export const HOOK_POINT = 'l_out';

const INT_TYPES = new Set<number>([
  GgufType.UINT8, GgufType.INT8, GgufType.UINT16, GgufType.INT16, GgufType.UINT32, GgufType.INT32,
  GgufType.UINT64, GgufType.INT64,
]);
const FLOAT_TYPES = new Set<number>([GgufType.FLOAT32, GgufType.FLOAT64]);
// Digits only: llama.cpp's stoi and repeng's int() would take "+1" or " 1", but a name that two
// readers could map to different blocks is better refused.
const DIRECTION = /^direction\.([0-9]{1,5})$/;

function badFile(message: string, cause?: unknown): PersonaSteerError {
  return new PersonaSteerError(ErrorCodes.BAD_FILE, `invalid control-vector file: ${message}`, { cause });
}

function typeOf(v: GgufValue): string {
  return v.type === GgufType.ARRAY ? `ARRAY of ${ggufTypeName(v.itemType)}` : ggufTypeName(v.type);
}

class MetaReader {
  constructor(private readonly kv: ReadonlyMap<string, GgufValue>) {}

  has(key: string): boolean { return this.kv.has(key); }

  string(key: string): string | undefined {
    const v = this.kv.get(key);
    if (v === undefined) return undefined;
    if (v.type !== GgufType.STRING) throw badFile(`${key} must be STRING, found ${typeOf(v)}`);
    return v.value;
  }

  int(key: string): number | undefined {
    const v = this.kv.get(key);
    if (v === undefined) return undefined;
    if (!INT_TYPES.has(v.type)) throw badFile(`${key} must be an integer, found ${typeOf(v)}`);
    const n = v.value as number | bigint;
    if (typeof n === 'bigint' && (n > BigInt(Number.MAX_SAFE_INTEGER) || n < BigInt(Number.MIN_SAFE_INTEGER))) {
      throw badFile(`${key} is ${n}, out of range`);
    }
    return Number(n);
  }

  float(key: string): number | undefined {
    const v = this.kv.get(key);
    if (v === undefined) return undefined;
    if (!FLOAT_TYPES.has(v.type)) throw badFile(`${key} must be FLOAT32 or FLOAT64, found ${typeOf(v)}`);
    return v.value as number;
  }

  array(key: string, itemTypes: ReadonlySet<number>, what: string): number[] | undefined {
    const v = this.kv.get(key);
    if (v === undefined) return undefined;
    if (v.type !== GgufType.ARRAY || !itemTypes.has(v.itemType)) {
      throw badFile(`${key} must be an ARRAY of ${what}, found ${typeOf(v)}`);
    }
    return (v.value as ReadonlyArray<number | bigint>).map((x) => {
      if (typeof x === 'bigint' && (x > BigInt(MAX_BLOCK) || x < 0n)) throw badFile(`${key} holds ${x}, out of range`);
      return Number(x);
    });
  }
}

function readPersonaMeta(m: MetaReader, kv: ReadonlyMap<string, GgufValue>): PersonaVectorMetadata {
  const hasOurs = [...kv.keys()].some((k) => k.startsWith('persona_steer.'));
  const version = m.int(K.version);
  if (hasOurs && version === undefined) throw badFile(`persona_steer.* keys without ${K.version}`);
  if (version !== undefined) {
    if (version !== FORMAT_VERSION) {
      throw badFile(`${K.version} is ${version}; this persona-steer reads version ${FORMAT_VERSION}`);
    }
    const conv = m.string(K.blockConvention);
    if (conv !== BLOCK_CONVENTION) throw badFile(`${K.blockConvention} is ${JSON.stringify(conv)}, expected "${BLOCK_CONVENTION}"`);
    const hook = m.string(K.hookPoint);
    if (hook !== HOOK_POINT) throw badFile(`${K.hookPoint} is ${JSON.stringify(hook)}, expected "${HOOK_POINT}"`);
  }
  const source = {
    architecture: m.string(K.sourceArchitecture),
    blockCount: m.int(K.sourceBlockCount),
    embeddingSize: m.int(K.sourceEmbeddingSize),
    hash: m.string(K.sourceHash),
  };
  const extra: Record<string, GgufValue> = {};
  for (const [k, v] of kv) if (!isReservedKey(k)) extra[k] = v;
  const meta = {
    modelHint: m.string(K.modelHint),
    trait: m.string(K.trait),
    method: m.string(K.method),
    description: m.string(K.description),
    source: Object.values(source).some((x) => x !== undefined) ? source : undefined,
    residualNorms: m.array(K.residualNorms, FLOAT_TYPES, 'FLOAT32 or FLOAT64'),
    recommendedBlocks: m.array(K.recommendedBlocks, INT_TYPES, 'integers'),
    coefficient: m.float(K.coefficient),
    positions: m.string(K.positions),
    recommendedBy: m.string(K.recommendedBy),
    capBlocks: m.array(K.capBlocks, INT_TYPES, 'integers'),
    capThresholds: m.array(K.capThresholds, FLOAT_TYPES, 'FLOAT32 or FLOAT64'),
    capPositions: m.string(K.capPositions),
    extra: Object.keys(extra).length > 0 ? extra : undefined,
  };
  // Absent keys are dropped so that the metadata lists only what the file holds.
  const sourceClean = meta.source && Object.fromEntries(Object.entries(meta.source).filter(([, v]) => v !== undefined));
  return Object.fromEntries(
    Object.entries({ ...meta, source: sourceClean }).filter(([, v]) => v !== undefined),
  ) as PersonaVectorMetadata;
}

function directionBlock(t: GgufTensor): number {
  const m = DIRECTION.exec(t.name);
  if (m === null) throw badFile(`tensor "${t.name}" is not named direction.<block>`);
  const block = Number(m[1]);
  if (block > MAX_BLOCK) throw badFile(`tensor "${t.name}": block ${block} is above ${MAX_BLOCK}`);
  if (t.type !== GGML_TYPE_F32 || t.data === undefined) throw badFile(`tensor "${t.name}" is ${t.typeName}, expected F32`);
  // ggml_n_dims ignores trailing 1s, so llama.cpp takes [n, 1] as 1-D; so do we.
  if (t.dims.length === 0 || t.dims.slice(1).some((d) => d !== 1)) {
    throw badFile(`tensor "${t.name}" has shape [${t.dims.join(', ')}], expected a 1-D [n_embd]`);
  }
  return block;
}

/** Parses control-vector GGUF bytes. Every problem with the bytes is ERR_BAD_FILE. */
export function decodeControlVector(bytes: Uint8Array, limits?: Partial<GgufLimits>): PersonaVector {
  if (!(bytes instanceof Uint8Array)) throw invalidArg('bytes', 'a Uint8Array or Buffer', bytes);
  const file = readGguf(bytes, limits);
  const m = new MetaReader(file.metadata);
  const arch = m.string(K.architecture);
  if (arch !== ARCHITECTURE) throw badFile(`${K.architecture} is ${JSON.stringify(arch)}, expected "${ARCHITECTURE}"`);
  if (m.string(K.modelHint) === undefined) throw badFile(`${K.modelHint} is missing`);
  m.int(K.layerCount); // Any integer: repeng writes UINT32, cvector-generator INT32, both the direction count.
  const meta = readPersonaMeta(m, file.metadata);

  if (file.tensors.length === 0) throw badFile('no direction.<block> tensors');
  const blocks = new Map<number, Float32Array>();
  let embeddingSize: number | undefined;
  for (const t of file.tensors) {
    const block = directionBlock(t);
    if (blocks.has(block)) throw badFile(`two tensors for block ${block} ("${t.name}")`);
    const data = t.data!;
    if (data.length === 0) throw badFile(`tensor "${t.name}" is empty`);
    if (embeddingSize !== undefined && data.length !== embeddingSize) {
      throw badFile(`tensor "${t.name}" has ${data.length} elements, the others ${embeddingSize}`);
    }
    embeddingSize = data.length;
    const i = data.findIndex((x) => !Number.isFinite(x));
    if (i >= 0) throw badFile(`tensor "${t.name}" element ${i} is ${data[i]}`);
    blocks.set(block, data);
  }
  try {
    return PersonaVector.fromBlocks(blocks, meta);
  } catch (e) {
    if (e instanceof PersonaSteerError && e.code === ErrorCodes.INVALID_ARG) throw badFile(e.message, e);
    throw e;
  }
}

/** Encodes a vector as a control-vector GGUF that llama.cpp and repeng can load (see docs/vectors.md for block 0). */
export function encodeControlVector(vector: PersonaVector): Buffer {
  if (!(vector instanceof PersonaVector)) throw invalidArg('vector', 'a PersonaVector', vector);
  const md = vector.metadata;
  const hint = md.modelHint ?? md.source?.architecture;
  if (hint === undefined) {
    throw invalidArg('vector.metadata.modelHint', 'set (it becomes controlvector.model_hint)', undefined);
  }
  const kv: Array<[string, GgufValue]> = [
    [K.architecture, V.string(ARCHITECTURE)],
    [K.modelHint, V.string(hint)],
    [K.layerCount, V.i32(vector.blocks.length)],
    [K.version, V.u32(FORMAT_VERSION)],
    [K.blockConvention, V.string(BLOCK_CONVENTION)],
    [K.hookPoint, V.string(HOOK_POINT)],
  ];
  const put = (key: string, value: GgufValue | undefined): void => {
    if (value !== undefined) kv.push([key, value]);
  };
  const opt = <T>(x: T | undefined, f: (x: T) => GgufValue): GgufValue | undefined => (x === undefined ? undefined : f(x));
  put(K.method, opt(md.method, V.string));
  put(K.trait, opt(md.trait, V.string));
  put(K.description, opt(md.description, V.string));
  put(K.sourceArchitecture, opt(md.source?.architecture, V.string));
  put(K.sourceBlockCount, opt(md.source?.blockCount, V.u32));
  put(K.sourceEmbeddingSize, opt(md.source?.embeddingSize, V.u32));
  put(K.sourceHash, opt(md.source?.hash, V.string));
  // FLOAT64 so that every JS number comes back exactly.
  put(K.residualNorms, opt(md.residualNorms, (x) => V.numberArray(GgufType.FLOAT64, x)));
  put(K.recommendedBlocks, opt(md.recommendedBlocks, (x) => V.numberArray(GgufType.INT32, x)));
  put(K.coefficient, opt(md.coefficient, V.f64));
  put(K.positions, opt(md.positions, V.string));
  put(K.recommendedBy, opt(md.recommendedBy, V.string));
  put(K.capBlocks, opt(md.capBlocks, (x) => V.numberArray(GgufType.INT32, x)));
  put(K.capThresholds, opt(md.capThresholds, (x) => V.numberArray(GgufType.FLOAT64, x)));
  put(K.capPositions, opt(md.capPositions, V.string));
  for (const [k, v] of Object.entries(md.extra ?? {})) kv.push([k, v]);
  return encodeGguf({
    metadata: kv,
    tensors: vector.blocks.map((b) => ({ name: `direction.${b}`, data: vector.block(b) })),
  });
}
