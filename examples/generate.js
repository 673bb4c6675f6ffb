// Steered generation: plain, then with a direction added at blocks 1-2, with the projection on
// that direction monitored at block 3. Default model: the package's toy model (models/).
//   node examples/generate.js [model.gguf]
const path = require('node:path');
const { Model, add } = require('..');

async function main() {
  const file = process.argv[2] ?? path.resolve(__dirname, '..', 'models', 'toy-persona.gguf');
  const model = await Model.load(file);
  const ctx = await model.createContext({ threads: 1 });
  const n = model.info.embeddingSize;
  const raw = Array.from({ length: n }, (_, i) => Math.sin(i * 1.7));
  const norm = Math.hypot(...raw);
  const v = Float32Array.from(raw, (x) => x / norm);   // a unit direction: the scale below is its length
  const monitor = [{ name: 'v', vector: v, blocks: [3] }];

  for (const [label, steer] of [['plain', null], ['+3v at blocks 1-2', [add(v, 3, [1, 2])]]]) {
    const r = await ctx.complete('Once upon a time', { greedy: true, maxTokens: 48, steer, monitor });
    const mean = r.projections.reduce((s, p) => s + p[0].value, 0) / r.projections.length;
    console.log(`--- ${label} (mean projection at block 3: ${mean.toFixed(3)}, ${r.tokensPerSecond.toFixed(0)} tok/s)`);
    console.log(`Once upon a time${r.text}\n`);
  }
  await ctx.dispose();
  model.dispose();
}

main().catch((err) => {
  console.error(`${err.code ?? 'ERROR'}: ${err.message}`);
  process.exit(1);
});
