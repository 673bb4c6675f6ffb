// Blocks across hosts (ggml's RPC backend, docs/distributed.md): decode with the model split across
// the local CPU and two `persona-steer rpc-server`s on loopback against the all-local model, and,
// on each, decode with a steering plan whose values change at every token against unsteered
// decoding. Bytes per token are read from the kernel's TCP counters of the client's connections to
// the servers (ss -ti: bytes_sent + bytes_received), over one extra, untimed run of each kind.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';
import { add, Model, rpcProtocolVersion, type Context } from '../../index';
import { cpuNow, createContext, decodeRun, promptTokens, range, unitVectors } from '../helpers';
import { BIG } from '../models';
import type { BenchCase, BenchEnv, Sample } from '../types';
import { decodeTokensFor } from './decode-add';

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => { const p = (s.address() as net.AddressInfo).port; s.close(() => resolve(p)); });
  });
}

async function startServer(env: BenchEnv): Promise<{ port: number; proc: ChildProcess }> {
  const port = await freePort();
  const proc = spawn(process.execPath, [path.join(env.root, 'dist', 'cli', 'main.js'), 'rpc-server', '--port', String(port),
    '--threads', String(env.opts.threads), '--json'], { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise<void>((resolve, reject) => {
    let out = '';
    proc.stdout!.on('data', (d) => { out += String(d); if (/"ready"/.test(out)) resolve(); });
    proc.once('exit', (c) => reject(new Error(`rpc-server exited (${c})`)));
  });
  proc.stdout!.resume();
  return { port, proc };
}

/** Bytes this machine's TCP connections to `ports` have sent and received (Linux ss). */
function tcpBytes(ports: number[]): number | null {
  const r = spawnSync('ss', ['-tinH', 'state', 'established'], { encoding: 'utf8' });
  if (r.status !== 0) return null;
  const lines = r.stdout.split('\n');
  let total = 0;
  for (let i = 0; i < lines.length; i++) {
    const peer = lines[i].trim().split(/\s+/)[3] ?? '';
    if (!ports.some((p) => peer.endsWith(`:${p}`))) continue;
    const info = lines[i + 1] ?? '';
    total += Number(/bytes_sent:(\d+)/.exec(info)?.[1] ?? 0) + Number(/bytes_received:(\d+)/.exec(info)?.[1] ?? 0);
  }
  return total;
}

/** Greedy decode with the plan's values changed before every token (the stream's or the context's setSteering). */
async function decodeChanging(ctx: Context, prompt: Int32Array, n: number, vec: Float32Array, blocks: number[]): Promise<Sample> {
  const plan = (k: number) => [add(vec, ((k % 3) - 1) * 2, blocks)];
  ctx.setSteering(plan(0));
  const stream = ctx.generate(prompt, { greedy: true, maxTokens: n, stopAtEog: false });
  const set = (p: ReturnType<typeof plan>) => {
    const s = stream as unknown as { setSteering?: (x: unknown) => void };
    if (typeof s.setSteering === 'function') s.setSteering(p); else ctx.setSteering(p);
  };
  let first = 0; let last = 0; let cpuFirst = 0; let cpuLast = 0; let count = 0;
  for await (const ev of stream) {
    if (ev.token === null) continue;
    const t = performance.now();
    const c = cpuNow();
    if (count === 0) { first = t; cpuFirst = c; }
    last = t; cpuLast = c;
    count++;
    set(plan(count));
  }
  await stream.result;
  return { ms: last - first, units: count - 1, cpuMs: cpuLast - cpuFirst };
}

export const benchCase: BenchCase = {
  id: 'rpc-split',
  title: 'layers across two loopback rpc-servers, unsteered and steered',
  group: 'targets',
  models: (o) => (o.quick ? [BIG] : ['stories260K', BIG]),
  async create(env, key) {
    if (rpcProtocolVersion() === null) return { skip: 'this build has no RPC backend (PERSONA_STEER_RPC=1 npm run build:native)' };
    const file = await env.modelPath(key);
    const { model: local } = await env.model(key);
    const [sa, sb] = await Promise.all([startServer(env), startServer(env)]);
    const ports = [sa.port, sb.port];
    const blockCount = local.info.blockCount;
    // Two thirds of llama.cpp's n_layer + 1 layers (the blocks and the output) on the servers, half each.
    const offload = Math.ceil(((blockCount + 1) * 2) / 3);
    const split = await Model.load(file, { rpcServers: ports.map((p) => `127.0.0.1:${p}`), gpuLayers: offload, tensorSplit: [1, 1] });
    const n = decodeTokensFor(env.opts.decodeTokens, local.info.embeddingSize);
    const prompt = promptTokens(local, 8, env.opts.seed);
    const vec = unitVectors(1, local.info.embeddingSize, env.opts.seed)[0];
    const blocks = range(0, blockCount);
    const ctx = {
      localPlain: await createContext(env, local), localSteered: await createContext(env, local),
      splitPlain: await createContext(env, split), splitSteered: await createContext(env, split),
    };
    // Bytes per token over one untimed run of each kind (prompt included, as a share of n tokens).
    const perToken = async (run: () => Promise<unknown>) => {
      const b0 = tcpBytes(ports);
      await run();
      const b1 = tcpBytes(ports);
      return b0 === null || b1 === null ? null : (b1 - b0) / n;
    };
    const plainBytes = await perToken(() => decodeRun(ctx.splitPlain, prompt, n));
    const steeredBytes = await perToken(() => decodeChanging(ctx.splitSteered, prompt, n, vec, blocks));
    const fmt = (x: number | null) => (x === null ? 'n/a (no ss)' : `${(x / 1024).toFixed(1)} KiB`);
    const where = `blocks 0-${blockCount - offload} local, ${blockCount - offload + 1}-${blockCount - 1} and the output on two rpc-servers (loopback)`;
    const stop = async () => {
      for (const c of Object.values(ctx)) await c.dispose();
      split.dispose();
      for (const s of [sa, sb]) s.proc.kill('SIGKILL');
    };
    return [
      {
        id: 'rpc-split-tg', title: 'decode: split over two rpc-servers vs all local', model: key, metric: 'decode tok/s',
        baseline: { label: 'all local', run: () => decodeRun(ctx.localPlain, prompt, n) },
        candidate: { label: 'split', run: () => decodeRun(ctx.splitPlain, prompt, n) },
        notes: [where, `bytes per token, unsteered: ${fmt(plainBytes)}`],
      },
      {
        id: 'rpc-steer-local', title: 'decode: steered (values change every token) vs unsteered, all local', model: key, metric: 'decode tok/s', target: 0.95,
        baseline: { label: 'unsteered', run: () => decodeRun(ctx.localPlain, prompt, n) },
        candidate: { label: 'add on every block, new values each token', run: () => decodeChanging(ctx.localSteered, prompt, n, vec, blocks) },
      },
      {
        id: 'rpc-steer-split', title: 'decode: steered (values change every token) vs unsteered, split', model: key, metric: 'decode tok/s', target: 0.95,
        baseline: { label: 'unsteered, split', run: () => decodeRun(ctx.splitPlain, prompt, n) },
        candidate: { label: 'add on every block, new values each token, split', run: () => decodeChanging(ctx.splitSteered, prompt, n, vec, blocks) },
        notes: [`bytes per token: unsteered ${fmt(plainBytes)}, steered ${fmt(steeredBytes)}` +
          (plainBytes !== null && steeredBytes !== null ? ` (steering adds ${((steeredBytes - plainBytes) / 1024).toFixed(1)} KiB: the remote blocks' parameter uploads)` : '')],
        dispose: stop,
      },
    ];
  },
};
