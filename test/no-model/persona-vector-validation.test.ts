import t from 'tap';
import { PersonaVector } from '../../lib/vector/persona-vector';
import { PersonaSteerError } from '../../lib/errors';

const v = PersonaVector.fromBlocks({ 1: [1, 2, 3], 4: [0, 0, 0] });
const w = PersonaVector.fromBlocks({ 1: [3, 2, 1], 2: [1, 1, 1] });
const narrow = PersonaVector.fromBlocks({ 1: [1, 2] });
const big = PersonaVector.fromBlocks({ 0: [3e38] });
const anyV = v as unknown as { [k: string]: (...a: unknown[]) => unknown };
const fromBlocks = PersonaVector.fromBlocks as unknown as (...a: unknown[]) => unknown;

// Every row: what is called, and a pattern the ERR_INVALID_ARG message must match (it names the
// argument, what was expected and what was received).
const MATRIX: Array<[string, () => unknown, RegExp]> = [
  ['fromBlocks with undefined', () => fromBlocks(undefined), /^blocks must be a Map or a plain object.*received undefined/],
  ['fromBlocks with a number', () => fromBlocks(5), /^blocks must be .*received 5/],
  ['fromBlocks with a Float32Array', () => fromBlocks(new Float32Array(3)), /^blocks must be .*received a Float32Array of length 3/],
  ['fromBlocks with a class instance', () => fromBlocks(new Date()), /^blocks must be .*received an object \(Date\)/],
  ['fromBlocks with no blocks', () => fromBlocks({}), /^blocks must be at least one block/],
  ['fromBlocks with a negative key', () => fromBlocks(new Map([[-1, [1]]])), /^blocks key must be a block index.*received -1/],
  ['fromBlocks with a fractional key', () => fromBlocks(new Map([[1.5, [1]]])), /^blocks key must be .*received 1\.5/],
  ['fromBlocks with a string Map key', () => fromBlocks(new Map([['1', [1]]])), /^blocks key must be .*received "1"/],
  ['fromBlocks with a NaN key', () => fromBlocks(new Map([[NaN, [1]]])), /^blocks key must be .*received NaN/],
  ['fromBlocks with a block above the maximum', () => fromBlocks({ 65536: [1] }), /^blocks key must be .*received 65536/],
  ['fromBlocks with a non-numeric key', () => fromBlocks({ x: [1] }), /^blocks key must be .*received "x"/],
  ['fromBlocks with a padded key', () => fromBlocks({ '01': [1] }), /^blocks key must be .*received "01"/],
  ['fromBlocks with a number as values', () => fromBlocks({ 1: 3 }), /^blocks\[1\] must be an array or typed array.*received 3/],
  ['fromBlocks with a string as values', () => fromBlocks({ 1: 'abc' }), /^blocks\[1\] must be an array.*received "abc"/],
  ['fromBlocks with an empty array', () => fromBlocks({ 1: [] }), /^blocks\[1\] must be an array or typed array of 1 to .*received an array of length 0/],
  ['fromBlocks with unequal lengths', () => fromBlocks({ 1: [1, 2], 2: [1] }), /^blocks\[2\] must be 2 numbers, like the other blocks; received an array of length 1/],
  ['fromBlocks with NaN', () => fromBlocks({ 1: [1, NaN] }), /^blocks\[1\]\[1\] must be a finite number; received NaN/],
  ['fromBlocks with Infinity', () => fromBlocks({ 1: [Infinity] }), /^blocks\[1\]\[0\] must be a finite number; received Infinity/],
  ['fromBlocks with -Infinity in a Float64Array', () => fromBlocks({ 2: new Float64Array([0, -Infinity]) }), /^blocks\[2\]\[1\] must be a finite number; received -Infinity/],
  ['fromBlocks with a value beyond float32', () => fromBlocks({ 1: [1e39] }), /^blocks\[1\]\[0\] must be a number within float32 range.*received 1e\+39/],
  ['fromBlocks with a string element', () => fromBlocks({ 1: [1, '2'] }), /^blocks\[1\]\[1\] must be a finite number; received "2"/],
  ['fromBlocks with a hole', () => fromBlocks({ 1: [1, , 3] }), /^blocks\[1\]\[1\] must be a finite number; received undefined/],
  ['fromBlocks with bigints', () => fromBlocks({ 1: new BigInt64Array(2) }), /^blocks\[1\]\[0\] must be a finite number; received 0n/],
  ['fromBlocks with metadata that is an array', () => fromBlocks({ 1: [1] }, []), /^metadata must be a plain object; received an array/],
  ['fromBlocks with an unknown metadata key', () => fromBlocks({ 1: [1] }, { colour: 'red' }), /^metadata\.colour must be absent/],
  ['fromBlocks with an empty trait', () => fromBlocks({ 1: [1] }, { trait: '' }), /^metadata\.trait must be a non-empty/],
  ['fromBlocks with a NaN coefficient', () => fromBlocks({ 1: [1] }, { coefficient: NaN }), /^metadata\.coefficient must be a finite number; received NaN/],
  ['fromBlocks with a recommended block it lacks', () => fromBlocks({ 1: [1] }, { recommendedBlocks: [2] }), /^metadata\.recommendedBlocks\[0\] must be one of the vector's blocks \(1\); received 2/],
  ['fromBlocks with thresholds but no recommended blocks', () => fromBlocks({ 1: [1] }, { capThresholds: [1] }), /^metadata\.capThresholds must be absent unless capBlocks \(or recommendedBlocks\) is set/],
  ['fromBlocks with too few thresholds', () => fromBlocks({ 1: [1], 2: [2] }, { recommendedBlocks: [1, 2], capThresholds: [1] }), /^metadata\.capThresholds must be an array of 2 thresholds/],
  ['fromBlocks with an Infinity threshold', () => fromBlocks({ 1: [1] }, { recommendedBlocks: [1], capThresholds: [Infinity] }), /^metadata\.capThresholds\[0\] must be a finite number; received Infinity/],
  ['fromBlocks with a negative residual norm', () => fromBlocks({ 1: [1] }, { residualNorms: [-1] }), /^metadata\.residualNorms\[0\] must be a non-negative number; received -1/],
  ['fromBlocks with source.embeddingSize unlike the data', () => fromBlocks({ 1: [1, 2] }, { source: { embeddingSize: 3 } }), /^metadata\.source\.embeddingSize must be an integer in \[2, 2\]; received 3/],
  ['fromBlocks with source.blockCount not above the highest block', () => fromBlocks({ 5: [1] }, { source: { blockCount: 5 } }), /^metadata\.source\.blockCount must be an integer in \[6, /],
  ['fromBlocks with the earlier name source.nLayer', () => fromBlocks({ 1: [1] }, { source: { nLayer: 4 } }), /^metadata\.source\.nLayer must be absent \(renamed blockCount\); received 4/],
  ['fromBlocks with the earlier name source.nEmbd', () => fromBlocks({ 1: [1] }, { source: { nEmbd: 1 } }), /^metadata\.source\.nEmbd must be absent \(renamed embeddingSize\); received 1/],
  ['fromBlocks with a reserved extra key', () => fromBlocks({ 1: [1] }, { extra: { 'controlvector.layer_count': { type: 5, value: 1 } } }), /^metadata\.extra key must be a key not owned/],
  ['fromBlocks with an extra value of the wrong type', () => fromBlocks({ 1: [1] }, { extra: { 'my.key': { type: 4, value: -1 } } }), /^metadata\.extra\["my\.key"\] must be an integer in \[0, 4294967295\]/],
  ['block of an absent block', () => v.block(2), /^block must be one of the vector's blocks \(1, 4\); received 2/],
  ['block with a string', () => anyV.block!('1'), /^block must be a block index.*received "1"/],
  ['add with a plain object', () => anyV.add!({ 1: [1, 2, 3] }), /^other must be a PersonaVector; received an object/],
  ['add with undefined', () => anyV.add!(undefined), /^other must be a PersonaVector; received undefined/],
  ['add with another embeddingSize', () => v.add(narrow), /^other\.embeddingSize must be 3 \(this vector's embeddingSize\); received 2/],
  ['sub with another embeddingSize', () => v.sub(narrow), /^other\.embeddingSize must be 3/],
  ['add that overflows float32', () => big.add(big), /^add: the result at block 0, element 0 is outside the float32 range/],
  ['scale by NaN', () => v.scale(NaN), /^k must be a finite number; received NaN/],
  ['scale by Infinity', () => v.scale(Infinity), /^k must be a finite number; received Infinity/],
  ['scale by a string', () => anyV.scale!('2'), /^k must be a finite number; received "2"/],
  ['scale that overflows float32', () => big.scale(10), /^scale: the result at block 0, element 0 is outside/],
  ['normalize with an all-zero block', () => v.normalize(), /^normalize: block 4 is all zeros/],
  ['select with nothing', () => v.select([]), /^blocks must be a non-empty array of block indices; received an array of length 0/],
  ['select with a number', () => anyV.select!(1), /^blocks must be a non-empty array.*received 1/],
  ['select with an absent block', () => v.select([1, 3]), /^blocks\[1\] must be one of the vector's blocks \(1, 4\); received 3/],
  ['select with a repeated block', () => v.select([1, 1]), /^blocks\[1\] must be a block not listed before; received 1/],
  ['select with NaN', () => v.select([NaN]), /^blocks\[0\] must be a block index.*received NaN/],
  ['cosine with another embeddingSize', () => v.cosine(narrow), /^other\.embeddingSize must be 3/],
  ['cosine at a block only one has', () => v.cosine(w, 2), /^block must be a block present in both vectors; received 2/],
  ['cosine with no shared block', () => v.cosine(PersonaVector.fromBlocks({ 9: [1, 1, 1] })), /^other must be a vector sharing a block with this one \(1, 4\); received "9"/],
  ['cosine at an all-zero block', () => v.cosine(PersonaVector.fromBlocks({ 4: [1, 1, 1] }), 4), /^cosine: block 4 is all zeros in this vector/],
  ['withMetadata with null', () => anyV.withMetadata!(null), /^patch must be a plain object; received null/],
  ['withMetadata with a bad value', () => v.withMetadata({ coefficient: Infinity }), /^patch\.coefficient must be a finite number; received Infinity/],
];

for (const [what, call, pattern] of MATRIX) {
  t.test(`${what} throws ERR_INVALID_ARG with a message naming the argument`, async (t) => {
    const e = t.throws(call) as unknown;
    t.ok(e instanceof PersonaSteerError, 'a PersonaSteerError');
    t.equal((e as PersonaSteerError).code, 'ERR_INVALID_ARG');
    t.match((e as Error).message, pattern);
  });
}

t.test('embeddingSize is the length of every block, and the deprecated nEmbd reads the same', async (t) => {
  t.equal(v.embeddingSize, 3);
  t.equal(narrow.embeddingSize, 2);
  t.equal(v.nEmbd, 3);
  t.notOk(Object.keys(v).includes('nEmbd'), 'the alias is no own property (not copied, not in JSON)');
});

t.test('block 0 is accepted, as the first decoder block', async (t) => {
  t.strictSame(PersonaVector.fromBlocks({ 0: [1] }).blocks, [0]);
});

t.test('the valid edge of each range is accepted', async (t) => {
  const max = PersonaVector.fromBlocks({ 65535: [3.4e38, -3.4e38] }, { source: { blockCount: 65536, embeddingSize: 2 } });
  t.strictSame(max.blocks, [65535]);
  t.equal(max.scale(0).block(65535)[0], 0);
});
