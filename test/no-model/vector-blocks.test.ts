// The one block-resolution rule (lib/persona/vector-blocks.ts): the blocks asked for, else the
// vector's recommended blocks, else every block it has; results written out by hand.
import t from 'tap';
import { resolveBlocks } from '../../lib/persona/vector-blocks';
import { PersonaVector } from '../../lib/vector/persona-vector';
import { capThresholdBlocks } from '../../lib/vector/vector-metadata';

const values = { 1: [1, 0], 2: [0, 1], 4: [1, 1], 7: [2, 2] };
const plain = () => PersonaVector.fromBlocks(values);
const recommended = () => PersonaVector.fromBlocks(values, { recommendedBlocks: [4, 2] });

t.test('with no blocks asked for, the recommended blocks come back sorted', async (t) => {
  t.same(resolveBlocks('o', recommended(), undefined), [2, 4]);
});

t.test('with no blocks asked for and none recommended, every block of the vector comes back', async (t) => {
  t.same(resolveBlocks('o', plain(), undefined), [1, 2, 4, 7]);
});

t.test('a fallback replaces the recommended blocks when no blocks are asked for', async (t) => {
  t.same(resolveBlocks('o', recommended(), undefined, { fallback: [7, 1] }), [1, 7]);
  t.same(resolveBlocks('o', recommended(), [2], { fallback: [7, 1] }), [2], 'and is not used when blocks are asked for');
});

t.test("blocks asked for win over the recommended ones: one block, an array (sorted, distinct) or 'all'", async (t) => {
  t.same(resolveBlocks('o', recommended(), 7), [7]);
  t.same(resolveBlocks('o', recommended(), [7, 1, 7]), [1, 7]);
  t.same(resolveBlocks('o', recommended(), 'all'), [1, 2, 4, 7]);
});

t.test('a blockCount bounds the blocks by the model', async (t) => {
  t.same(resolveBlocks('o', plain(), [1, 4], { blockCount: 5 }), [1, 4]);
  t.throws(() => resolveBlocks('o', plain(), [1, 7], { blockCount: 5 }),
    { code: 'ERR_INVALID_ARG', message: /^o\[1\] must be an integer in \[0, 4\]; received 7/ });
  t.throws(() => resolveBlocks('o', plain(), [9], { blockCount: 5 }),
    { code: 'ERR_INVALID_ARG', message: /^o\[0\] must be an integer in \[0, 4\]; received 9/ }, 'the model bound comes before the vector membership');
  t.throws(() => resolveBlocks('o', plain(), undefined, { blockCount: 5 }),
    { code: 'ERR_INVALID_ARG', message: /^o must be an integer in \[0, 4\]; received 7/ }, 'the default blocks too');
});

t.test('bad block specs give ERR_INVALID_ARG naming the argument or its entry', async (t) => {
  const cases: [string, unknown, RegExp][] = [
    ['an empty array', [], /^o must be a block, a non-empty array of blocks or 'all'; received an array of length 0/],
    ['a string', 'some', /^o must be a block, a non-empty array of blocks or 'all'; received "some"/],
    ['a block the vector lacks', [1, 3], /^o\[1\] must be a block the vector has \(1, 2, 4, 7\); received 3/],
    ['a lone block the vector lacks', 3, /^o must be a block the vector has \(1, 2, 4, 7\); received 3/],
    ['a fraction', [1.5], /^o\[0\] must be an integer in \[0, 65535\]; received 1\.5/],
    ['a negative block', -1, /^o must be an integer in \[0, 65535\]; received -1/],
  ];
  for (const [what, spec, message] of cases) t.throws(() => resolveBlocks('o', plain(), spec), { code: 'ERR_INVALID_ARG', message }, what);
});

t.test('capThresholdBlocks gives capBlocks, else the recommended blocks, else nothing', async (t) => {
  t.same(capThresholdBlocks({ capBlocks: [7], recommendedBlocks: [2] }), [7]);
  t.same(capThresholdBlocks({ recommendedBlocks: [2, 4] }), [2, 4]);
  t.equal(capThresholdBlocks({}), undefined);
});
