// node-llama-cpp 3.21.1 in its own process (its own libllama and ggml, never mixed with the
// addon's in one process). The parent sends { cmd: 'run' } and gets back one timed decode:
// greedy, the same model, threads, prompt tokens and number of tokens as the persona-steer side;
// or { cmd: 'prompt' }: one timed evaluation of the long prompt (tokens given by the parent)
// without generating, from an empty sequence.
//   argv: modelPath threads gpuLayers nTokens promptTokensJson [longPromptTokensJson]
type Msg = { cmd: 'run' } | { cmd: 'prompt' } | { cmd: 'exit' };

// TypeScript compiles import() to require() under CommonJS; node-llama-cpp is an ES module.
const importEsm = new Function('s', 'return import(s)') as (s: string) => Promise<any>; // eslint-disable-line @typescript-eslint/no-explicit-any

async function main(): Promise<void> {
  const [modelPath, threadsArg, gpuLayersArg, nArg, promptJson] = process.argv.slice(2);
  const threads = Number(threadsArg);
  const gpuLayers = Number(gpuLayersArg);
  const n = Number(nArg);
  const prompt = JSON.parse(promptJson) as number[];
  const longPrompt = JSON.parse(process.argv[7] ?? '[]') as number[];
  let nlc;
  try {
    nlc = await importEsm('node-llama-cpp');
  } catch (err) {
    process.send!({ skip: `node-llama-cpp does not load: ${(err as Error).message.split('\n')[0]}` });
    return;
  }
  let llama;
  try {
    // Prebuilt binaries only: never download or compile during a benchmark.
    llama = await nlc.getLlama({ gpu: gpuLayers === 0 ? false : 'auto', build: 'never', skipDownload: true, logLevel: 'error', progressLogs: false });
  } catch (err) {
    process.send!({ skip: `node-llama-cpp has no usable prebuilt binary here: ${(err as Error).message.split('\n')[0]}` });
    return;
  }
  const model = await llama.loadModel({ modelPath, gpuLayers: gpuLayers < 0 ? 'max' : gpuLayers });
  const ctx = await model.createContext({ contextSize: 512, batchSize: 512, threads, sequences: 1, flashAttention: false });
  const seq = ctx.getSequence();
  const info = { version: nlc.getModuleVersion ? await nlc.getModuleVersion() : '3.21.1', gpu: llama.gpu, buildType: llama.buildType, systemInfo: llama.systemInfo };
  process.send!({ ready: true, info });
  process.on('message', async (m: Msg) => {
    if (m.cmd === 'exit') {
      await ctx.dispose();
      await model.dispose();
      await llama.dispose();
      process.exit(0);
    }
    try {
      await seq.clearHistory();
      if (m.cmd === 'prompt') {
        const c0 = process.cpuUsage();
        const t0 = performance.now();
        await seq.evaluateWithoutGeneratingNewTokens(longPrompt);
        const u = process.cpuUsage(c0);
        process.send!({ ms: performance.now() - t0, units: longPrompt.length, cpuMs: (u.user + u.system) / 1000 });
        return;
      }
      let first = 0;
      let last = 0;
      let cpuFirst = 0;
      let cpuLast = 0;
      let count = 0;
      for await (const _token of seq.evaluate(prompt, { temperature: 0 })) {
        const t = performance.now();
        const u = process.cpuUsage();
        const c = (u.user + u.system) / 1000;
        if (count === 0) { first = t; cpuFirst = c; }
        last = t;
        cpuLast = c;
        if (++count >= n) break;
      }
      process.send!({ ms: last - first, units: count - 1, cpuMs: cpuLast - cpuFirst });
    } catch (err) {
      process.send!({ error: (err as Error).message });
    }
  });
}

main().catch((err) => {
  process.send!({ skip: `node-llama-cpp failed: ${(err as Error).message.split('\n')[0]}` });
});
