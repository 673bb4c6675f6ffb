import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import { f32ToF16, randomModelFileName, writeRandomModel } from '../../bench/make-random-model';
import { readGguf } from '../../lib/vector/gguf-reader';

t.test('f32ToF16 on exact values', async (t) => {
  t.equal(f32ToF16(0), 0x0000);
  t.equal(f32ToF16(1), 0x3c00);
  t.equal(f32ToF16(-2), 0xc000);
  t.equal(f32ToF16(0.5), 0x3800);
  t.equal(f32ToF16(65504), 0x7bff, 'largest half');
  t.equal(f32ToF16(1e6), 0x7c00, 'overflow to infinity');
});

t.test('a random llama model: layout, types and determinism (synthetic vocabulary)', async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-rand-'));
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const spec = { blocks: 2, embd: 64, ff: 96, heads: 4, headsKv: 2, type: 'q8_0' as const, seed: 7 };
  const a = path.join(dir, 'a.gguf');
  const b = path.join(dir, 'b.gguf');
  writeRandomModel(spec, a, null);
  writeRandomModel(spec, b, null);
  const bytes = fs.readFileSync(a);
  t.ok(bytes.equals(fs.readFileSync(b)), 'the same spec and seed give the same bytes');
  const g = readGguf(bytes);
  t.equal(g.metadata.get('general.architecture')?.value, 'llama');
  t.equal(g.metadata.get('llama.block_count')?.value, 2);
  t.equal(g.metadata.get('llama.embedding_length')?.value, 64);
  t.equal(g.metadata.get('llama.attention.head_count_kv')?.value, 2);
  const vocab = (g.metadata.get('tokenizer.ggml.tokens')?.value as string[]).length;
  const byName = new Map(g.tensors.map((x) => [x.name, x]));
  t.equal(g.tensors.length, 1 + 9 * 2 + 2);
  const q = byName.get('blk.1.attn_k.weight')!;
  t.same(q.dims, [64, 32], 'k projection: n_embd x (head size x kv heads)');
  t.equal(q.type, 8, 'Q8_0');
  t.equal(q.byteLength, (64 * 32 / 32) * 34, 'Q8_0: 34 bytes per 32 values');
  t.same(byName.get('blk.0.ffn_down.weight')!.dims, [96, 64]);
  t.same(byName.get('token_embd.weight')!.dims, [64, vocab]);
  const norm = byName.get('output_norm.weight')!;
  t.equal(norm.type, 0);
  t.same(Array.from(norm.data!), new Array(64).fill(1));
  t.match(randomModelFileName(spec), /^rand-2x64-ff96-h4-kv2-q8_0-s7\.gguf$/);
  const other = path.join(dir, 'c.gguf');
  writeRandomModel({ ...spec, seed: 8 }, other, null);
  t.notOk(bytes.equals(fs.readFileSync(other)), 'another seed gives other weights');
});
