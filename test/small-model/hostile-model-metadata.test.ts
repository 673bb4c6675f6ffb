import t from 'tap';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { T, cloneGguf, findKv, parseGguf, setKv, writeGguf, type GgufModel } from '../helpers/gguf-model';
import { requireModel, stories260K } from '../helpers/models';
import { runFilesInChild, type CaseRecord } from '../helpers/model-fuzz-runner';

// Hostile model files, one per kind, each in a child process: what llama.cpp
// asserts on (the process used to abort) is now ERR_MODEL_LOAD, and the message says why in the
// file's own terms (the key, the value found, what is allowed), which is the oracle here.
const base = parseGguf(fs.readFileSync(requireModel(stories260K)));
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ps-hostile-meta-'));
t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));

const latin1 = (s: string) => Buffer.from(s, 'latin1');
const tokens = (m: GgufModel) => findKv(m, 'tokenizer.ggml.tokens')!;

interface Case { name: string; edit: (m: GgufModel) => void; mmap?: boolean; reason?: RegExp; loads?: boolean }
const cases: Case[] = [
  { name: 'block count 0', edit: (m) => setKv(m, 'llama.block_count', T.u32, 0), reason: /llama\.block_count is 0; llama\.cpp supports 1 to 512 blocks/ },
  { name: 'block count 513', edit: (m) => setKv(m, 'llama.block_count', T.u32, 513), reason: /llama\.block_count is 513;/ },
  { name: 'block count 2^32-1', edit: (m) => setKv(m, 'llama.block_count', T.u32, 2 ** 32 - 1), reason: /llama\.block_count is 4294967295;/ },
  { name: 'more experts used than there are', edit: (m) => { setKv(m, 'llama.expert_count', T.u32, 2); setKv(m, 'llama.expert_used_count', T.u32, 4); }, reason: /llama\.expert_used_count is 4, more than llama\.expert_count \(2\)/ },
  { name: 'experts used without experts', edit: (m) => setKv(m, 'llama.expert_used_count', T.u32, 1), reason: /llama\.expert_used_count is 1, more than llama\.expert_count \(0\)/ },
  { name: 'experts without any used', edit: (m) => setKv(m, 'llama.expert_count', T.u32, 8), reason: /llama\.expert_used_count is 0 but the model has 8 experts/ },
  { name: 'expert count over 1024', edit: (m) => { setKv(m, 'llama.expert_count', T.u32, 5000); setKv(m, 'llama.expert_used_count', T.u32, 2); }, reason: /llama\.expert_count is 5000; llama\.cpp supports at most 1024/ },
  { name: 'more nextn layers than blocks', edit: (m) => setKv(m, 'llama.nextn_predict_layers', T.u32, 9), reason: /llama\.nextn_predict_layers is 9, more than the 5 blocks/ },
  { name: 'unknown rope scaling type', edit: (m) => setKv(m, 'llama.rope.scaling.type', T.string, latin1('bogus')), reason: /llama\.rope\.scaling\.type is "bogus"; llama\.cpp knows none, linear, yarn and longrope/ },
  { name: 'a BERT tokenizer on a llama file', edit: (m) => setKv(m, 'tokenizer.ggml.model', T.string, latin1('bert')), reason: /error loading model vocabulary: src\/llama-vocab\.cpp:\d+: fatal error/ },
  { name: 'every token string identical', edit: (m) => { tokens(m).value = (tokens(m).value as Buffer[]).map(() => latin1('a')); }, reason: /tokenizer\.ggml\.tokens has the same string at 0 and 1 \("a"\)/ },
  { name: 'every token string empty', edit: (m) => { tokens(m).value = (tokens(m).value as Buffer[]).map(() => Buffer.alloc(0)); }, reason: /its vocabulary cannot tokenize text: / },
  { name: 'general.alignment 1, memory-mapped', edit: (m) => setKv(m, 'general.alignment', T.u32, 1), reason: /starts at byte \d+, not a multiple of 32 \(general\.alignment is 1\).*load with useMmap: false/ },
  { name: 'general.alignment 1, read into memory', edit: (m) => setKv(m, 'general.alignment', T.u32, 1), mmap: false, loads: true },
  { name: 'negative RMS epsilon', edit: (m) => setKv(m, 'llama.attention.layer_norm_rms_epsilon', T.f32, -1), reason: /layer_norm_rms_epsilon is -1; a normalisation epsilon must be a finite number >= 0/ },
  { name: 'NaN RMS epsilon', edit: (m) => setKv(m, 'llama.attention.layer_norm_rms_epsilon', T.f32, NaN), reason: /layer_norm_rms_epsilon is NaN;/ },
  { name: 'infinite RMS epsilon', edit: (m) => setKv(m, 'llama.attention.layer_norm_rms_epsilon', T.f32, Infinity), reason: /layer_norm_rms_epsilon is inf;/ },
  { name: 'an M-RoPE architecture without rope sections', edit: (m) => {
    setKv(m, 'general.architecture', T.string, latin1('paddleocr'));
    for (const kv of m.kvs) if (kv.key.toString('latin1').startsWith('llama.')) kv.key = latin1(`paddleocr.${kv.key.toString('latin1').slice(6)}`);
  }, reason: /the first decode fails: ggml\/src\/ggml-cpu\/ops\.cpp:\d+: GGML_ASSERT\(sections\[0\] > 0/ },
  { name: 'an architecture whose graph asserts while a context is created', edit: (m) => {
    setKv(m, 'general.architecture', T.string, latin1('xverse'));
    for (const kv of m.kvs) if (kv.key.toString('latin1').startsWith('llama.')) kv.key = latin1(`xverse.${kv.key.toString('latin1').slice(6)}`);
    setKv(m, 'xverse.rope.dimension_count', T.u32, 16);
  }, reason: /creating a context fails: src\/models\/xverse\.cpp:\d+: GGML_ASSERT\(n_embd_head == n_rot\) failed/ },
  { name: 'the RWKV tokenizer on a vocabulary without single bytes', edit: (m) => setKv(m, 'tokenizer.ggml.model', T.string, latin1('rwkv')), loads: true },
  { name: 'a 70,000-byte token for the RWKV tokenizer', edit: (m) => { setKv(m, 'tokenizer.ggml.model', T.string, latin1('rwkv')); (tokens(m).value as Buffer[])[12] = Buffer.alloc(70_000, 0x61); }, reason: /tokenizer\.ggml\.tokens\[12\] is 70000 bytes; the rwkv tokenizer of llama\.cpp takes token strings of at most 1024/ },
  // Refused by llama.cpp itself: its reason, not "failed to load model", reaches the message.
  { name: 'no key/value heads', edit: (m) => setKv(m, 'llama.attention.head_count_kv', T.u32, 0), reason: /check_tensor_dims: tensor 'blk\.0\.attn_k\.weight' has wrong shape/ },
  { name: 'a tensor past the end of the file', edit: (m) => { m.tensors[2]!.offset = BigInt(m.data.length); }, reason: /tensor '?output\.weight'? .*(not within the file bounds|offset)/ },
];

const files = cases.map((c, i) => {
  const m = cloneGguf(base);
  c.edit(m);
  const file = path.join(dir, `case-${i}.gguf`);
  fs.writeFileSync(file, writeGguf(m));
  return { i, file, mmap: c.mmap ?? true };
});

t.test('hostile metadata gives ERR_MODEL_LOAD naming the problem, never a crash', async (t) => {
  const results = await runFilesInChild(files, 60_000);
  cases.forEach((c, i) => {
    const r = results.get(i)!;
    if ('died' in r) { t.fail(`${c.name}: the child ${r.died}`); return; }
    const rec = r as CaseRecord;
    if (c.loads) {
      t.equal(`${rec.load} / ${rec.use}`, 'ok / ok', `${c.name}: loads and runs (${rec.reason ?? ''})`);
    } else {
      t.equal(rec.load, 'ERR_MODEL_LOAD', `${c.name}: refused`);
      t.match(rec.reason ?? '', c.reason!, `${c.name}: the message says why`);
    }
  });
});
