// persona-steer with a given addon build (PERSONA_STEER_ADDON, set by the parent) in its own
// process, so that two builds of the addon (static portable vs dynamically loaded variants) are
// never mixed in one process. The parent sends { cmd: 'decode' } or { cmd: 'prompt' } and gets back
// one timed run: the same helpers, model, threads and tokens as every other case.
//   argv: modelPath threads nDecode nPrompt seed
import { Model } from '../index';
import { systemInfo } from '../system';
import { decodeRun, promptTokens, timed } from './helpers';

type Msg = { cmd: 'decode' } | { cmd: 'prompt' } | { cmd: 'exit' };

async function main(): Promise<void> {
  const [modelPath, threadsArg, nArg, pArg, seedArg] = process.argv.slice(2);
  const threads = Number(threadsArg);
  const n = Number(nArg);
  const p = Number(pArg);
  const seed = Number(seedArg);
  const model = await Model.load(modelPath, { gpuLayers: 0 });
  const decodeCtx = await model.createContext({ threads, contextSize: 512, batchSize: 512 });
  const promptCtx = await model.createContext({ threads, contextSize: 512, batchSize: 512 });
  const decodePrompt = promptTokens(model, 8, seed);
  const prompt = promptTokens(model, p, seed);
  const s = systemInfo();
  process.send!({ ready: true, info: { addonPath: s.addonPath, cpuVariant: s.cpuVariant, dynamicBackends: s.dynamicBackends, llamaSystemInfo: s.llamaSystemInfo } });
  process.on('message', async (m: Msg) => {
    if (m.cmd === 'exit') {
      await decodeCtx.dispose();
      await promptCtx.dispose();
      model.dispose();
      process.exit(0);
    }
    try {
      const r = m.cmd === 'decode' ? await decodeRun(decodeCtx, decodePrompt, n) : await timed(p, () => promptCtx.logits(prompt));
      process.send!(r);
    } catch (err) {
      process.send!({ error: (err as Error).message });
    }
  });
}

main().catch((err) => {
  process.send!({ skip: `persona-steer (${process.env.PERSONA_STEER_ADDON}) failed: ${(err as Error).message.split('\n')[0]}` });
});
