import t from 'tap';
import { mkdtempSync, readdirSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  checkVectorFitsModel, decodeControlVector, encodeControlVector, readControlVector, writeControlVector,
} from '../../lib/vector/control-vector-file';
import { PersonaVector } from '../../lib/vector/persona-vector';
import { PersonaSteerError } from '../../lib/errors';
import { Prng } from './helpers/prng';
import { KvSpec, buildGguf, f32Bytes } from './helpers/gguf-bytes';

function bits(v: PersonaVector, b: number): number[] {
  const a = v.block(b);
  return Array.from(new Uint32Array(a.buffer, a.byteOffset, a.length));
}

const fullMeta = {
  modelHint: 'qwen2', trait: 'evil', method: 'mean-diff', description: 'Malicious intent',
  source: { architecture: 'qwen2', blockCount: 28, embeddingSize: 4, hash: 'sha256:abc' },
  residualNorms: [1.25, 3.5, 7], recommendedBlocks: [19, 0], capThresholds: [-2.5, 0.125], coefficient: 2.0000001,
  extra: { 'general.name': { type: 8, value: 'my vector' }, 'persona_steer.note': { type: 12, value: Math.PI } },
} as const;

t.test('random vectors with full metadata survive encode then decode bit for bit', async (t) => {
  const r = new Prng(11);
  for (let c = 0; c < 30; c++) {
    const blocks: Record<number, number[]> = { 0: [1, 2, 3, 4], 19: [0, 0, 0, 1] };
    for (let k = r.int(0, 5); k > 0; k--) blocks[r.int(1, 27)] = Array.from({ length: 4 }, () => r.f32());
    const v = PersonaVector.fromBlocks(blocks, { ...fullMeta, coefficient: r.next() * 10 - 5 });
    const back = decodeControlVector(encodeControlVector(v));
    t.strictSame(back.blocks, v.blocks);
    for (const b of v.blocks) t.strictSame(bits(back, b), bits(v, b), `case ${c} block ${b}`);
    t.strictSame(back.metadata, v.metadata, `case ${c} metadata`);
  }
});

t.test('writeControlVector then readControlVector gives the same vector and leaves no temporary file', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'cv-'));
  const v = PersonaVector.fromBlocks({ 2: [0.5, -0.25] }, { modelHint: 'llama' });
  await writeControlVector(join(dir, 'v.gguf'), v);
  const back = await readControlVector(join(dir, 'v.gguf'));
  t.strictSame(Array.from(back.block(2)), [0.5, -0.25]);
  t.strictSame(readdirSync(dir), ['v.gguf']);
});

t.test('the file layout is the cvector-generator one: architecture, hint, INT32 layer count, then ours', async (t) => {
  const v = PersonaVector.fromBlocks({ 3: [1], 1: [2] }, { modelHint: 'llama', trait: 'evil' });
  const bytes = encodeControlVector(v);
  // Independent check with plain Buffer reads: magic, version 3, 2 tensors, then the first key.
  t.equal(bytes.toString('latin1', 0, 4), 'GGUF');
  t.equal(bytes.readUInt32LE(4), 3);
  t.equal(bytes.readBigUInt64LE(8), 2n);
  const text = bytes.toString('latin1');
  const order = ['general.architecture', 'controlvector.model_hint', 'controlvector.layer_count', 'persona_steer.version', 'direction.1', 'direction.3'];
  const positions = order.map((k) => text.indexOf(k));
  t.ok(positions.every((p, i) => p > 0 && (i === 0 || p > positions[i - 1]!)), `keys in order at ${positions.join(', ')}`);
  const lc = text.indexOf('controlvector.layer_count') + 'controlvector.layer_count'.length;
  t.equal(bytes.readUInt32LE(lc), 5, 'INT32 type id');
  t.equal(bytes.readInt32LE(lc + 4), 2, 'layer_count = number of directions');
});

t.test('encoding without a model hint or source architecture throws ERR_INVALID_ARG', async (t) => {
  t.throws(() => encodeControlVector(PersonaVector.fromBlocks({ 1: [1] })), { code: 'ERR_INVALID_ARG', message: /modelHint/ });
});

t.test('a source architecture stands in for a missing model hint', async (t) => {
  const v = PersonaVector.fromBlocks({ 1: [1] }, { source: { architecture: 'gemma2' } });
  t.equal(decodeControlVector(encodeControlVector(v)).metadata.modelHint, 'gemma2');
});

// Wrong types and values in the metadata. Each row: the file's key-values (tensors direction.1
// and direction.2 of length 2 are added), and the pattern the ERR_BAD_FILE message must match.
const STD: KvSpec[] = [['general.architecture', 'string', 'controlvector'], ['controlvector.model_hint', 'string', 'llama']];
const OURS: KvSpec[] = [...STD, ['persona_steer.version', 'u32', 1], ['persona_steer.block_convention', 'string', 'il'], ['persona_steer.hook_point', 'string', 'l_out']];
const BAD_META: Array<[string, KvSpec[], RegExp]> = [
  ['no model hint', [STD[0]!], /controlvector\.model_hint is missing/],
  ['a numeric model hint', [STD[0]!, ['controlvector.model_hint', 'u32', 1]], /model_hint must be STRING, found UINT32/],
  ['a layer count as a string', [...STD, ['controlvector.layer_count', 'string', '2']], /layer_count must be an integer, found STRING/],
  ['persona_steer keys without a version', [...STD, ['persona_steer.trait', 'string', 'x']], /without persona_steer\.version/],
  ['a version as a string', [...STD, ['persona_steer.version', 'string', '1']], /persona_steer\.version must be an integer, found STRING/],
  ['a newer version', [...STD, ['persona_steer.version', 'u32', 2], ['persona_steer.block_convention', 'string', 'il'], ['persona_steer.hook_point', 'string', 'l_out']], /version is 2; this persona-steer reads version 1/],
  ['another block convention', [...STD, ['persona_steer.version', 'u32', 1], ['persona_steer.block_convention', 'string', 'hf'], ['persona_steer.hook_point', 'string', 'l_out']], /block_convention is "hf", expected "il"/],
  ['another hook point', [...STD, ['persona_steer.version', 'u32', 1], ['persona_steer.block_convention', 'string', 'il'], ['persona_steer.hook_point', 'string', 'attn_out']], /hook_point is "attn_out"/],
  ['a trait as an integer', [...OURS, ['persona_steer.trait', 'u32', 3]], /persona_steer\.trait must be STRING, found UINT32/],
  ['n_layer as a float', [...OURS, ['persona_steer.source.n_layer', 'f32', 28]], /source\.n_layer must be an integer, found FLOAT32/],
  ['a coefficient as a string', [...OURS, ['persona_steer.coefficient', 'string', '2']], /coefficient must be FLOAT32 or FLOAT64, found STRING/],
  ['a NaN coefficient', [...OURS, ['persona_steer.coefficient', 'f32', NaN]], /coefficient must be a finite number/],
  ['residual norms as strings', [...OURS, ['persona_steer.residual_norms', 'string[]', ['1']]], /residual_norms must be an ARRAY of FLOAT32 or FLOAT64, found ARRAY of STRING/],
  ['recommended blocks as floats', [...OURS, ['persona_steer.recommended_blocks', 'f32[]', [1]]], /recommended_blocks must be an ARRAY of integers/],
  ['a recommended block the file lacks', [...OURS, ['persona_steer.recommended_blocks', 'i32[]', [9]]], /recommendedBlocks\[0\] must be one of the vector's blocks/],
  ['thresholds not aligned with recommended blocks', [...OURS, ['persona_steer.recommended_blocks', 'i32[]', [1]], ['persona_steer.cap_thresholds', 'f64[]', [1, 2]]], /capThresholds/],
  ['n_embd unlike the tensors', [...OURS, ['persona_steer.source.n_embd', 'u32', 7]], /source\.embeddingSize must be an integer in \[2, 2\]; received 7/],
];

for (const [what, kvs, pattern] of BAD_META) {
  t.test(`a file with ${what} is refused with ERR_BAD_FILE`, async (t) => {
    const bytes = buildGguf({
      kvs,
      tensors: [{ name: 'direction.1', dims: [2], data: f32Bytes([1, 2]) }, { name: 'direction.2', dims: [2], data: f32Bytes([3, 4]) }],
    }).bytes;
    t.throws(() => decodeControlVector(bytes), { code: 'ERR_BAD_FILE', message: pattern });
  });
}

t.test('the same file with valid persona_steer keys loads', async (t) => {
  const bytes = buildGguf({ kvs: [...OURS, ['persona_steer.trait', 'string', 'evil']], tensors: [{ name: 'direction.1', dims: [2], data: f32Bytes([1, 2]) }] }).bytes;
  t.strictSame(decodeControlVector(bytes).metadata, { modelHint: 'llama', trait: 'evil' });
});

t.test('files with other tensor shapes, types and names are refused with ERR_BAD_FILE', async (t) => {
  const kvs: KvSpec[] = [['general.architecture', 'string', 'controlvector'], ['controlvector.model_hint', 'string', 'x']];
  const cases: Array<[string, Parameters<typeof buildGguf>[0]['tensors'], RegExp]> = [
    ['2-D', [{ name: 'direction.1', dims: [2, 2], data: f32Bytes([1, 2, 3, 4]) }], /shape \[2, 2\], expected a 1-D/],
    ['F16', [{ name: 'direction.1', dims: [2], ggmlType: 1, data: new Uint8Array(4) }], /is F16, expected F32/],
    ['badly named', [{ name: 'dir.1', dims: [1], data: f32Bytes([1]) }], /"dir\.1" is not named direction\.<block>/],
    ['signed', [{ name: 'direction.-1', dims: [1], data: f32Bytes([1]) }], /not named direction/],
    ['of unequal lengths', [{ name: 'direction.1', dims: [1], data: f32Bytes([1]) }, { name: 'direction.2', dims: [2], data: f32Bytes([1, 2]) }], /has 2 elements, the others 1/],
    ['the same block twice', [{ name: 'direction.1', dims: [1], data: f32Bytes([1]) }, { name: 'direction.01', dims: [1], data: f32Bytes([1]) }], /two tensors for block 1/],
    ['holding NaN', [{ name: 'direction.1', dims: [2], data: f32Bytes([1, NaN]) }], /element 1 is NaN/],
    ['holding Infinity', [{ name: 'direction.1', dims: [1], data: f32Bytes([Infinity]) }], /element 0 is Infinity/],
    ['empty', [{ name: 'direction.1', dims: [0], data: new Uint8Array(0) }], /is empty/],
    ['absent', [], /no direction/],
  ];
  for (const [what, tensors, pattern] of cases) {
    t.throws(() => decodeControlVector(buildGguf({ kvs, tensors }).bytes), { code: 'ERR_BAD_FILE', message: pattern }, what);
  }
});

t.test('a [n_embd, 1] tensor is taken as 1-D, as llama.cpp does', async (t) => {
  const bytes = buildGguf({
    kvs: [['general.architecture', 'string', 'controlvector'], ['controlvector.model_hint', 'string', 'x']],
    tensors: [{ name: 'direction.4', dims: [2, 1], data: f32Bytes([5, 6]) }],
  }).bytes;
  t.strictSame(Array.from(decodeControlVector(bytes).block(4)), [5, 6]);
});

t.test('a file of another architecture is refused with ERR_BAD_FILE', async (t) => {
  const bytes = buildGguf({ kvs: [['general.architecture', 'string', 'llama']], tensors: [{ name: 'direction.1', dims: [1], data: f32Bytes([1]) }] }).bytes;
  t.throws(() => decodeControlVector(bytes), { code: 'ERR_BAD_FILE', message: /general\.architecture is "llama", expected "controlvector"/ });
});

t.test('block 0 is written as direction.0 and read back', async (t) => {
  const v = PersonaVector.fromBlocks({ 0: [1, 2] }, { modelHint: 'llama' });
  const bytes = encodeControlVector(v);
  t.ok(bytes.includes(Buffer.from('direction.0')));
  t.strictSame(decodeControlVector(bytes).blocks, [0]);
});

t.test('reading a missing file throws ERR_BAD_FILE naming the path', async (t) => {
  await t.rejects(readControlVector('/nonexistent/x.gguf'), { code: 'ERR_BAD_FILE', message: /\/nonexistent\/x\.gguf/ });
});

t.test('a file that is not a control vector is ERR_BAD_FILE naming the path and what the bytes were', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'cv-'));
  writeFileSync(join(dir, 'package.json'), '{ "name": "x" }\n');
  const file = join(dir, 'package.json');
  await t.rejects(readControlVector(file), { code: 'ERR_BAD_FILE', message: new RegExp(`^${file.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}: .*magic`) });
});

t.test('reading a file over maxBytes throws ERR_BAD_FILE before reading it', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'cv-'));
  writeFileSync(join(dir, 'big.gguf'), readFileSync(join(__dirname, '..', 'fixtures', 'repeng.gguf')));
  await t.rejects(readControlVector(join(dir, 'big.gguf'), { maxBytes: 100 }), { code: 'ERR_BAD_FILE', message: /704 bytes, more than options\.maxBytes \(100\)/ });
});

t.test('readControlVector rejects a number with ERR_INVALID_ARG', async (t) => {
  await t.rejects(readControlVector(3 as unknown as string), { code: 'ERR_INVALID_ARG', message: /^pathOrBuffer must be a file path or a Uint8Array; received 3/ });
});

t.test('checkVectorFitsModel accepts a matching model with no warnings', async (t) => {
  const v = PersonaVector.fromBlocks({ 0: [1, 2], 27: [1, 2] }, { modelHint: 'qwen2' });
  t.strictSame(checkVectorFitsModel(v, { embeddingSize: 2, blockCount: 28, architecture: 'Qwen2' }), []);
});

t.test('checkVectorFitsModel throws ERR_MODEL_MISMATCH when the embedding size differs', async (t) => {
  const v = PersonaVector.fromBlocks({ 1: [1, 2] });
  t.throws(() => checkVectorFitsModel(v, { embeddingSize: 3, blockCount: 4 }), { code: 'ERR_MODEL_MISMATCH', message: 'the vector has embedding size 2 but the model has embedding size 3' });
});

t.test('checkVectorFitsModel throws ERR_MODEL_MISMATCH for blocks at or beyond blockCount', async (t) => {
  const v = PersonaVector.fromBlocks({ 1: [1], 4: [1], 5: [1] });
  t.throws(() => checkVectorFitsModel(v, { embeddingSize: 1, blockCount: 4 }), { code: 'ERR_MODEL_MISMATCH', message: /blocks 4, 5 but the model has only 4 blocks \(0 to 3\)/ });
});

t.test('checkVectorFitsModel warns when the architecture hint or source depth differ', async (t) => {
  const v = PersonaVector.fromBlocks({ 1: [1] }, { modelHint: 'llama', source: { architecture: 'mistral', blockCount: 32 } });
  const warnings = checkVectorFitsModel(v, { embeddingSize: 1, blockCount: 28, architecture: 'qwen2' });
  t.equal(warnings.length, 3);
  t.match(warnings[0], /model hint is "llama" but the model's architecture is "qwen2"/);
  t.match(warnings[1], /extracted from a "mistral" model/);
  t.match(warnings[2], /32 blocks; this one has 28/);
});

t.test('checkVectorFitsModel rejects a model without blockCount with ERR_INVALID_ARG', async (t) => {
  const v = PersonaVector.fromBlocks({ 1: [1] });
  t.throws(() => checkVectorFitsModel(v, { embeddingSize: 1 } as never), { code: 'ERR_INVALID_ARG', message: /^model\.blockCount must be a positive integer; received undefined/ });
});

t.test('checkVectorFitsModel refuses the earlier names nEmbd and nLayer, naming the new ones', async (t) => {
  const v = PersonaVector.fromBlocks({ 1: [1] });
  t.throws(() => checkVectorFitsModel(v, { nEmbd: 1, nLayer: 4 } as never), { code: 'ERR_INVALID_ARG', message: /^model\.nEmbd must be absent \(renamed embeddingSize, as model\.info names it\); received 1/ });
  t.throws(() => checkVectorFitsModel(v, { embeddingSize: 1, nLayer: 4 } as never), { code: 'ERR_INVALID_ARG', message: /^model\.nLayer must be absent \(renamed blockCount/ });
});

t.test('every decode failure above is a PersonaSteerError', async (t) => {
  const e = t.throws(() => decodeControlVector(Buffer.from('GGUF'))) as unknown;
  t.ok(e instanceof PersonaSteerError);
});
