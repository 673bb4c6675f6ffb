import t from 'tap';
import { VectorMean, pcaVector, percentile, principalComponent, separation } from '../../lib/persona/extraction-math';
import { Prng } from './helpers/prng';
import { covariance, topEigenvector } from '../helpers/linalg';

// Oracle for PCA: the explicit covariance matrix and its eigenvectors by cyclic Jacobi rotations
// (a different algorithm from the library's power iteration on X^T (X v)), in ../helpers/linalg.

const dot = (a: ArrayLike<number>, b: ArrayLike<number>) => Array.from(a).reduce((s, x, i) => s + x * b[i], 0);

function randomRows(r: Prng, n: number, d: number, shift: number[]): number[][] {
  return Array.from({ length: n }, () => Array.from({ length: d }, (_, i) => (r.next() * 2 - 1) + shift[i]));
}

t.test('the principal component matches the top eigenvector of the explicit covariance', async (t) => {
  const r = new Prng(11);
  for (let c = 0; c < 12; c++) {
    const d = r.int(2, 24);
    const n = r.int(3, 30);
    const axis = Array.from({ length: d }, () => r.next() * 2 - 1);
    // A dominant direction plus noise, so the top eigenvalue is well separated.
    const rows = Array.from({ length: n }, () => {
      const k = (r.next() * 2 - 1) * 5;
      return axis.map((a) => k * a + (r.next() - 0.5) * 0.3 + 7);
    });
    const oracle = topEigenvector(covariance(rows));
    const got = principalComponent(rows)!;
    t.ok(Math.abs(Math.hypot(...got) - 1) < 1e-9, 'unit length');
    t.ok(Math.abs(Math.abs(dot(got, oracle.vector)) - 1) < 1e-8, `case ${c}: |cos| = ${Math.abs(dot(got, oracle.vector))}`);
  }
});

t.test('the principal component is computed on centred rows: a common offset does not change it', async (t) => {
  const r = new Prng(12);
  const rows = randomRows(r, 20, 8, new Array(8).fill(0));
  const shifted = rows.map((row) => row.map((x, i) => x + 100 * (i + 1)));
  const a = principalComponent(rows)!;
  const b = principalComponent(shifted)!;
  t.ok(Math.abs(Math.abs(dot(a, b)) - 1) < 1e-8, `|cos| ${Math.abs(dot(a, b))}`);
  const uncentredTop = topEigenvector(shifted[0].map((_, i) => shifted[0].map((__, j) => shifted.reduce((s, row) => s + row[i] * row[j], 0))));
  t.ok(Math.abs(dot(b, uncentredTop.vector)) < 0.99, 'an uncentred PCA would have found the offset instead');
});

t.test('no variance gives no principal component', async (t) => {
  t.equal(principalComponent([[1, 2, 3], [1, 2, 3]]), null);
  t.equal(principalComponent([]), null);
});

t.test('the PCA vector is signed so that positives project higher, whatever the eigen solver returns', async (t) => {
  const r = new Prng(13);
  for (let c = 0; c < 10; c++) {
    const d = r.int(3, 16);
    const dir = Array.from({ length: d }, () => r.next() * 2 - 1);
    const pos = randomRows(r, 6, d, dir.map((x) => 2 * x));
    const neg = randomRows(r, 6, d, dir.map((x) => -2 * x));
    for (const [p, n] of [[pos, neg], [neg, pos]]) {
      const v = pcaVector(p, n)!;
      const mp = p.reduce((s, row) => s + dot(row, v), 0) / p.length;
      const mn = n.reduce((s, row) => s + dot(row, v), 0) / n.length;
      t.ok(mp > mn, `case ${c}: positive mean projection ${mp} > negative ${mn}`);
    }
  }
});

t.test('the PCA vector is the mean difference projected on the principal axis', async (t) => {
  const r = new Prng(14);
  const d = 10;
  const dir = Array.from({ length: d }, () => r.next() * 2 - 1);
  const pos = randomRows(r, 8, d, dir.map((x) => 3 * x));
  const neg = randomRows(r, 8, d, dir.map((x) => -3 * x));
  const v = Array.from(pcaVector(pos, neg)!);
  const u = topEigenvector(covariance([...pos, ...neg])).vector;
  const diff = Array.from({ length: d }, (_, i) => pos.reduce((s, x) => s + x[i], 0) / 8 - neg.reduce((s, x) => s + x[i], 0) / 8);
  const g = dot(diff, u);
  const expect = u.map((x) => x * g);
  t.ok(v.every((x, i) => Math.abs(x - expect[i]) < 1e-5), `max diff ${Math.max(...v.map((x, i) => Math.abs(x - expect[i])))}`);
  t.ok(Math.abs(Math.hypot(...v) - Math.abs(g)) < 1e-5, 'norm is the projection gap');
});

t.test('separation is the gap over the pooled standard deviation', async (t) => {
  const s = separation([1, 2, 3], [0, -2]);
  // Means 2 and -1; squared deviations 1+0+1 and 1+1; pooled variance 4/3.
  t.equal(s.positiveMean, 2);
  t.equal(s.negativeMean, -1);
  t.equal(s.gap, 3);
  t.ok(Math.abs(s.pooledSd - Math.sqrt(4 / 3)) < 1e-12);
  t.ok(Math.abs(s.separation - 3 / Math.sqrt(4 / 3)) < 1e-12);
});

t.test('separation is NaN without enough samples or without spread', async (t) => {
  t.ok(Number.isNaN(separation([1], [0]).separation), 'one sample each');
  t.ok(Number.isNaN(separation([1, 1], [0, 0]).separation), 'no spread');
  t.equal(separation([1], [0]).gap, 1, 'the gap is still defined');
});

t.test('percentiles interpolate linearly between order statistics like numpy', async (t) => {
  const xs = [15, 20, 35, 40, 50];
  // numpy.percentile(xs, [0, 25, 40, 75, 100]) = 15, 20, 29, 40, 50
  t.equal(percentile(xs, 0), 15);
  t.equal(percentile(xs, 25), 20);
  t.ok(Math.abs(percentile(xs, 40) - 29) < 1e-12);
  t.equal(percentile(xs, 75), 40);
  t.equal(percentile(xs, 100), 50);
  t.equal(percentile([3, 1, 2], 50), 2, 'input order does not matter');
  t.ok(Number.isNaN(percentile([], 50)));
});

t.test('a running vector mean equals the plain mean', async (t) => {
  const m = new VectorMean(3);
  m.add([1, 2, 3]);
  m.add(Float32Array.of(3, 2, 1));
  t.same(Array.from(m.mean()), [2, 2, 2]);
  t.equal(m.count, 2);
});
