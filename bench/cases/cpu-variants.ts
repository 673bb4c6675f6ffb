// The prebuild with every CPU variant (dynamically loaded backends, the best variant chosen at run
// time) against today's portable build (one static .node, AVX2/FMA/F16C kernels), and against
// node-llama-cpp 3.21.1's prebuilt binaries (its npm packages, also one library per CPU variant):
// unsteered decode and prompt processing, each build in a child process of its own, rounds
// alternating, same model, threads and tokens.
//   all variants: prebuilds/<platform>-<arch>/persona_steer.node (npm run prebuilds), else build-prebuild/Release,
//                 or PERSONA_STEER_VARIANTS_ADDON (any dynamically loaded build: on a given CPU only the
//                 variant chosen matters, so a build with a subset holding that variant runs the same code)
//   portable:     build-static/Release/persona_steer.node
//                 (PERSONA_STEER_BACKEND_DL=0 PERSONA_STEER_BUILD_DIR=build-static npm run build:native)
import { fork, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promptTokens } from '../helpers';
import { BIG } from '../models';
import type { BenchCase, BenchEnv, Pair, Sample } from '../types';
import { decodeTokensFor } from './decode-add';

type Reply = Sample | { error: string } | { skip: string } | { ready: true; info: Record<string, unknown> };

function nextMessage(child: ChildProcess): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const onMsg = (m: Reply) => { cleanup(); resolve(m); };
    const onExit = (code: number | null) => { cleanup(); reject(new Error(`worker exited (${code})`)); };
    const cleanup = () => { child.off('message', onMsg); child.off('exit', onExit); };
    child.on('message', onMsg);
    child.on('exit', onExit);
  });
}

interface Worker {
  info: Record<string, unknown>;
  run(cmd: string): Promise<Sample>;
  close(): Promise<void>;
}

async function startWorker(script: string, args: string[], env: NodeJS.ProcessEnv): Promise<Worker | { skip: string }> {
  const child = fork(script, args, { stdio: ['ignore', 'ignore', 'pipe', 'ipc'], env });
  let stderr = '';
  child.stderr?.on('data', (d) => { stderr += String(d); });
  const first = await nextMessage(child).catch((e: Error) => ({ skip: `${e.message}: ${stderr.trim().split('\n').slice(-2).join(' ')}` }));
  if (!('ready' in first)) { child.kill(); return { skip: 'skip' in first ? first.skip : JSON.stringify(first) }; }
  return {
    info: first.info,
    async run(cmd) {
      const done = nextMessage(child);
      child.send({ cmd });
      const r = await done;
      if ('error' in r) throw new Error(r.error);
      if (!('ms' in r)) throw new Error(`unexpected reply ${JSON.stringify(r)}`);
      return r;
    },
    async close() {
      const exited = new Promise((r) => child.once('exit', r));
      child.send({ cmd: 'exit' });
      await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
      child.kill();
    },
  };
}

export function variantAddons(root: string): { all: string | null; portable: string | null } {
  const first = (files: string[]) => files.find((f) => fs.existsSync(f)) ?? null;
  return {
    all: first([...(process.env.PERSONA_STEER_VARIANTS_ADDON ? [path.resolve(process.env.PERSONA_STEER_VARIANTS_ADDON)] : []),
      path.join(root, 'prebuilds', `${process.platform}-${process.arch}`, 'persona_steer.node'),
      path.join(root, 'build-prebuild', 'Release', 'persona_steer.node')]),
    portable: first([path.join(root, 'build-static', 'Release', 'persona_steer.node')]),
  };
}

const flags = (s: unknown) => String(s ?? '').replace(/^CPU : /, '').replace(/ = 1/g, '').replace(/\s*\|\s*$/, '').replace(/ \| /g, ' ');

export const benchCase: BenchCase = {
  id: 'cpu-variants',
  title: 'all-variants prebuild vs portable build vs node-llama-cpp prebuilt',
  group: 'targets',
  models: (opts) => (opts.quick ? [BIG] : [BIG, 'rand-16x1024-f16']),
  async create(env: BenchEnv, key: string) {
    const addons = variantAddons(env.root);
    if (!addons.all) return { skip: 'no all-variants prebuild (npm run prebuilds)' };
    if (!addons.portable) return { skip: 'no portable static build (PERSONA_STEER_BACKEND_DL=0 PERSONA_STEER_BUILD_DIR=build-static npm run build:native)' };
    const file = await env.modelPath(key);
    const { model } = await env.model(key);
    const n = decodeTokensFor(env.opts.decodeTokens, model.info.embeddingSize);
    const p = env.opts.promptTokens;
    const worker = path.join(__dirname, '..', 'addon-worker.js');
    const args = [file, String(env.opts.threads), String(n), String(p), String(env.opts.seed)];
    const start = (addon: string) => startWorker(worker, args, { ...process.env, PERSONA_STEER_ADDON: addon, PERSONA_STEER_BACKEND_DIR: '' });
    const all = await start(addons.all);
    if ('skip' in all) return all;
    const portable = await start(addons.portable);
    if ('skip' in portable) { await all.close(); return portable; }
    const allLabel = `all variants (${String(all.info.cpuVariant)} chosen)`;
    const pairs: Pair[] = [
      {
        id: 'cpu-variants-tg', title: 'decode: all-variants prebuild vs portable build', model: key, metric: 'decode tok/s', target: 1.0,
        baseline: { label: 'portable static build', run: () => portable.run('decode') },
        candidate: { label: allLabel, run: () => all.run('decode') },
        notes: [`${n} tokens per run; chosen variant's CPU features: ${flags(all.info.llamaSystemInfo)}`, `portable: ${flags(portable.info.llamaSystemInfo)}`],
      },
      {
        id: 'cpu-variants-pp', title: 'prompt: all-variants prebuild vs portable build', model: key, metric: 'prompt tok/s', target: 1.0,
        baseline: { label: 'portable static build', run: () => portable.run('prompt') },
        candidate: { label: allLabel, run: () => all.run('prompt') },
        notes: [`${p}-token prompt, batch 512`],
        dispose: async () => { await portable.close(); },
      },
    ];
    // node-llama-cpp's prebuilt binaries (@node-llama-cpp/<platform>), decode and prompt.
    if (fs.existsSync(path.join(env.root, 'node_modules', 'node-llama-cpp', 'package.json'))) {
      const nlc = await startWorker(path.join(__dirname, '..', 'nlc-worker.js'),
        [file, String(env.opts.threads), '0', String(n), JSON.stringify(Array.from(promptTokens(model, 8, env.opts.seed))),
          JSON.stringify(Array.from(promptTokens(model, p, env.opts.seed)))], process.env);
      if (!('skip' in nlc)) {
        const label = `node-llama-cpp ${String(nlc.info.version)} prebuilt (${String(nlc.info.buildType)})`;
        pairs.push(
          {
            id: 'cpu-variants-nlc-tg', title: 'decode: all-variants prebuild vs node-llama-cpp prebuilt', model: key, metric: 'decode tok/s', target: 1.0,
            baseline: { label, run: () => nlc.run('run') },
            candidate: { label: allLabel, run: () => all.run('decode') },
            notes: [`node-llama-cpp CPU features: ${flags(nlc.info.systemInfo)}`],
          },
          {
            id: 'cpu-variants-nlc-pp', title: 'prompt: all-variants prebuild vs node-llama-cpp prebuilt', model: key, metric: 'prompt tok/s', target: 1.0,
            baseline: { label, run: () => nlc.run('prompt') },
            candidate: { label: allLabel, run: () => all.run('prompt') },
            dispose: async () => { await nlc.close(); },
          },
        );
      } else {
        env.log(`cpu-variants: node-llama-cpp skipped: ${nlc.skip}`);
      }
    }
    const last = pairs[pairs.length - 1];
    const prev = last.dispose;
    last.dispose = async () => { await prev?.(); await all.close(); };
    return pairs;
  },
};

