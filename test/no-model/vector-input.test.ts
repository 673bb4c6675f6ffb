// The one reading of steering and monitor vector inputs (lib/vector-input.ts), against results
// written out by hand for each kind of input.
import t from 'tap';
import { definedBlocks, readVectorInput, vectorAt } from '../../lib/vector-input';
import { PersonaVector } from '../../lib/vector/persona-vector';

const model = { embeddingSize: 2, blockCount: 6 };
const names = { vector: 'v', blocks: 'b' };
const persona = () => PersonaVector.fromBlocks({ 1: [1, 2], 4: [3, 4] });
const inputs = () => ({
  'a PersonaVector': persona(),
  'a Map': new Map([[1, [1, 2]], [4, new Float32Array([3, 4])]]),
  'a plain record': { 1: [1, 2], 4: [3, 4] },
});

t.test('definedBlocks lists the blocks of a PersonaVector, a Map and a record, and null for a plain array', async (t) => {
  for (const [what, input] of Object.entries(inputs())) t.same(definedBlocks(input), [1, 4], what);
  t.equal(definedBlocks([1, 2]), null, 'number[]');
  t.equal(definedBlocks(new Float32Array([1, 2])), null, 'Float32Array');
});

t.test('vectorAt gives the values at a block, undefined where the input has none, and a plain array at any block', async (t) => {
  for (const [what, input] of Object.entries(inputs())) {
    t.same(Array.from(vectorAt(input, 4)!), [3, 4], `${what} at 4`);
    t.equal(vectorAt(input, 2), undefined, `${what} at 2`);
  }
  const plain = [5, 6];
  t.equal(vectorAt(plain, 0), plain, 'the plain array itself at block 0');
  t.equal(vectorAt(plain, 5), plain, 'and at block 5');
});

t.test('readVectorInput uses every block the input defines when no blocks are given', async (t) => {
  for (const [what, input] of Object.entries(inputs())) {
    const r = readVectorInput(input, undefined, model, names, false);
    t.same(r.blocks, [1, 4], what);
    t.same(r.values.map((v) => Array.from(v)), [[1, 2], [3, 4]], what);
    t.ok(r.values.every((v) => v instanceof Float32Array), `${what}: float32 copies`);
  }
});

t.test('readVectorInput uses the given blocks, sorted and distinct, and a plain array at each', async (t) => {
  t.same(readVectorInput(persona(), [4, 1, 4], model, names, false).blocks, [1, 4]);
  t.same(readVectorInput(persona(), 4, model, names, false).values.map((v) => Array.from(v)), [[3, 4]]);
  const r = readVectorInput([0.5, -0.5], [3, 0], model, names, false);
  t.same(r.blocks, [0, 3]);
  t.same(r.values.map((v) => Array.from(v)), [[0.5, -0.5], [0.5, -0.5]]);
  t.same(readVectorInput([1, 1], 'all', model, names, false).blocks, [0, 1, 2, 3, 4, 5], "'all' is every block of the model");
});

t.test('readVectorInput refuses bad inputs with ERR_INVALID_ARG naming the argument', async (t) => {
  const cases: [string, () => unknown, RegExp][] = [
    ['not an object', () => readVectorInput(3, [1], model, names, false), /^v must be a PersonaVector, a Map of block vectors or a Float32Array/],
    ['a plain array without blocks', () => readVectorInput([1, 2], undefined, model, names, false), /^b must be block indices \(required with a plain array vector\), or 'all'/],
    ['a block the input lacks', () => readVectorInput(persona(), [1, 2], model, names, false), /^b\[1\] must be a block the vector has \(1, 4\); received 2/],
    ['a given block beyond the model', () => readVectorInput([1, 2], [6], model, names, false), /^b\[0\] must be an integer in \[0, 5\]/],
    ["the input's own block beyond the model", () => readVectorInput(new Map([[7, [1, 2]]]), undefined, model, names, false), /^v \(the vector's blocks\)\[0\] must be an integer in \[0, 5\]/],
    ['the wrong length', () => readVectorInput([1, 2, 3], [1], model, names, false), /^v@1 must be 2 values \(the model's embedding size\)/],
    ['a NaN', () => readVectorInput({ 1: [1, NaN] }, undefined, model, names, false), /^v@1\[1\] must be a finite number/],
    ['a zero direction', () => readVectorInput({ 1: [0, 0] }, undefined, model, names, true), /^v@1 must be a direction with non-zero length/],
  ];
  for (const [what, f, message] of cases) t.throws(f, { code: 'ERR_INVALID_ARG', message }, what);
});

t.test('readVectorInput takes a zero vector when it need not be a direction', async (t) => {
  t.same(readVectorInput({ 1: [0, 0] }, undefined, model, names, false).values.map((v) => Array.from(v)), [[0, 0]]);
});
