// The playground's vector panel (web/src/steering.ts): its slider ranges and the steering it sends,
// checked against the toy vector files as the library reads them (readControlVector), not against
// the formulas the page uses.
import path from 'node:path';
import t from 'tap';
import { describeVector } from '../../lib/server/registry';
import { TOY_VECTORS_DIR } from '../../lib/server/toy-vectors';
import { readControlVector } from '../../lib/vector/control-vector-file';
import type { WireVector } from '../../web/src/api';
import { addRange, capBounds, capRange, capRefBlock, initialControl, steeringRequest } from '../../web/src/steering';

async function toy(name: string) {
  const vector = await readControlVector(path.join(TOY_VECTORS_DIR, `${name}.gguf`));
  const wire = describeVector({ name, vector, origin: 'builtin', created: 0, warnings: [] }) as unknown as WireVector;
  return { vector, wire };
}

t.test('the add slider holds the recorded coefficient and the scale at which the addition matches the residual norm', async (t) => {
  for (const name of ['cheerful', 'sycophantic', 'pirate']) {
    const { vector, wire } = await toy(name);
    const md = vector.metadata;
    const r = addRange(wire);
    t.equal(r.mark, md.coefficient, `${name}: the mark is the recorded coefficient`);
    t.ok(r.min < 0 && r.max > 0 && Math.abs(md.coefficient!) * 2 <= r.max, `${name}: [${r.min}, ${r.max}] holds twice the coefficient ${md.coefficient}`);
    for (const b of md.recommendedBlocks!) {
      const v = vector.block(b);
      const scale = md.residualNorms![b]! / Math.hypot(...v);
      t.ok(scale <= r.max, `${name}: block ${b}'s residual-sized scale ${scale.toFixed(3)} is on the slider`);
    }
    t.equal(initialControl(wire).scale, md.coefficient, `${name}: starts at the recorded coefficient`);
  }
});

t.test('the cap slider is centred on the calibrated threshold, and at its mark every block gets its recorded threshold', async (t) => {
  for (const name of ['cheerful', 'sycophantic', 'pirate']) {
    const { vector, wire } = await toy(name);
    const md = vector.metadata;
    const ref = capRefBlock(wire);
    const i = md.capBlocks!.indexOf(ref);
    t.ok(i >= 0, `${name}: the slider speaks for cap block ${ref}`);
    const r = capRange(wire);
    t.ok(Math.abs(r.mark! - md.capThresholds![i]!) < 1e-9 && Math.abs((r.min + r.max) / 2 - r.mark!) < 1e-9, `${name}: centred on the threshold`);
    t.ok(r.max - r.mark! >= md.residualNorms![ref]! / 2, `${name}: reaching half the residual norm either way`);
    const c = { ...initialControl(wire), cap: true };
    t.same(capBounds(wire, c), md.capBlocks!.map((block, k) => ({ block, max: md.capThresholds![k] })).sort((a, b) => a.block - b.block));
    const moved = capBounds(wire, { ...c, capAt: c.capAt - 2 });
    t.ok(moved.every((m) => Math.abs(m.max - (md.capThresholds![md.capBlocks!.indexOf(m.block)]! - 2)) < 1e-9), `${name}: moving the slider moves every block by as much`);
  }
});

t.test('the steering sent follows the panel, and recorded positions that disagree are refused before sending', async (t) => {
  const pirate = (await toy('pirate')).wire;
  const cheerful = (await toy('cheerful')).wire;
  const controls = { pirate: { ...initialControl(pirate), add: true }, cheerful: initialControl(cheerful) };
  const r = steeringRequest([cheerful, pirate], controls, 'recorded');
  t.same(r.steering, [{ op: 'add', vector: 'pirate', scale: pirate.coefficient, blocks: pirate.recommended_blocks }]);
  t.equal(r.steering_positions, pirate.positions ?? undefined);
  t.same(steeringRequest([cheerful, pirate], { pirate: initialControl(pirate), cheerful: initialControl(cheerful) }, 'recorded'), { steering: false }, 'nothing on: unsteered');
  t.equal(steeringRequest([pirate], { pirate: { ...controls.pirate, addBlocks: [] } }, 'all').problem, 'pirate: choose at least one block to add at');
  const other = { ...cheerful, positions: 'generated' as const };
  const clash = steeringRequest([other, pirate], { ...controls, cheerful: { ...initialControl(other), add: true } }, 'recorded');
  t.equal(clash.steering, false);
  t.match(clash.problem, /recorded different positions/);
  t.equal(steeringRequest([other, pirate], { ...controls, cheerful: { ...initialControl(other), add: true } }, 'all').steering_positions, 'all', 'an explicit choice settles it');
});
