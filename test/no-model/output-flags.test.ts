// Which tokens produce outputs when block outputs are read (lib/output-flags.ts): the read
// positions when the last block is among the blocks, else only the last token; written out by hand.
import t from 'tap';
import { outputFlags } from '../../lib/output-flags';

const middle = (i: number) => i >= 1 && i < 3;

t.test('reading the last block makes exactly the read positions produce outputs', async (t) => {
  t.same(Array.from(outputFlags(5, middle, [0, 3], 4)), [0, 1, 1, 0, 0]);
  t.same(Array.from(outputFlags(3, () => true, [3], 4)), [1, 1, 1]);
});

t.test('reading only earlier blocks makes only the last token produce an output', async (t) => {
  t.same(Array.from(outputFlags(5, middle, [0, 2], 4)), [0, 0, 0, 0, 1]);
  t.same(Array.from(outputFlags(1, () => false, [1], 4)), [1]);
});
