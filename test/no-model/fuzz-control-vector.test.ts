import t from 'tap';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { decodeControlVector, encodeControlVector } from '../../lib/vector/control-vector-file';
import { PersonaVector } from '../../lib/vector/persona-vector';
import { Prng } from './helpers/prng';
import { Field, KvSpec, TensorSpec, buildGguf, f32Bytes } from './helpers/gguf-bytes';
import { report, runFuzz } from './helpers/fuzz-harness';

// Hostile control-vector files: every mutated control-vector file must give ERR_BAD_FILE or
// a valid PersonaVector; never another exception, a crash or a hang; memory stays bounded.
const CASES = 12_000;
const SEED = 0x5eed_cafe;
const MEMORY_BOUND_MB = 200;

const fixtures = ['cvector-generator.gguf', 'cvector-generator-v2.gguf', 'repeng.gguf']
  .map((f) => readFileSync(join(__dirname, '..', 'fixtures', f)));

const HOSTILE_U64 = [0n, 1n, 2n, 3n, 4n, 7n, 8n, 9n, 13n, 31n, 32n, 33n, 63n, 64n, 255n, 256n, 65535n, 65536n,
  2n ** 31n - 1n, 2n ** 31n, 2n ** 32n - 1n, 2n ** 32n, 2n ** 53n, 2n ** 63n, 2n ** 64n - 1n];
const BAD_UTF8 = [0xff, 0xfe, 0xc0, 0xc1, 0x80, 0xbf, 0xed, 0xf5, 0xf8];

function randomKvs(r: Prng, blocks: number[], nEmbd: number): KvSpec[] {
  const kvs: KvSpec[] = [];
  if (r.bool(0.97)) kvs.push(['general.architecture', 'string', r.bool(0.97) ? 'controlvector' : 'llama']);
  if (r.bool(0.97)) kvs.push(r.bool(0.97) ? ['controlvector.model_hint', 'string', r.pick(['llama', 'qwen2', 'mistral', 'llama', 'qwen2', ''])] : ['controlvector.model_hint', 'u32', 7]);
  if (r.bool(0.9)) {
    kvs.push(r.bool(0.95) ? ['controlvector.layer_count', r.pick(['i32', 'u32'] as const), blocks.length] : ['controlvector.layer_count', 'f32', 1]);
  }
  if (r.bool(0.5)) {
    kvs.push(['persona_steer.version', 'u32', r.bool(0.95) ? 1 : 2]);
    kvs.push(['persona_steer.block_convention', 'string', r.bool(0.95) ? 'il' : 'hf']);
    kvs.push(['persona_steer.hook_point', 'string', r.bool(0.95) ? 'l_out' : 'attn']);
    const rec = blocks.filter(() => r.bool(0.5));
    const maxBlock = Math.max(0, ...blocks);
    const good: KvSpec[] = [
      ['persona_steer.trait', 'string', 'evil'], ['persona_steer.method', 'string', 'mean-diff'],
      ['persona_steer.description', 'string', 'Ünïcødé'], ['persona_steer.source.architecture', 'string', 'llama'],
      ['persona_steer.source.hash', 'string', 'sha256:0'], ['persona_steer.source.n_layer', 'u32', maxBlock + r.int(1, 9)],
      ['persona_steer.source.n_embd', 'i32', nEmbd],
      ['persona_steer.residual_norms', r.pick(['f32[]', 'f64[]'] as const), Array.from({ length: r.int(1, maxBlock + 1) }, () => r.next() * 10)],
      ['persona_steer.coefficient', r.pick(['f32', 'f64'] as const), r.f32()],
      ['persona_steer.extra_thing', 'string[]', ['a', 'b']], ['general.name', 'string', 'v'],
      ['x.bool', 'bool', true], ['x.i64', 'i64', -5n], ['x.u64', 'u64', 2n ** 63n], ['x.u8', 'u8', 9],
    ];
    const bad: KvSpec[] = [
      ['persona_steer.trait', 'u32', 1], ['persona_steer.source.n_layer', 'u32', r.int(0, maxBlock)],
      ['persona_steer.source.n_embd', 'i32', nEmbd + r.int(1, 3)], ['persona_steer.residual_norms', 'i32[]', [1]],
      ['persona_steer.recommended_blocks', 'i32[]', [r.int(-1, 70)]], ['persona_steer.cap_thresholds', 'f64[]', [1]],
      ['persona_steer.coefficient', 'f64', r.pick([NaN, Infinity])], ['persona_steer.trait', 'string', ''],
    ];
    const options = good.filter(() => r.bool(0.35));
    if (rec.length > 0 && r.bool(0.4)) {
      options.push(['persona_steer.recommended_blocks', 'i32[]', rec]);
      if (r.bool()) options.push(['persona_steer.cap_thresholds', 'f64[]', rec.map(() => r.f32())]);
    }
    for (const kv of bad) if (r.bool(0.03)) options.push(kv);
    kvs.push(...options);
  }
  if (kvs.length > 0 && r.bool(0.05)) kvs.push(r.pick(kvs));
  return kvs;
}

function randomTensors(r: Prng, blocks: number[], nEmbd: number): TensorSpec[] {
  const tensors = blocks.map((b): TensorSpec => {
    const values = Array.from({ length: nEmbd }, () => (r.bool(0.01) ? r.pick([NaN, Infinity, -Infinity]) : r.f32()));
    const spec: TensorSpec = { name: `direction.${b}`, dims: [nEmbd], data: f32Bytes(values) };
    if (r.bool(0.03)) spec.name = r.pick(['direction.x', `dir.${b}`, `direction.-${b}`, `direction.0${b}`, 'direction.99999999']);
    if (r.bool(0.03)) spec.dims = r.pick([[nEmbd, 1], [1, nEmbd], [], [nEmbd, 1, 1, 1]]);
    if (r.bool(0.03)) spec.ggmlType = r.pick([1, 8, 30, 28]);
    return spec;
  });
  if (tensors.length > 0 && r.bool(0.03)) tensors.push(r.pick(tensors));
  return tensors;
}

function writeUint(b: Buffer, f: Field, v: bigint): void {
  if (f.size === 8) b.writeBigUInt64LE(v & (2n ** 64n - 1n), f.offset);
  else if (f.size === 4) b.writeUInt32LE(Number(v & 0xffffffffn), f.offset);
}

type Mutation = (r: Prng, b: Buffer, fields: Field[]) => Buffer;
const NUMERIC_FIELDS = new Set(['count', 'str-len', 'dim', 'n-dims', 'ggml-type', 'offset', 'type', 'version']);

const MUTATIONS: Record<string, Mutation> = {
  truncate: (r, b) => b.subarray(0, r.int(0, Math.max(0, b.length - 1))),
  magic: (r, b) => { if (b.length >= 4) b.writeUInt32LE(r.int(0, 0xffffffff), 0); return b; },
  hostileField: (r, b, fields) => {
    // Fields whose bytes a length-changing mutation has cut off are skipped.
    const candidates = fields.filter((x) => NUMERIC_FIELDS.has(x.kind) && x.offset + x.size <= b.length);
    if (candidates.length === 0) return b;
    const f = r.pick(candidates);
    const old = f.size === 8 ? b.readBigUInt64LE(f.offset) : BigInt(b.readUInt32LE(f.offset));
    writeUint(b, f, r.pick([...HOSTILE_U64, old + 1n, old - 1n, old * 2n, BigInt(r.int(0, 0xffffffff))]));
    return b;
  },
  badUtf8: (r, b, fields) => {
    const strs = fields.filter((x) => x.kind === 'str' && x.size > 0 && x.offset + x.size <= b.length);
    if (strs.length === 0) return b;
    const f = r.pick(strs);
    b[f.offset + r.int(0, f.size - 1)] = r.pick(BAD_UTF8);
    return b;
  },
  bitFlips: (r, b) => {
    for (let k = r.int(1, 8); k > 0 && b.length > 0; k--) b[r.int(0, b.length - 1)]! ^= 1 << r.int(0, 7);
    return b;
  },
  splice: (r, b) => {
    const src = r.bool() ? r.pick(fixtures) : b;
    const a = r.int(0, src.length - 1);
    const piece = Buffer.from(src.subarray(a, a + r.int(1, 64)));
    const at = r.int(0, b.length);
    if (r.bool()) return Buffer.concat([b.subarray(0, at), piece, b.subarray(at)]);
    return Buffer.concat([b.subarray(0, at), piece, b.subarray(Math.min(b.length, at + piece.length))]);
  },
  deleteBytes: (r, b) => {
    const at = r.int(0, b.length);
    return Buffer.concat([b.subarray(0, at), b.subarray(Math.min(b.length, at + r.int(1, 16)))]);
  },
  randomBytes: (r, b) => {
    for (let k = r.int(1, 4); k > 0 && b.length > 0; k--) b[r.int(0, b.length - 1)] = r.int(0, 255);
    return b;
  },
};
const MUTATION_NAMES = Object.keys(MUTATIONS);

interface Case { bytes: Buffer; applied: string[]; seed: number }

function makeCase(i: number): Case {
  const seed = (SEED + i * 2654435761) >>> 0;
  const r = new Prng(seed);
  let bytes: Buffer;
  let fields: Field[] = [];
  if (r.bool(0.1)) {
    bytes = Buffer.from(r.pick(fixtures));
  } else {
    const nEmbd = r.pick([1, 2, 3, 8, 16]);
    const blocks = [...new Set(Array.from({ length: r.int(0, 5) }, () => r.int(0, 40)))];
    const alignment = r.bool(0.1) ? r.pick([8, 16, 64]) : 32;
    const kvs = randomKvs(r, blocks, nEmbd);
    if (alignment !== 32) kvs.push(['general.alignment', 'u32', alignment]);
    ({ bytes, fields } = buildGguf({ version: r.pick([3, 3, 2]), kvs, tensors: randomTensors(r, blocks, nEmbd), alignment }));
  }
  const applied: string[] = [];
  const n = r.bool(0.2) ? 0 : r.int(1, 3);
  for (let k = 0; k < n; k++) {
    const name = fields.length === 0 && r.bool(0.5) ? 'bitFlips' : r.pick(MUTATION_NAMES);
    if ((name === 'hostileField' || name === 'badUtf8') && fields.length === 0) continue;
    bytes = MUTATIONS[name]!(r, bytes, fields);
    applied.push(name);
  }
  return { bytes, applied, seed };
}

function check(v: PersonaVector): 'valid' {
  if (!(v instanceof PersonaVector) || v.blocks.length === 0 || v.embeddingSize < 1) throw new Error('decoded an empty or malformed vector');
  for (const b of v.blocks) if (!v.block(b).every(Number.isFinite)) throw new Error(`block ${b} holds a non-finite value`);
  // Whatever is accepted must survive our own writer and reader unchanged.
  const again = decodeControlVector(encodeControlVector(v));
  if (JSON.stringify(again.blocks) !== JSON.stringify(v.blocks)) throw new Error('re-encoding changed the blocks');
  return 'valid';
}

t.test(`${CASES} mutated control-vector files each give ERR_BAD_FILE or a valid vector, within ${MEMORY_BOUND_MB} MB`, async (t) => {
  const stats = runFuzz({
    cases: CASES,
    make: makeCase,
    run: (c) => check(decodeControlVector(c.bytes)),
    expectedCode: 'ERR_BAD_FILE',
    describe: (c) => `seed ${c.seed}, mutations [${c.applied.join(', ')}], ${c.bytes.length} bytes: ${c.bytes.subarray(0, 48).toString('hex')}…`,
  });
  t.comment(report('control-vector fuzz', stats));
  t.strictSame(stats.failures, [], 'no other exception');
  t.equal(stats.cases, CASES);
  t.equal(stats.outcomes.valid! + stats.outcomes.ERR_BAD_FILE!, CASES, 'every case is one of the two outcomes');
  t.ok(stats.outcomes.valid! > CASES * 0.05, 'the generator also makes valid files, so acceptance is exercised');
  t.ok(stats.outcomes.ERR_BAD_FILE! > CASES * 0.3, 'most mutations are refused');
  t.ok(stats.peakRssGrowthMb < MEMORY_BOUND_MB, `rss growth ${stats.peakRssGrowthMb.toFixed(1)} MB`);
  t.ok(stats.peakHeapGrowthMb < MEMORY_BOUND_MB, `heap kept ${stats.peakHeapGrowthMb.toFixed(1)} MB`);
  t.ok(stats.maxCaseMs < 2000, `slowest case ${stats.maxCaseMs.toFixed(1)} ms`);
});
