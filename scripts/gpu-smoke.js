#!/usr/bin/env node
// GPU checks through the Node API with every block offloaded, plus the decode overhead of the
// hook measured side by side (same binary, same model, alternating rounds, medians).
//   PERSONA_STEER_ADDON=build-cuda/Release/persona_steer.node node scripts/gpu-smoke.js [out.json]
// Uses dist/ (npm run build:ts). Prints "ok"/"not ok" lines; exits 1 on any failure.
const fs = require('node:fs');
const path = require('node:path');
const { Model, add, clamp, systemInfo } = require('../dist');

const models = process.env.PERSONA_STEER_MODELS ?? path.resolve(__dirname, '..', '..', 'shared', 'models');
const results = { checks: [], overhead: null };
let failed = 0;
function check(name, ok, detail) {
  results.checks.push({ name, ok, detail });
  if (!ok) failed++;
  console.log(`${ok ? 'ok' : 'not ok'} - ${name}${detail ? ` (${detail})` : ''}`);
}
function rand(n, seed) {
  let s = seed;
  return Float32Array.from({ length: n }, () => { s = (s * 1103515245 + 12345) % 2147483648; return s / 2147483648 - 0.5; });
}
const maxDiff = (a, b) => a.reduce((m, x, i) => Math.max(m, Math.abs(x - b[i])), 0);
const median = (xs) => { const s = [...xs].sort((a, b) => a - b); return s[Math.floor(s.length / 2)]; };

async function main() {
  const info = systemInfo();
  results.devices = info.devices;
  check('a GPU device is present', info.devices.some((d) => /CUDA|Metal/i.test(d.name)), info.devices.map((d) => `${d.name}: ${d.description}`).join('; '));
  const model = await Model.load(path.join(models, 'stories260K.gguf'), { gpuLayers: -1 });
  const n = model.info.embeddingSize;
  const ctx = await model.createContext({ contextSize: 512 });
  const ref = await model.createContext({ contextSize: 512 });
  const prompt = 'Once upon a time, there was a little dog named Max. He liked to run';
  const v = rand(n, 7);

  await ref.setLlamaControlVector(v, { scale: 3, blocks: [1, 2, 3] });
  const stock = await ref.logits(prompt, { all: true });
  ctx.setSteering([add(v, 3, [1, 2, 3])]);
  const ours = await ctx.logits(prompt, { all: true });
  check("add matches llama.cpp's control vector on the GPU", maxDiff(ours.logits, stock.logits) <= 1e-5, `max diff ${maxDiff(ours.logits, stock.logits)}`);
  await ref.setLlamaControlVector(null);

  ctx.setSteering(null);
  const plain = await ctx.logits(prompt, { all: true });
  ctx.setSteering([add(v, 0, 'all'), clamp(v, { min: -1e6, max: 1e6 }, 'all')]);
  const zero = await ctx.logits(prompt, { all: true });
  check('a zero-effect plan gives bit-identical logits on the GPU', Buffer.from(plain.logits.buffer).equals(Buffer.from(zero.logits.buffer)));

  const norm = Math.hypot(...v);
  const u = Array.from(v, (x) => x / norm);
  ctx.setSteering(null);
  const cap0 = await ctx.capture(prompt, { blocks: [2] });
  const proj = cap0.blocks[0].rows.map((r) => r.reduce((s, x, k) => s + x * u[k], 0)).sort((a, b) => a - b);
  const lo = proj[Math.floor(proj.length * 0.3)];
  const hi = proj[Math.floor(proj.length * 0.7)];
  ctx.setSteering([clamp(v, { min: lo, max: hi }, [2])]);
  const cap = await ctx.capture(prompt, { blocks: [2] });
  const worst = Math.max(...cap.blocks[0].rows.map((r) => {
    const p = r.reduce((s, x, k) => s + x * u[k], 0);
    return Math.max(lo - p, p - hi, 0);
  }));
  // Batched F32 products run in TF32 on CUDA (about 1e-3 relative), so bounds hold to that precision.
  check('clamped projections stay within bounds on the GPU', worst <= 2e-3 * (Math.abs(hi) + Math.abs(lo) + 1), `worst excess ${worst}`);

  ctx.setSteering([add(v, 1, [1, 2])]);
  await ctx.complete([1], { greedy: true, maxTokens: 4 });
  const before = await ctx.stats();
  let k = 0;
  const stream = ctx.generate([1], { greedy: true, maxTokens: 48 });
  for await (const ev of stream) if (ev.token !== null) ctx.setSteering([add(v, (k++ % 3) - 1, [1, 2])]);
  await stream.result;
  const after = await ctx.stats();
  check('values changed every token do not rebuild the graph (CUDA graphs kept)', after.graphBuilds === before.graphBuilds,
    `builds ${before.graphBuilds} -> ${after.graphBuilds}, reused ${after.reusedGraphs}`);

  // Overhead: alternate unsteered / steered rounds, 128 greedy tokens each.
  const blocks = Array.from({ length: model.info.blockCount }, (_, i) => i);
  const dirs = [1, 2, 3, 4].map((s) => rand(n, 100 + s));
  const cases = {
    unsteered: { steer: null },
    'add on every block': { steer: [add(v, 0.5, 'all')] },
    '4 clamps on every block + monitor 4': {
      steer: dirs.map((d) => clamp(d, { min: -50, max: 50 }, blocks)),
      monitor: dirs.map((d, i) => ({ name: `d${i}`, vector: d, blocks: [blocks[blocks.length - 2]] })),
    },
  };
  const tps = Object.fromEntries(Object.keys(cases).map((c) => [c, []]));
  for (let round = 0; round < 7; round++) {
    for (const [name, c] of Object.entries(cases)) {
      ctx.setSteering(c.steer);
      const r = await ctx.complete([1], { greedy: true, maxTokens: 128, stopAtEog: false, monitor: c.monitor });
      if (round > 0) tps[name].push(r.tokensPerSecond);
    }
  }
  const base = median(tps.unsteered);
  results.overhead = Object.fromEntries(Object.entries(tps).map(([k2, xs]) => [k2, { medianTps: median(xs), min: Math.min(...xs), max: Math.max(...xs), ratio: median(xs) / base }]));
  for (const [k2, r] of Object.entries(results.overhead)) console.log(`# ${k2}: ${r.medianTps.toFixed(0)} tok/s (min ${r.min.toFixed(0)}, max ${r.max.toFixed(0)}), ratio ${r.ratio.toFixed(3)}`);
  await ctx.dispose();
  await ref.dispose();
  model.dispose();
}

main().then(() => {
  if (process.argv[2]) fs.writeFileSync(process.argv[2], JSON.stringify(results, null, 2));
  console.log(`${results.checks.length - failed} passed, ${failed} failed`);
  process.exit(failed > 0 ? 1 : 0);
}, (err) => {
  console.error(`not ok - ${err.code ?? ''} ${err.stack}`);
  process.exit(1);
});
