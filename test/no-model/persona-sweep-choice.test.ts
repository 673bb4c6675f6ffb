// The sweep's pure parts: the choice of the recommended setting, and the fluency measures, each
// against numbers worked out by hand or computed another way.
import t from 'tap';
import { chooseSetting, type ScoredSetting } from '../../lib/persona/sweep-choice';
import { meanNll, repetition } from '../../lib/persona/sweep-measure';
import { defaultPositions, defaultSweepBlocks, extractionPositions, separatingBlocks } from '../../lib/persona/defaults';
import { PersonaVector } from '../../lib/vector/persona-vector';

const s = (key: string, coefficient: number, score: number, coherent = true, nll = 1): ScoredSetting => ({ key, coefficient, score, coherent, nll });

t.test('only coherent settings reaching the minimum score can be chosen', async (t) => {
  t.equal(chooseSetting([s('a', 1, 0.9, false), s('a', 2, 0.4)], 0.5), -1, 'the only good score is incoherent, the coherent one is below the minimum');
  t.equal(chooseSetting([s('a', 1, 0.9, false), s('a', 2, 0.6)], 0.5), 1);
  t.equal(chooseSetting([], 0.5), -1);
});

t.test('the blocks reaching the best score over the most coefficients win, at the lower median of that window', async (t) => {
  const table = [
    s('b1', 0.25, 0.75), s('b1', 0.5, 1), s('b1', 1, 1), s('b1', 2, 0.9), // window {0.5, 1}
    s('b3', 0.25, 0.75), s('b3', 0.5, 1), s('b3', 1, 1), s('b3', 2, 1), s('b3', 4, 1), // window {0.5, 1, 2, 4}
  ];
  // b3's window has four coefficients; its lower median (second of four) is 1, at index 6.
  t.equal(chooseSetting(table, 0.5), 6);
  t.equal(chooseSetting([s('x', 4, 1), s('x', 0.5, 1), s('x', 1, 1)], 0.5), 2, 'the window is ordered by coefficient, not by position in the table');
  t.equal(chooseSetting([s('x', -2, 1), s('x', 1, 1), s('x', -0.5, 1)], 0.5), 1, 'by magnitude for signed coefficients');
});

t.test('equal windows go to the lower mean NLL', async (t) => {
  const table = [s('a', 1, 1, true, 0.3), s('a', 2, 1, true, 0.3), s('b', 1, 1, true, 0.2), s('b', 2, 1, true, 0.25)];
  t.equal(chooseSetting(table, 0.5), 2);
});

t.test('repetition is the share of token 4-grams that repeat an earlier one', async (t) => {
  t.equal(repetition([1, 2, 3]), 0, 'too short for two 4-grams');
  t.equal(repetition([1, 2, 3, 4, 5, 6]), 0);
  // 4-grams of 1 2 3 4 1 2 3 4: [1234] [2341] [3412] [4123] [1234]: 5 grams, 4 distinct.
  t.equal(repetition([1, 2, 3, 4, 1, 2, 3, 4]), 1 - 4 / 5);
  t.equal(repetition([7, 7, 7, 7, 7, 7, 7]), 1 - 1 / 4);
});

t.test('meanNll is the mean negative log-softmax of each next token', async (t) => {
  const logits = [Float32Array.of(0, 1, 2), Float32Array.of(3, 0, 0), Float32Array.of(-1, -1, 5)];
  const tokens = [0, 2, 0, 1];
  // Oracle: log-softmax through probabilities in float64, without the max shift.
  const nll = (row: Float32Array, k: number) => -Math.log(Math.exp(row[k]) / row.reduce((a, x) => a + Math.exp(x), 0));
  const want = (nll(logits[0], 2) + nll(logits[1], 0) + nll(logits[2], 1)) / 3;
  t.ok(Math.abs(meanNll(logits, tokens, 1, 4) - want) < 1e-9, `${meanNll(logits, tokens, 1, 4)} vs ${want}`);
  t.ok(Math.abs(meanNll(logits, tokens, 3, 4) - nll(logits[2], 1)) < 1e-9, 'one token');
});

t.test('separating blocks are those whose vector is at least half the longest', async (t) => {
  const v = PersonaVector.fromBlocks({ 0: [3, 4], 1: [0, 10], 2: [6, 0], 3: [0, 4.9] });
  t.same(separatingBlocks(v), [0, 1, 2], 'norms 5, 10, 6, 4.9 against half of 10');
  t.same(separatingBlocks(v, 0.4), [0, 1, 2, 3]);
  t.throws(() => separatingBlocks(v, 2), /fraction must be a number in \[0, 1\]/);
});

t.test('defaults follow where a vector was read', async (t) => {
  const at = (method?: string) => PersonaVector.fromBlocks({ 1: [1, 0] }, method ? { method } : {});
  t.equal(extractionPositions(at('mean-diff/last-prompt')), 'last-prompt');
  t.equal(extractionPositions(at('pca/last-prompt')), 'last-prompt');
  t.equal(extractionPositions(at('mean-diff')), 'response');
  t.equal(extractionPositions(at('repeng')), undefined);
  t.equal(extractionPositions(at()), undefined);
  t.equal(defaultPositions(at('mean-diff/last-prompt')), 'prompt');
  t.equal(defaultPositions(at('mean-diff')), 'all');
  t.equal(defaultPositions(at()), 'all');
});

t.test('a default sweep tries every block of a small vector, and five middle blocks of a deep one', async (t) => {
  const small = PersonaVector.fromBlocks({ 0: [1], 1: [1], 2: [1], 3: [1] });
  t.same(defaultSweepBlocks(small, 4), [[0], [1], [2], [3]]);
  const deep = PersonaVector.fromBlocks(Object.fromEntries(Array.from({ length: 32 }, (_, b) => [b, [1]])));
  // Targets 8, 12, 16, 20, 24: evenly over [n/4, 3n/4].
  t.same(defaultSweepBlocks(deep, 32), [[8], [12], [16], [20], [24]]);
  const sparse = PersonaVector.fromBlocks(Object.fromEntries([1, 3, 5, 7, 9, 11, 13, 15, 17, 19].map((b) => [b, [1]])));
  // Targets 5, 7.5, 10, 12.5, 15; ties (10: 9 or 11) go to the lower block.
  t.same(defaultSweepBlocks(sparse, 20), [[5], [7], [9], [13], [15]], 'each target moves to the nearest block the vector has');
});
