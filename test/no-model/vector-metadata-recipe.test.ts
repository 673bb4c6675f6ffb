// The metadata a recipe records (positions, recommendedBy, capBlocks, capPositions): validation,
// the round trip through a control-vector file, and what block selection keeps.
import t from 'tap';
import { ErrorCodes } from '../../lib/errors';
import { decodeControlVector, encodeControlVector } from '../../lib/vector/control-vector-file';
import { readGguf } from '../../lib/vector/gguf-reader';
import { PersonaVector } from '../../lib/vector/persona-vector';

const blocks = { 0: [1, 0], 2: [0, 1], 3: [1, 1] };
const recipe = {
  modelHint: 'llama', method: 'mean-diff/last-prompt', recommendedBlocks: [3], coefficient: 1, positions: 'prompt', recommendedBy: 'sweep',
  capBlocks: [2, 3], capThresholds: [-4.5, 0.25], capPositions: 'prompt',
} as const;

t.test('recipe metadata survives a control-vector file exactly, under persona_steer keys', async (t) => {
  const v = PersonaVector.fromBlocks(blocks, recipe);
  const bytes = encodeControlVector(v);
  t.strictSame(decodeControlVector(bytes).metadata, v.metadata);
  const kv = readGguf(bytes).metadata;
  t.equal(kv.get('persona_steer.positions')?.value, 'prompt');
  t.equal(kv.get('persona_steer.recommended_by')?.value, 'sweep');
  t.same(kv.get('persona_steer.cap_blocks')?.value, [2, 3]);
  t.equal(kv.get('persona_steer.cap_positions')?.value, 'prompt');
});

t.test('cap thresholds pair with capBlocks, or with recommendedBlocks in files without capBlocks', async (t) => {
  t.throws(() => PersonaVector.fromBlocks(blocks, { ...recipe, capThresholds: [1] }),
    { code: ErrorCodes.INVALID_ARG, message: /metadata\.capThresholds must be an array of 2 thresholds \(one per entry of capBlocks\)/ });
  const legacy = PersonaVector.fromBlocks(blocks, { recommendedBlocks: [0, 2], capThresholds: [1, 2] });
  t.same(legacy.metadata.capThresholds, [1, 2], 'older files: one threshold per recommended block');
  t.throws(() => PersonaVector.fromBlocks(blocks, { capThresholds: [1] }), /absent unless capBlocks \(or recommendedBlocks\) is set/);
  t.throws(() => PersonaVector.fromBlocks(blocks, { capBlocks: [1] }), /metadata\.capBlocks\[0\] must be one of the vector's blocks \(0, 2, 3\); received 1/);
  t.throws(() => PersonaVector.fromBlocks(blocks, { capBlocks: [2, 2] }), /a block not listed before/);
});

t.test('positions and recommendedBy take only their known values', async (t) => {
  t.throws(() => PersonaVector.fromBlocks(blocks, { positions: 'response' as never }), /metadata\.positions must be one of "all", "prompt", "generated"; received "response"/);
  t.throws(() => PersonaVector.fromBlocks(blocks, { capPositions: 'last' as never }), /metadata\.capPositions must be one of/);
  t.throws(() => PersonaVector.fromBlocks(blocks, { recommendedBy: 'guess' as never }), /metadata\.recommendedBy must be one of "sweep", "separation"/);
});

t.test('selecting blocks filters cap blocks with their thresholds, and steering blocks apart', async (t) => {
  const v = PersonaVector.fromBlocks(blocks, recipe);
  const a = v.select([0, 3]);
  t.same(a.metadata.recommendedBlocks, [3]);
  t.same(a.metadata.capBlocks, [3]);
  t.same(a.metadata.capThresholds, [0.25]);
  const b = v.select([0, 2]);
  t.equal(b.metadata.recommendedBlocks, undefined);
  t.same(b.metadata.capBlocks, [2]);
  t.same(b.metadata.capThresholds, [-4.5]);
  const legacy = PersonaVector.fromBlocks(blocks, { recommendedBlocks: [0, 3], capThresholds: [1, 2] }).select([3]);
  t.same([legacy.metadata.recommendedBlocks, legacy.metadata.capThresholds], [[3], [2]]);
});

t.test('a derived vector keeps none of the recipe (it belongs to the extracted vector)', async (t) => {
  const v = PersonaVector.fromBlocks(blocks, recipe).scale(2);
  for (const k of ['recommendedBlocks', 'coefficient', 'positions', 'recommendedBy', 'capBlocks', 'capThresholds', 'capPositions'] as const) {
    t.equal(v.metadata[k], undefined, k);
  }
});
