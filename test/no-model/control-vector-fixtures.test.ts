import t from 'tap';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { readControlVector } from '../../lib/vector/control-vector-file';
import { readGguf } from '../../lib/vector/gguf-reader';

// Fixtures written by scripts/make-cv-fixture.py (Python `struct` only), mimicking llama.cpp's
// cvector-generator and repeng's export_gguf. Expected values follow the script's formula.
const fixtures = join(__dirname, '..', 'fixtures');
const expected = (il: number, j: number, lowest: number): number =>
  il === lowest && j === 0 ? -0 : (((il * 37 + j * 11) % 29) - 14) / 8;

t.test('a cvector-generator file loads with blocks 1 to 5 and the right values', async (t) => {
  const v = await readControlVector(join(fixtures, 'cvector-generator.gguf'));
  t.strictSame(v.blocks, [1, 2, 3, 4, 5]);
  t.equal(v.embeddingSize, 16);
  for (const il of v.blocks) {
    t.strictSame(Array.from(v.block(il)), Array.from({ length: 16 }, (_, j) => expected(il, j, 1)), `block ${il}`);
  }
  t.ok(Object.is(v.block(1)[0], -0), 'the sign of -0 is kept');
});

t.test('a cvector-generator file carries its model hint and no persona_steer metadata', async (t) => {
  const v = await readControlVector(join(fixtures, 'cvector-generator.gguf'));
  t.strictSame(v.metadata, { modelHint: 'llama' });
});

t.test('a GGUF v2 cvector-generator file loads like the v3 one', async (t) => {
  const v2 = await readControlVector(join(fixtures, 'cvector-generator-v2.gguf'));
  const v3 = await readControlVector(join(fixtures, 'cvector-generator.gguf'));
  t.equal(readGguf(readFileSync(join(fixtures, 'cvector-generator-v2.gguf'))).version, 2);
  t.strictSame(v2.blocks, v3.blocks);
  for (const b of v3.blocks) t.strictSame(Array.from(v2.block(b)), Array.from(v3.block(b)));
});

t.test('a repeng file with directions in descending order and a UINT32 layer_count loads with blocks 1 to 7', async (t) => {
  const bytes = readFileSync(join(fixtures, 'repeng.gguf'));
  t.strictSame(readGguf(bytes).tensors.map((x) => x.name), [7, 6, 5, 4, 3, 2, 1].map((b) => `direction.${b}`));
  const v = await readControlVector(bytes);
  t.strictSame(v.blocks, [1, 2, 3, 4, 5, 6, 7]);
  t.equal(v.embeddingSize, 8);
  t.strictSame(v.metadata, { modelHint: 'mistral' });
  for (const il of v.blocks) {
    t.strictSame(Array.from(v.block(il)), Array.from({ length: 8 }, (_, j) => expected(il, j, 1)), `block ${il}`);
  }
});
