// persona-steer serve against llama.cpp's own llama-server, built from the same pinned llama.cpp
// (node scripts/build-llama-bench.mjs --server): the same model file, the same number
// of parallel slots, context and threads, the same closed-loop client with the same concurrency
// and request mix (greedy /v1/completions, ignore_eos, fixed max_tokens). Reports throughput
// (generated tokens / wall time) and latency of each side, alternating runs (A B C, C B A ...):
//   - ours unsteered / llama-server          (target >= 0.9)
//   - ours with a different vector per request / ours unsteered   (target >= 0.95)
// and, for information, ours steered and monitored (the trace of every token) / ours unsteered.
//
//   npm run bench:server [-- --model rand-8x1024-q8 --parallel 4 --concurrency 4 --requests 24
//                            --max-tokens 64 --threads 2 --rounds 3 --md-out FILE]
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { PersonaVector, readGguf, writeControlVector } from '../../index';
import { modelPath } from '../models';
import { CLI, ROOT, arg, closedLoop, cpuSeconds, median, percentile, startProcess, waitHealthy, type LoopResult, type ServerProcess } from './common';

const args = process.argv.slice(2);
const modelKey = arg(args, 'model', 'rand-8x1024-q8');
const parallel = Number(arg(args, 'parallel', '4'));
const concurrency = Number(arg(args, 'concurrency', String(parallel)));
const requests = Number(arg(args, 'requests', String(6 * concurrency)));
const maxTokens = Number(arg(args, 'max-tokens', '64'));
// As the main runner: all cores, unless the machine is already busy (then 1: spinning worker
// threads waiting for a descheduled sibling would slow both sides many times; docs/benchmarks.md).
const threads = arg(args, 'threads', String(os.loadavg()[0] >= os.availableParallelism() ? 1 : os.availableParallelism()));
const rounds = Number(arg(args, 'rounds', '3'));
const ctxPerSlot = Number(arg(args, 'context-size', '512'));
const mdOut = args.includes('--md-out') ? arg(args, 'md-out', '') : '';
const VECTORS = 8;

const LLAMA_SERVER = path.join(ROOT, 'bench', '.llama-bench', 'bin', process.platform === 'win32' ? 'llama-server.exe' : 'llama-server');

const PROMPTS = ['Once upon a time, there was a little', 'The dog and the cat went to the', 'Lily wanted to play in the park with her',
  'One day, a big red ball', 'Tom had a toy car. He', 'The sun was shining and the birds'];

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
    s.on('error', reject);
  });
}

/** Random unit directions at two middle blocks, one file per vector, in a temporary folder. */
async function writeVectors(embeddingSize: number, blockCount: number): Promise<{ dir: string; blocks: number[] }> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'persona-steer-bench-vectors-'));
  const blocks = [Math.floor(blockCount / 2) - 1, Math.floor(blockCount / 2)].filter((b) => b >= 0);
  let seed = 7;
  const rnd = () => { seed = (seed * 1103515245 + 12345) >>> 0; return seed / 2 ** 32 - 0.5; };
  for (let k = 0; k < VECTORS; k++) {
    const data: Record<number, Float32Array> = {};
    for (const b of blocks) {
      const v = Float32Array.from({ length: embeddingSize }, rnd);
      const n = Math.hypot(...v);
      data[b] = v.map((x) => x / n);
    }
    await writeControlVector(path.join(dir, `v${k}.gguf`), PersonaVector.fromBlocks(data, { modelHint: 'llama', coefficient: 1 }));
  }
  return { dir, blocks };
}

/**
 * A copy of a random model whose output layer cannot pick byte or control tokens (their rows are
 * zeroed, so their logits are 0 while greedy decoding takes a larger one): random weights emit
 * bytes that are not UTF-8, which llama-server refuses to return (its output parser fails with a
 * 500); printable pieces alone make both servers return text. Decoding costs the same.
 */
function printableCopy(file: string): string {
  const out = file.replace(/\.gguf$/, '-printable.gguf');
  if (fs.existsSync(out)) return out;
  const bytes = fs.readFileSync(file);
  const g = readGguf(bytes);
  const tokens = g.metadata.get('tokenizer.ggml.tokens')?.value as string[];
  const types = g.metadata.get('tokenizer.ggml.token_type')?.value as number[];
  const w = g.tensors.find((t) => t.name === 'output.weight');
  if (!w || w.typeName !== 'Q8_0') throw new Error(`${file}: expected a Q8_0 output.weight`);
  const rowBytes = (w.dims[0]! / 32) * 34;
  tokens.forEach((tok, id) => {
    if (types[id] !== 1 || /^<0x[0-9A-F]{2}>$/.test(tok)) bytes.fill(0, g.dataOffset + w.offset + id * rowBytes, g.dataOffset + w.offset + (id + 1) * rowBytes);
  });
  fs.writeFileSync(out, bytes);
  return out;
}

interface Side { name: string; pid: number; run: () => Promise<LoopResult>; results: (LoopResult & { cpu: number })[] }

async function main(): Promise<void> {
  if (!fs.existsSync(LLAMA_SERVER)) {
    throw new Error(`${path.relative(ROOT, LLAMA_SERVER)} is missing: build it with node scripts/build-llama-bench.mjs --server`);
  }
  const given = modelPath(modelKey, (m) => process.stderr.write(`${m}\n`));
  const model = modelKey.startsWith('rand-') ? printableCopy(given) : given;
  const { Model } = await import('../../index');
  const m = await Model.load(model);
  const info = m.info;
  m.dispose();
  const { dir, blocks } = await writeVectors(info.embeddingSize, info.blockCount);
  const servers: ServerProcess[] = [];
  try {
    const port = await freePort();
    const llama = await startProcess(LLAMA_SERVER, ['-m', model, '--host', '127.0.0.1', '--port', String(port), '-np', String(parallel),
      '-c', String(ctxPerSlot * parallel), '-t', threads, '-tb', threads, '-b', '512', '-fa', 'off', '--no-webui'],
    /listening on (http:\/\/[^\s]+)/, 'llama-server');
    servers.push(llama);
    await waitHealthy(llama.url);
    const ours = await startProcess(process.execPath, [CLI, 'serve', '--model', model, '--vectors', dir, '--port', '0', '--parallel', String(parallel),
      '--context-size', String(ctxPerSlot), '--threads', threads, '--queue', String(requests)], /listening on (http:\/\/\S+)/, 'persona-steer serve');
    servers.push(ours);

    const base = (i: number) => ({ prompt: PROMPTS[i % PROMPTS.length], max_tokens: maxTokens, temperature: 0, ignore_eos: true });
    const steer = (i: number) => ({ steering: [{ op: 'add', vector: `v${i % VECTORS}`, scale: 1, blocks }] });
    const sides: Side[] = [
      { name: 'llama-server', pid: llama.child.pid!, results: [], run: () => closedLoop(llama.url, '/v1/completions', requests, concurrency, (i) => ({ ...base(i), cache_prompt: false })) },
      { name: 'ours, unsteered', pid: ours.child.pid!, results: [], run: () => closedLoop(ours.url, '/v1/completions', requests, concurrency, base) },
      { name: 'ours, a vector per request', pid: ours.child.pid!, results: [], run: () => closedLoop(ours.url, '/v1/completions', requests, concurrency, (i) => ({ ...base(i), ...steer(i), monitor: false })) },
      { name: 'ours, a vector per request + monitor', pid: ours.child.pid!, results: [], run: () => closedLoop(ours.url, '/v1/completions', requests, concurrency, (i) => ({ ...base(i), ...steer(i) })) },
    ];
    // Warm-up: one short pass each.
    for (const s of sides) {
      const r = await closedLoop(s === sides[0] ? llama.url : ours.url, '/v1/completions', concurrency, concurrency, (i) => ({ ...base(i), max_tokens: 8, ...(s.name.includes('vector') ? steer(i) : {}) }));
      if (r.failures.length > 0) throw new Error(`${s.name} warm-up failed: ${r.failures[0]}`);
    }
    for (let round = 0; round < rounds; round++) {
      const order = round % 2 === 0 ? sides : [...sides].reverse();
      for (const s of order) {
        const c0 = cpuSeconds(s.pid);
        const r = await s.run();
        const cpu = cpuSeconds(s.pid) - c0;
        if (r.failures.length > 0) throw new Error(`${s.name}: ${r.failures.length} failed requests, e.g. ${r.failures[0]}`);
        s.results.push({ ...r, cpu });
        process.stderr.write(`round ${round + 1} ${s.name}: ${(r.tokens / r.seconds).toFixed(1)} tokens/s, ${(r.tokens / cpu).toFixed(1)} tokens per CPU-second\n`);
      }
    }
    const tps = (s: Side) => median(s.results.map((r) => r.tokens / r.seconds));
    const tpc = (s: Side) => median(s.results.map((r) => r.tokens / r.cpu));
    const lat = (s: Side, p: number) => percentile(s.results.flatMap((r) => r.latenciesMs).sort((a, b) => a - b), p);
    const [ls, un, st, mo] = sides as [Side, Side, Side, Side];
    const lines = [
      `model ${path.basename(model)} (${info.blockCount} blocks, embedding size ${info.embeddingSize}); ${parallel} slots of ${ctxPerSlot} tokens, ${threads} threads; ` +
        `${concurrency} concurrent clients, ${requests} requests per run, max_tokens ${maxTokens} (greedy, ignore_eos); median of ${rounds} runs per side`,
      '',
      '| side | tokens/s (wall, median) | tokens per CPU-second (median) | latency p50 | latency p99 |',
      '| --- | --- | --- | --- | --- |',
      ...sides.map((s) => `| ${s.name} | ${tps(s).toFixed(1)} | ${tpc(s).toFixed(1)} | ${lat(s, 50).toFixed(0)} ms | ${lat(s, 99).toFixed(0)} ms |`),
      '',
      '| ratio | wall | cpu | target |',
      '| --- | --- | --- | --- |',
      `| ours unsteered / llama-server | **${(tps(un) / tps(ls)).toFixed(2)}** | ${(tpc(un) / tpc(ls)).toFixed(2)} | >= 0.9 |`,
      `| ours, a different vector per request / ours unsteered | **${(tps(st) / tps(un)).toFixed(2)}** | ${(tpc(st) / tpc(un)).toFixed(2)} | >= 0.95 |`,
      `| ours, steered and monitored / ours unsteered | ${(tps(mo) / tps(un)).toFixed(2)} | ${(tpc(mo) / tpc(un)).toFixed(2)} | - |`,
    ];
    process.stdout.write(`${lines.join('\n')}\n`);
    if (mdOut) fs.writeFileSync(mdOut, `${lines.join('\n')}\n`);
  } finally {
    for (const s of servers) await s.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((e) => {
  process.stderr.write(`server benchmark failed: ${(e as Error).message}\n`);
  process.exitCode = 1;
});
