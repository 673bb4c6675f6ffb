// Child process of the extraction-memory case: loads a model, runs Context.captureMean over N
// samples and prints its resident memory (JSON on stdout): after loading, and the peak.
//   argv: modelPath n tokensPerSample threads gpuLayers seed
import { Model } from '../index';
import { promptTokens } from './helpers';

async function main(): Promise<void> {
  const [file, nArg, tokArg, threadsArg, gpuArg, seedArg] = process.argv.slice(2);
  const n = Number(nArg);
  const tokens = Number(tokArg);
  const model = await Model.load(file, { gpuLayers: Number(gpuArg) });
  const ctx = await model.createContext({ threads: Number(threadsArg), contextSize: Math.max(64, tokens + 8) });
  // One warm-up sample so that graph and compute buffers exist before the baseline is read.
  await ctx.captureMean([{ tokens: promptTokens(model, tokens, 1), start: tokens >> 1, end: tokens }]);
  global.gc?.();
  const m0 = process.memoryUsage();
  const rssLoaded = m0.rss;
  let peak = rssLoaded;
  let heapPeak = m0.heapUsed + m0.external;
  const sample = () => {
    const m = process.memoryUsage();
    peak = Math.max(peak, m.rss);
    heapPeak = Math.max(heapPeak, m.heapUsed + m.external);
  };
  const timer = setInterval(sample, 5);
  const items = Array.from({ length: n }, (_, i) => ({ tokens: promptTokens(model, tokens, Number(seedArg) + i), start: tokens >> 1, end: tokens }));
  const t0 = performance.now();
  const means = await ctx.captureMean(items, { blocks: 'all' });
  const ms = performance.now() - t0;
  clearInterval(timer);
  sample();
  const maxRss = process.resourceUsage().maxRSS * 1024;
  process.stdout.write(JSON.stringify({ n, tokens: n * tokens, ms, rssLoaded, peakRss: peak, maxRss, jsLoaded: m0.heapUsed + m0.external, jsPeak: heapPeak, blocks: means.length, count: means[0]?.count ?? 0 }) + '\n');
  await ctx.dispose();
  model.dispose();
}

main().catch((err) => { process.stderr.write(String((err as Error).stack ?? err) + '\n'); process.exit(1); });
