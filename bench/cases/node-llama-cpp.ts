// Unsteered decode against node-llama-cpp 3.21.1 (prebuilt binaries from its npm packages):
// same model file, threads, greedy, prompt tokens and number of tokens. node-llama-cpp runs in a
// child process (bench/nlc-worker.ts); rounds still alternate with persona-steer's.
import { fork, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { createContext, decodeRun, promptTokens } from '../helpers';
import { BIG } from '../models';
import type { BenchCase, Sample } from '../types';
import { decodeTokensFor } from './decode-add';

type Reply = { ms: number; units: number; cpuMs?: number } | { error: string } | { skip: string } | { ready: true; info: Record<string, unknown> };

function nextMessage(child: ChildProcess): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const onMsg = (m: Reply) => { cleanup(); resolve(m); };
    const onExit = (code: number | null) => { cleanup(); reject(new Error(`node-llama-cpp worker exited (${code})`)); };
    const cleanup = () => { child.off('message', onMsg); child.off('exit', onExit); };
    child.on('message', onMsg);
    child.on('exit', onExit);
  });
}

export const benchCase: BenchCase = {
  id: 'node-llama-cpp',
  title: 'unsteered decode vs node-llama-cpp 3.21.1',
  group: 'targets',
  models: () => ['stories260K', BIG],
  async create(env, key) {
    if (!fs.existsSync(path.join(env.root, 'node_modules', 'node-llama-cpp', 'package.json'))) {
      return { skip: 'node-llama-cpp is not installed (npm install --save-dev node-llama-cpp@3.21.1)' };
    }
    const { model, path: file } = await env.model(key);
    const n = decodeTokensFor(env.opts.decodeTokens, model.info.embeddingSize);
    const prompt = promptTokens(model, 8, env.opts.seed);
    const child = fork(path.join(__dirname, '..', 'nlc-worker.js'),
      [file, String(env.opts.threads), String(env.opts.gpuLayers), String(n), JSON.stringify(Array.from(prompt))],
      { stdio: ['ignore', 'ignore', 'pipe', 'ipc'] });
    let stderr = '';
    child.stderr?.on('data', (d) => { stderr += String(d); });
    const first = await nextMessage(child).catch((e: Error) => ({ skip: `${e.message}: ${stderr.trim().split('\n').slice(-2).join(' ')}` }));
    if (!('ready' in first)) {
      child.kill();
      return { skip: 'skip' in first ? first.skip : JSON.stringify(first) };
    }
    const ours = await createContext(env, model);
    const theirs = async (): Promise<Sample> => {
      const done = nextMessage(child);
      child.send({ cmd: 'run' });
      const r = await done;
      if ('error' in r) throw new Error(`node-llama-cpp: ${r.error}`);
      if (!('ms' in r)) throw new Error(`node-llama-cpp: unexpected reply ${JSON.stringify(r)}`);
      return r;
    };
    const info = first.info;
    return [{
      id: this.id, title: this.title, model: key, metric: 'decode tok/s', target: 1.0,
      baseline: { label: `node-llama-cpp ${String(info.version)} (${String(info.buildType)})`, run: theirs },
      candidate: { label: 'persona-steer, unsteered', run: () => decodeRun(ours, prompt, n) },
      notes: [`${n} tokens per run; node-llama-cpp CPU features: ${String(info.systemInfo ?? '').replace(/^CPU : /, '').replace(/ = 1/g, '').replace(/\s*\|\s*$/, '')}`],
      dispose: async () => {
        await ours.dispose();
        const exited = new Promise((r) => child.once('exit', r));
        child.send({ cmd: 'exit' });
        await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
        child.kill();
      },
    }];
  },
};
