// Continuous batching: 8 generations on 8 sequences of one context, decoded together (one
// llama_decode per step), against the same 8 one at a time, against 8 unsteered, and against
// llama.cpp's own llama-batched-bench (node scripts/build-llama-bench.mjs builds it from the pinned
// tree, linked with the addon's static libraries).
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { add, clamp, type Context, type Model, type SteerOp } from '../../index';
import { cpuNow, disposeAll, promptTokens, range, unitVectors } from '../helpers';
import { BIG } from '../models';
import type { BenchCase, BenchEnv, Pair, Sample } from '../types';

const N_SEQ = 8;
const PROMPT = 16;

function batchedBenchPath(root: string): string {
  return path.join(root, 'bench', '.llama-bench', 'bin', process.platform === 'win32' ? 'llama-batched-bench.exe' : 'llama-batched-bench');
}

/** A different plan per sequence: an addition on every block and a clamp on the middle ones. */
function plans(model: Model, seed: number): SteerOp[][] {
  const E = model.info.embeddingSize;
  const L = model.info.blockCount;
  const dirs = unitVectors(2 * N_SEQ, E, seed);
  const mid = range(Math.floor(L / 4), Math.max(1, Math.floor(L / 2)));
  return Array.from({ length: N_SEQ }, (_, i) => [add(dirs[i], 0.5 + 0.25 * i, range(0, L)), clamp(dirs[N_SEQ + i], { min: -0.5, max: 0.5 }, mid)]);
}

/**
 * Aggregate decode throughput of `n` greedy tokens on each of `prompts`. Together: the tokens
 * delivered while every stream decodes (after the last stream's first token, up to the first
 * stream's last), over that time. One after another (`serial`): each stream's tokens after its
 * first, over the sum of each stream's own decode time.
 */
async function decodeAll(ctx: Context, prompts: Int32Array[], n: number, steer: (i: number) => SteerOp[] | false, serial = false): Promise<Sample> {
  let first = Infinity;
  let last = 0;
  let units = 0;
  const firsts: number[] = [];
  const lasts: number[] = [];
  const times: number[] = [];
  const c0 = cpuNow();
  const one = async (i: number) => {
    const stream = ctx.generate(prompts[i], { greedy: true, maxTokens: n, stopAtEog: false, steer: steer(i) });
    let count = 0;
    let mine = 0;
    for await (const ev of stream) {
      if (ev.token === null) continue;
      const t = performance.now();
      if (count === 0) { first = Math.min(first, t); firsts.push(t); }
      last = Math.max(last, t);
      mine = t;
      times.push(t);
      count++;
    }
    await stream.result;
    lasts.push(mine);
    units += count - 1;
  };
  if (serial) {
    // one at a time: the sum of each stream's own decode time
    let ms = 0;
    for (let i = 0; i < prompts.length; i++) {
      first = Infinity;
      last = 0;
      await one(i);
      ms += last - first;
    }
    return { ms, units, cpuMs: cpuNow() - c0 };
  }
  await Promise.all(prompts.map((_, i) => one(i)));
  // Steady state only, as llama-batched-bench's S_TG: from the moment every stream has its first
  // token (the others' prompts are processed before that, beside the first streams' tokens) to the
  // first stream's end, counting the tokens inside that window.
  const start = Math.max(...firsts);
  const end = Math.min(...lasts);
  const inside = times.filter((t) => t > start && t <= end).length;
  return { ms: end - start, units: inside, cpuMs: cpuNow() - c0 };
}

// llama.cpp's common log writes from its own thread; under load the last line is sometimes lost at
// exit (exit code 0, no row). Such a run is repeated, at most three times.
async function runBatchedBench(env: BenchEnv, bin: string, model: string, n: number, npl = N_SEQ): Promise<Sample> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await runBatchedBenchOnce(env, bin, model, n, npl);
    } catch (err) {
      if (attempt >= 3 || !/no jsonl row/.test((err as Error).message)) throw err;
    }
  }
}

function runBatchedBenchOnce(env: BenchEnv, bin: string, model: string, n: number, npl: number): Promise<Sample> {
  const args = ['-m', model, '-c', String(npl * (PROMPT + n + 8)), '-b', '512', '-ub', '512', '-npp', String(PROMPT), '-ntg', String(n),
    '-npl', String(npl), '-t', String(env.opts.threads), '-fa', 'off', '-ngl', String(env.opts.gpuLayers < 0 ? 999 : env.opts.gpuLayers), '--output-format', 'jsonl'];
  return new Promise((resolve, reject) => {
    execFile(bin, args, { maxBuffer: 1 << 24 }, (err, stdout, stderr) => {
      if (err) { reject(new Error(`llama-batched-bench failed: ${String(stderr).trim().split('\n').slice(-3).join(' ')}`)); return; }
      const line = `${stdout}\n${stderr}`.split('\n').find((l) => l.trim().startsWith('{"n_kv_max"'));
      if (!line) { reject(new Error(`llama-batched-bench printed no jsonl row: ${String(stderr).trim().split('\n').slice(-2).join(' ')}`)); return; }
      const r = JSON.parse(line) as { t_tg: number; tg: number; pl: number };
      resolve({ ms: r.t_tg * 1000, units: r.tg * r.pl });
    });
  });
}

export const benchCase: BenchCase = {
  id: 'batched',
  title: `continuous batching: ${N_SEQ} sequences`,
  group: 'targets',
  models: () => [BIG],
  async create(env, key) {
    const { model, path: file } = await env.model(key);
    const n = env.opts.decodeTokens;
    const mk = (sequences: number) => model.createContext({ threads: env.opts.threads, contextSize: PROMPT + n + 8, sequences, batchSize: Math.min(512, sequences * (PROMPT + n + 8)) });
    const together = await mk(N_SEQ);
    const together2 = await mk(N_SEQ);
    const steered = await mk(N_SEQ);
    const serial = await mk(1);
    const prompts = Array.from({ length: N_SEQ }, (_, i) => promptTokens(model, PROMPT, env.opts.seed + i));
    const ps = plans(model, env.opts.seed);
    const pairs: Pair[] = [
      {
        id: 'batched-vs-serial', title: `${N_SEQ} generations batched vs one at a time`, model: key, metric: 'aggregate decode tok/s', target: 3,
        baseline: { label: `${N_SEQ} x generate, one at a time`, run: () => decodeAll(serial, prompts, n, () => false, true) },
        candidate: { label: `${N_SEQ} x generate at once (sequences: ${N_SEQ})`, run: () => decodeAll(together, prompts, n, () => false) },
        notes: [`${n} tokens per generation, ${PROMPT}-token prompts`],
        dispose: disposeAll(serial),
      },
      {
        id: 'batched-plans', title: `${N_SEQ} batched generations, a different plan each vs unsteered`, model: key, metric: 'aggregate decode tok/s', target: 0.95,
        baseline: { label: `${N_SEQ} unsteered`, run: () => decodeAll(together2, prompts, n, () => false) },
        candidate: { label: `${N_SEQ} plans (add on every block + a clamp on the middle half)`, run: () => decodeAll(steered, prompts, n, (i) => ps[i]) },
        notes: ['every plan different: per-token slot gather in the graph'],
        dispose: disposeAll(together2, steered),
      },
    ];
    const bin = batchedBenchPath(env.root);
    if (fs.existsSync(bin)) {
      // What batching can give on this machine at all: llama.cpp's own tool, 1 sequence vs N.
      pairs.push({
        id: 'llama-batched-bench-scaling', title: `llama-batched-bench itself: ${N_SEQ} sequences vs 1 (the hardware's ceiling)`, model: key,
        metric: 'aggregate decode tok/s',
        baseline: { label: `llama-batched-bench -npl 1 -ntg ${n}`, run: () => runBatchedBench(env, bin, file, n, 1) },
        candidate: { label: `llama-batched-bench -npl ${N_SEQ} -ntg ${n}`, run: () => runBatchedBench(env, bin, file, n) },
        notes: ['a reference for batched-vs-serial: how much one decode step of N tokens saves over N steps, without persona-steer'],
        dispose: async () => undefined,
      });
      pairs.push({
        id: 'batched-vs-llama-batched-bench', title: `${N_SEQ} batched generations vs llama-batched-bench`, model: key, metric: 'aggregate decode tok/s', target: 0.95,
        baseline: { label: `llama-batched-bench -npl ${N_SEQ} -ntg ${n}`, run: () => runBatchedBench(env, bin, file, n) },
        candidate: { label: `persona-steer, ${N_SEQ} x generate`, run: () => decodeAll(together, prompts, n, () => false) },
        notes: ['llama-batched-bench decodes random tokens without sampling; persona-steer samples greedily and streams every token to JS'],
        dispose: disposeAll(together),
      });
    } else {
      env.log('llama-batched-bench is not built (node scripts/build-llama-bench.mjs): that comparison is skipped');
      pairs[0].dispose = disposeAll(serial, together);
    }
    return pairs;
  },
};
