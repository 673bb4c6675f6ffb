// Peak memory of extraction against the number of prompts: a child process runs
// Context.captureMean over N samples (every block, means summed inside the graph) for several N.
// The growth of the peak over the memory after loading must stay flat in N.
import { execFile } from 'node:child_process';
import path from 'node:path';
import { BIG } from '../models';
import type { BenchCase, TableResult } from '../types';

interface ChildResult { n: number; tokens: number; ms: number; rssLoaded: number; peakRss: number; maxRss: number; jsLoaded: number; jsPeak: number; blocks: number; count: number }

function child(env: { opts: { threads: number; gpuLayers: number; seed: number } }, file: string, n: number, tokens: number): Promise<ChildResult> {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, [path.join(__dirname, '..', 'memory-child.js'), file, String(n), String(tokens), String(env.opts.threads),
      String(env.opts.gpuLayers), String(env.opts.seed)], { maxBuffer: 1 << 20, env: process.env }, (err, stdout, stderr) => {
      if (err) { reject(new Error(`memory child failed: ${String(stderr).trim().split('\n').slice(-2).join(' ')}`)); return; }
      resolve(JSON.parse(String(stdout).trim().split('\n').pop()!) as ChildResult);
    });
  });
}

const MiB = 2 ** 20;

export const benchCase: BenchCase = {
  id: 'extraction-memory',
  title: 'extraction peak memory vs number of prompts (Context.captureMean in a child process)',
  group: 'memory',
  models: (o) => (o.quick ? ['stories260K'] : ['stories260K', BIG]),
  async create(env, key) {
    const file = await env.modelPath(key);
    const big = key !== 'stories260K';
    const counts = env.opts.quick ? [4, 16, 64] : big ? [2, 8, 32] : [16, 64, 256];
    const tokens = big ? 16 : 64;
    const rows: (string | number)[][] = [];
    let firstDelta = 0;
    for (const n of counts) {
      const r = await child(env, file, n, tokens);
      const delta = (r.peakRss - r.rssLoaded) / MiB;
      if (n === counts[0]) firstDelta = delta;
      rows.push([n, r.tokens, (r.rssLoaded / MiB).toFixed(1), (r.peakRss / MiB).toFixed(1), delta.toFixed(1), (delta - firstDelta).toFixed(1), ((r.jsPeak - r.jsLoaded) / MiB).toFixed(1), ((r.tokens * 1000) / r.ms).toFixed(0)]);
      env.log(`  extraction-memory ${key} N=${n}: peak ${(r.peakRss / MiB).toFixed(1)} MiB (+${delta.toFixed(1)} over loaded)`);
    }
    const result: TableResult = {
      id: this.id, title: this.title, model: key,
      columns: ['prompts', 'tokens', 'RSS loaded MiB', 'peak RSS MiB', 'peak - loaded MiB', 'growth vs first MiB', 'JS heap+external peak - loaded MiB', 'tok/s'],
      rows,
      notes: [`${tokens} tokens per prompt, mean over the second half, every block; peak = RSS sampled every 5 ms during captureMean`],
    };
    return result;
  },
};
