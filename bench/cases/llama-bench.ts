// Unsteered decode and prompt processing against llama.cpp's own llama-bench, built from the same
// pinned llama.cpp and linked with the same static libllama/ggml as the addon
// (node scripts/build-llama-bench.mjs). Each round runs llama-bench once (-r 1, its own warm-up
// run first) and persona-steer once, alternating; llama-bench's own timing is used for its side.
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { createContext, decodeRun, disposeAll, promptTokens, timed } from '../helpers';
import { BIG } from '../models';
import type { BenchCase, BenchEnv, Sample } from '../types';
import { decodeTokensFor } from './decode-add';

export function llamaBenchPath(root: string): string {
  return path.join(root, 'bench', '.llama-bench', 'bin', process.platform === 'win32' ? 'llama-bench.exe' : 'llama-bench');
}

function runLlamaBench(env: BenchEnv, bin: string, model: string, p: number, n: number): Promise<Sample> {
  const args = ['-m', model, '-p', String(p), '-n', String(n), '-t', String(env.opts.threads), '-r', '1', '-o', 'json',
    '-fa', 'off', '-ngl', String(env.opts.gpuLayers < 0 ? 999 : env.opts.gpuLayers), '-ub', '512', '-b', '512'];
  return new Promise((resolve, reject) => {
    execFile(bin, args, { maxBuffer: 1 << 24 }, (err, stdout, stderr) => {
      if (err) { reject(new Error(`llama-bench failed: ${String(stderr).trim().split('\n').slice(-3).join(' ')}`)); return; }
      try {
        const rows = JSON.parse(stdout) as { n_prompt: number; n_gen: number; avg_ns: number }[];
        const r = rows[0];
        resolve({ ms: r.avg_ns / 1e6, units: r.n_prompt + r.n_gen });
      } catch (e) {
        reject(new Error(`llama-bench output: ${(e as Error).message}`));
      }
    });
  });
}

export const benchCase: BenchCase = {
  id: 'llama-bench',
  title: "unsteered decode and prompt vs llama.cpp's llama-bench",
  group: 'targets',
  models: () => ['stories260K', BIG],
  async create(env, key) {
    const bin = llamaBenchPath(env.root);
    if (!fs.existsSync(bin)) return { skip: 'llama-bench is not built (node scripts/build-llama-bench.mjs, ~3-6 min on 2 cores)' };
    if (env.opts.gpuLayers !== 0) {
      // `--list-devices` prints "(none)" when only the CPU backend is linked in.
      const devices = await new Promise<string>((resolve) => execFile(bin, ['--list-devices'], (_e, out) => resolve(String(out))));
      if (/\(none\)/.test(devices)) {
        return { skip: 'llama-bench was linked with a CPU-only build; on GPU it would not compare like with like (build it against the CUDA build folder)' };
      }
    }
    const { model, path: file } = await env.model(key);
    const n = decodeTokensFor(env.opts.decodeTokens, model.info.embeddingSize);
    const p = env.opts.promptTokens;
    const ctx = await createContext(env, model);
    const ctx2 = await createContext(env, model);
    const prompt = promptTokens(model, p, env.opts.seed);
    const bos = promptTokens(model, 1, env.opts.seed);
    const meta = path.join(path.dirname(bin), 'llama-bench.json');
    const built = fs.existsSync(meta) ? (JSON.parse(fs.readFileSync(meta, 'utf8')) as { libraries?: string }).libraries : undefined;
    const note = built ? `llama-bench linked with ${built}` : 'llama-bench from the pinned llama.cpp';
    return [
      {
        id: 'llama-bench-tg', title: "unsteered decode vs llama-bench tg", model: key, metric: 'decode tok/s', target: 0.95,
        baseline: { label: `llama-bench -n ${n}`, run: () => runLlamaBench(env, bin, file, 0, n) },
        // llama-bench's tg starts from an empty context: one BOS token, then n generated tokens.
        candidate: { label: 'persona-steer generate', run: () => decodeRun(ctx, bos, n + 1) },
        notes: [note, 'llama-bench decodes without sampling; persona-steer samples greedily and streams each token to JS'],
        dispose: disposeAll(ctx),
      },
      {
        id: 'llama-bench-pp', title: 'unsteered prompt vs llama-bench pp', model: key, metric: 'prompt tok/s', target: 0.97,
        baseline: { label: `llama-bench -p ${p}`, run: () => runLlamaBench(env, bin, file, p, 0) },
        candidate: { label: 'persona-steer logits()', run: () => timed(p, () => ctx2.logits(prompt)) },
        notes: [`${p}-token prompt, batch 512`],
        dispose: disposeAll(ctx2),
      },
    ];
  },
};
