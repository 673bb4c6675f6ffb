import t from 'tap';
import { PersonaSteerError, ErrorCodes } from '../../lib/errors';
import { cap, personaPlan, recommendedPositions, steerAblate, steerAdd } from '../../lib/persona/steer';
import { withCapThresholds } from '../../lib/persona/calibrate';
import type { CapCalibration } from '../../lib/persona/calibrate';
import { toNativePlan } from '../../lib/steering';
import { PersonaVector } from '../../lib/vector/persona-vector';

const N_EMBD = 4;
const N_LAYER = 6;

function vector(metadata = {}): PersonaVector {
  return PersonaVector.fromBlocks({ 1: [3, 4, 0, 0], 2: [0, 0, 2, 0], 4: [1, 1, 1, 1] }, metadata);
}

const calibrated = () => vector({
  residualNorms: [10, 20, 30, 40, 50],
  recommendedBlocks: [4, 2],
  coefficient: 1.5,
  capThresholds: [0.4, -0.2],
});

function nativeOps(ops: Parameters<typeof toNativePlan>[0]) {
  return toNativePlan(ops, N_EMBD, N_LAYER).ops;
}

t.test('steerAdd in raw units adds coefficient x v at the given blocks', async (t) => {
  const [op] = nativeOps([steerAdd(vector(), 2.5, { blocks: [1, 2] })]);
  t.same(Array.from(op.blocks), [1, 2]);
  t.equal(op.scale, 2.5);
  t.same(Array.from(op.vectors), [3, 4, 0, 0, 0, 0, 2, 0]);
});

t.test('steerAdd with relative: true adds coefficient x residual norm x unit vector', async (t) => {
  const [op] = nativeOps([steerAdd(calibrated(), 0.1, { blocks: [1, 4], relative: true })]);
  t.equal(op.scale, 0.1);
  // Block 1: unit (0.6, 0.8) x 20; block 4: unit (0.5, 0.5, 0.5, 0.5) x 50.
  const want = [12, 16, 0, 0, 25, 25, 25, 25];
  t.ok(Array.from(op.vectors).every((x, i) => Math.abs(x - want[i]) < 1e-5), `got ${Array.from(op.vectors)}`);
});

t.test("steerAdd defaults to the vector's recorded coefficient and recommended blocks", async (t) => {
  const op = steerAdd(calibrated());
  t.equal(op.scale, 1.5);
  t.same(op.blocks, [2, 4]);
  const plain = steerAdd(vector(), 1);
  t.same(plain.blocks, [1, 2, 4], 'without recommended blocks: every block of the vector');
});

t.test('steerAdd refuses what it cannot honour', async (t) => {
  const code = { code: ErrorCodes.INVALID_ARG };
  t.throws(() => steerAdd(vector()), code, 'no coefficient recorded and none given');
  t.throws(() => steerAdd(calibrated(), undefined, { relative: true }), code, 'the recorded coefficient is raw');
  t.throws(() => steerAdd(vector(), 1, { relative: true }), code, 'relative without residual norms');
  t.throws(() => steerAdd(vector(), 1, { blocks: [3] }), code, 'a block the vector lacks');
  t.throws(() => steerAdd(vector(), Number.NaN), code, 'NaN coefficient');
  t.throws(() => steerAdd(vector(), 1, { blocks: [1], scale: 2 } as never), /options\.scale/, 'unknown option');
  t.throws(() => steerAdd([1, 2, 3, 4] as never, 1), /vector must be a PersonaVector/);
  const e = t.throws(() => steerAdd(calibrated(), 1, { blocks: [5], relative: true })) as unknown as PersonaSteerError;
  t.match(e.message, /options\.blocks\[0\] must be a block the vector has \(1, 2, 4\); received 5/);
});

t.test('cap with a number returns one clamp op for every block', async (t) => {
  const op = cap(vector(), { max: 0.5, blocks: [1, 2] });
  t.notOk(Array.isArray(op));
  const [n] = nativeOps([op]);
  t.same(Array.from(n.blocks), [1, 2]);
  t.equal(n.max, 0.5);
  t.equal(n.min, undefined);
  const both = nativeOps([cap(vector(), { min: -1, max: 1, blocks: 'all' })])[0];
  t.same(Array.from(both.blocks), [1, 2, 4]);
  t.equal(both.min, -1);
});

t.test('cap with per-block thresholds returns one op per block with its own threshold', async (t) => {
  const ops = cap(vector(), { max: [0.1, 0.2], blocks: [2, 1] });
  t.ok(Array.isArray(ops));
  const n = nativeOps(ops);
  t.same(n.map((o) => [o.blocks[0], o.max]), [[1, 0.1], [2, 0.2]], 'blocks ascending, thresholds follow the sorted blocks');
  const byMap = nativeOps(cap(vector(), { min: new Map([[1, -3], [4, -5]]), blocks: [1, 4] }));
  t.same(byMap.map((o) => [o.blocks[0], o.min]), [[1, -3], [4, -5]]);
  t.throws(() => cap(vector(), { max: [1], blocks: [1, 2] }), /2 thresholds, one per block/);
  t.throws(() => cap(vector(), { max: { 1: 0.5 }, blocks: [1, 2] }), /options\.max\[2\] must be a threshold for block 2/);
});

t.test('cap with no bounds uses the recorded thresholds at the recommended blocks, capping from above', async (t) => {
  const n = nativeOps(cap(calibrated()));
  t.same(n.map((o) => [o.blocks[0], o.max, o.min]), [[2, -0.2, undefined], [4, 0.4, undefined]]);
  t.throws(() => cap(vector()), /no capThresholds/);
  t.throws(() => cap(calibrated(), { blocks: [1] } as never), /recorded thresholds/);
});

t.test("cap accepts calibrateCap's result, with its bound", async (t) => {
  const max = nativeOps(cap(vector(), { bound: 'max', percentile: 75, blocks: [1, 4], thresholds: [1, 2], counts: [5, 5] } as CapCalibration));
  t.same(max.map((o) => [o.blocks[0], o.max]), [[1, 1], [4, 2]]);
  const min = nativeOps(cap(vector(), { bound: 'min', blocks: [2], thresholds: [-1] }));
  t.equal(min[0].min, -1);
  t.equal(min[0].max, undefined);
});

t.test('cap refuses bounds that cross or are missing', async (t) => {
  t.throws(() => cap(vector(), { min: 2, max: 1 }), /options\.min must be a number <= max \(1\)/);
  t.throws(() => cap(vector(), { max: Number.POSITIVE_INFINITY }), /options\.max must be a finite number/);
  t.throws(() => cap(vector(), { max: 1, limit: 2 } as never), /options\.limit/);
});

t.test('steerAblate removes the direction at the recommended blocks by default', async (t) => {
  const [n] = nativeOps([steerAblate(calibrated())]);
  t.same(Array.from(n.blocks), [2, 4]);
  t.equal(n.min, 0);
  t.equal(n.max, 0);
});

t.test('personaPlan flattens arrays of ops and keeps the positions', async (t) => {
  const v = calibrated();
  const plan = personaPlan([steerAdd(v, 2), cap(v), steerAblate(v, { blocks: [1] })], { positions: 'generated' });
  t.equal(plan.positions, 'generated');
  t.same(plan.ops.map((o) => o.kind), ['add', 'clamp', 'clamp', 'ablate']);
  t.equal(toNativePlan(plan, N_EMBD, N_LAYER).ops.length, 4, 'the plan compiles');
  t.throws(() => personaPlan([], { positions: 'some' as never }), /options\.positions/);
});

const recipe = () => vector({
  residualNorms: [10, 20, 30, 40, 50],
  recommendedBlocks: [2],
  coefficient: 0.5,
  positions: 'prompt',
  recommendedBy: 'sweep',
  capBlocks: [1, 4],
  capThresholds: [-3, 7],
  capPositions: 'prompt',
});

t.test("personaPlan applies the positions the vector records for an addition at its recommendation", async (t) => {
  const v = recipe();
  t.equal(personaPlan([steerAdd(v)]).positions, 'prompt');
  t.equal(personaPlan([steerAdd(v, -0.5)]).positions, 'prompt', 'a coefficient of its own changes only the strength');
  t.equal(personaPlan([steerAdd(v, 1, { relative: true })]).positions, 'prompt');
  t.equal(personaPlan([steerAdd(v)], { positions: 'all' }).positions, 'all', 'options.positions wins');
  t.equal(personaPlan([steerAdd(calibrated())]).positions, undefined, 'a vector that records none leaves the plan default (every position)');
  t.equal(recommendedPositions(steerAdd(v)), 'prompt');
  t.same(Object.keys(steerAdd(v)).sort(), ['blocks', 'kind', 'scale', 'vector'], 'the op keeps the plain keys of lib/steering.ts');
  t.equal(toNativePlan(personaPlan([steerAdd(v)]), N_EMBD, N_LAYER).positions, 'prompt', 'the plan compiles with them');
});

t.test('cap with no bounds uses the recorded cap blocks, thresholds and positions, not the steering blocks', async (t) => {
  const v = recipe();
  const ops = cap(v);
  t.same(nativeOps(ops).map((o) => [o.blocks[0], o.max, o.min]), [[1, -3, undefined], [4, 7, undefined]]);
  t.equal(personaPlan([ops]).positions, 'prompt');
  t.equal(personaPlan([cap(v, { max: 1 })]).positions, undefined, 'an explicit threshold carries no recommendation');
});

t.test('ops recommending different positions need options.positions', async (t) => {
  const a = recipe();
  const b = vector({ recommendedBlocks: [1], coefficient: 1, positions: 'all' });
  t.throws(() => personaPlan([steerAdd(a), steerAdd(b)]), { code: ErrorCodes.INVALID_ARG, message: /recommend different positions \(prompt, all\)/ });
  t.equal(personaPlan([steerAdd(a), steerAdd(b)], { positions: 'generated' }).positions, 'generated');
  t.equal(personaPlan([steerAdd(a), steerAblate(b)]).positions, 'prompt', 'an op without a recommendation does not conflict');
});

t.test("withCapThresholds records a calibration's blocks, thresholds and positions and keeps the steering recommendation", async (t) => {
  const v = withCapThresholds(recipe(), { bound: 'max', statistic: 'mean', margin: 0.1, measured: 'last-prompt', positions: 'prompt', blocks: [2, 4], thresholds: [0.5, 1.5], counts: [12, 12] });
  t.same(v.metadata.capBlocks, [2, 4]);
  t.same(v.metadata.capThresholds, [0.5, 1.5]);
  t.equal(v.metadata.capPositions, 'prompt');
  t.same(v.metadata.recommendedBlocks, [2], 'the steering blocks stay');
  t.equal(v.metadata.coefficient, 0.5);
  t.throws(() => withCapThresholds(recipe(), { bound: 'min', blocks: [2], thresholds: [0], counts: [1] } as never), /calibration\.bound must be 'max'/);
});
