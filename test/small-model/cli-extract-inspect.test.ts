import t from 'tap';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Model, extractPersonaVector, readControlVector } from '../../lib/index';
import { json, requireBuiltCli, runCli } from '../helpers/cli';
import { requireModel, stories260K } from '../helpers/models';
import { storyPairs, storyPromptPairs } from '../helpers/stories';

let dir: string;
let pairsFile: string;
const M = ['--model', stories260K, '--threads', '1', '--gpu-layers', '0'];

interface ExtractJson {
  out: string; trait: string; method: string; recommendedBlocks: number[]; coefficient: number;
  counts: { pairs: number; kept: number; empty: number; rejected: number };
  blocks: { block: number; gap: number; pooledSd: number; separation: number; positiveMean: number; negativeMean: number; vectorNorm: number; residualNorm: number }[];
}

t.before(() => {
  requireModel(stories260K);
  requireBuiltCli();
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'persona-cli-'));
  pairsFile = path.join(dir, 'pairs.json');
  fs.writeFileSync(pairsFile, JSON.stringify({ trait: 'happy', description: 'happy vs sad stories', samples: storyPairs() }));
});
t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));

t.test('extract --pairs writes the vector the library extracts and reports per-block statistics as JSON', async (t) => {
  const out = path.join(dir, 'happy.gguf');
  const r = runCli(['extract', ...M, '--pairs', pairsFile, '--out', out, '--json']);
  t.equal(r.status, 0, r.stderr);
  const j = json<ExtractJson>(r);
  t.same(Object.keys(j).sort(), ['blocks', 'counts', 'method', 'out', 'positions', 'recommendation', 'recommendedBlocks', 'trait'],
    'no coefficient: supplied pairs are not swept by default, and none was given');
  t.same([j.out, j.trait, j.method, j.positions], [out, 'happy', 'mean-diff', 'response']);
  t.same(j.recommendation, { blocks: j.recommendedBlocks, positions: 'all', by: 'separation', reason: 'no steering sweep was run (options.sweep is false)' });
  t.same(j.counts, { pairs: 8, kept: 8, empty: 0, rejected: 0 });
  t.same(j.blocks.map((b) => b.block), [0, 1, 2, 3, 4]);
  for (const b of j.blocks) {
    t.same(Object.keys(b).sort(), ['block', 'gap', 'negativeMean', 'pooledSd', 'positiveMean', 'residualNorm', 'separation', 'vectorNorm']);
    t.ok(b.separation > 0 && b.gap > 0, `block ${b.block} separates`);
  }
  t.equal(j.recommendedBlocks.length, 1);
  const file = await readControlVector(out);
  t.equal(file.metadata.trait, 'happy');
  t.same(file.metadata.recommendedBlocks, j.recommendedBlocks);
  const model = await Model.load(stories260K, { gpuLayers: 0 });
  const ctx = await model.createContext({ contextSize: 256, threads: 1 });
  const lib = await extractPersonaVector(ctx, { trait: 'happy', samples: storyPairs() });
  await ctx.dispose();
  model.dispose();
  for (const b of lib.vector.blocks) t.same(Array.from(file.block(b)), Array.from(lib.vector.block(b)), `block ${b} equals the library's`);
});

t.test('extract --positions last-prompt writes the vector the library extracts at the prompt\'s last token', async (t) => {
  const samples = storyPromptPairs();
  const file = path.join(dir, 'lp-pairs.json');
  fs.writeFileSync(file, JSON.stringify({ trait: 'happy', samples }));
  const out = path.join(dir, 'happy-lp.gguf');
  const r = runCli(['extract', ...M, '--pairs', file, '--out', out, '--positions', 'last-prompt', '--json']);
  t.equal(r.status, 0, r.stderr);
  t.equal(json<ExtractJson>(r).method, 'mean-diff/last-prompt');
  const model = await Model.load(stories260K, { gpuLayers: 0 });
  const ctx = await model.createContext({ contextSize: 256, threads: 1 });
  const lib = await extractPersonaVector(ctx, { trait: 'happy', samples }, { positions: 'last-prompt' });
  await ctx.dispose();
  model.dispose();
  const written = await readControlVector(out);
  for (const b of lib.vector.blocks) t.same(Array.from(written.block(b)), Array.from(lib.vector.block(b)), `block ${b} equals the library's`);
});

t.test('extract prints a table without --json and --plot writes an SVG bar per block', async (t) => {
  const svg = path.join(dir, 'sep.svg');
  const r = runCli(['extract', ...M, '--pairs', pairsFile, '--out', path.join(dir, 'pca.gguf'), '--method', 'pca', '--blocks', '1-3', '--plot', svg]);
  t.equal(r.status, 0, r.stderr);
  t.match(r.stdout, /wrote .*pca\.gguf: trait happy, pca, 8 of 8 pairs kept/);
  t.match(r.stdout, /averaged at: the response tokens \(response\)/);
  t.match(r.stdout, /recorded: blocks \d \(\*\) by separation, no coefficient, positions all; NOT tested by steering: no steering sweep was run/);
  const text = fs.readFileSync(svg, 'utf8');
  t.match(text, /^<\?xml/);
  t.equal((text.match(/<rect x=/g) ?? []).length, 3, 'one bar per extracted block');
  t.same((await readControlVector(path.join(dir, 'pca.gguf'))).blocks, [1, 2, 3]);
});

t.test('extract --spec generates answers in plain format and a --judge module filters them', async (t) => {
  const spec = path.join(dir, 'spec.json');
  fs.writeFileSync(spec, JSON.stringify({
    name: 'happy', description: 'happy stories',
    pairs: [{ positive: 'Lily was very happy. She smiled and laughed.', negative: 'Lily was very sad. She cried and cried.' }],
    extractionQuestions: ['One day, she went to the park.', 'Then she saw her friend.', 'At night, she went to bed.'],
  }));
  const r = runCli(['extract', ...M, '--spec', spec, '--format', 'plain', '--max-tokens', '6', '--seed', '3', '--out', path.join(dir, 's.gguf'), '--json']);
  t.equal(r.status, 0, r.stderr);
  t.same(json<ExtractJson>(r).counts, { pairs: 3, kept: 3, empty: 0, rejected: 0 });
  // A CommonJS judge that scores every answer 80: the negative answers fail the < 50 rule, so no pair is kept.
  const cjs = path.join(dir, 'judge.cjs');
  fs.writeFileSync(cjs, 'module.exports = async () => 80;\n');
  const bad = runCli(['extract', ...M, '--spec', spec, '--format', 'plain', '--max-tokens', '6', '--judge', cjs, '--out', path.join(dir, 'j.gguf')]);
  t.equal(bad.status, 1);
  t.match(bad.stderr, /^persona-steer extract: ERR_EXTRACTION: no pair is left to extract from \(3 pairs: 0 with an empty response, 3 rejected by the judge\)\n$/);
  // An ES-module judge; pairs are judged positive answer first, so odd calls are positive answers.
  const esm = path.join(dir, 'judge.mjs');
  fs.writeFileSync(esm, "let n = 0;\nexport default (q) => ((n++ % 2 === 0) && !q.startsWith('Then') ? 90 : 10);\n");
  const ok = runCli(['extract', ...M, '--spec', spec, '--format', 'plain', '--max-tokens', '6', '--judge', esm, '--out', path.join(dir, 'k.gguf'), '--json']);
  t.equal(ok.status, 0, ok.stderr);
  t.same(json<ExtractJson>(ok).counts, { pairs: 3, kept: 2, empty: 0, rejected: 1 });
});

t.test('inspect --json shows blocks, norms, metadata and the cosine between files', async (t) => {
  const a = path.join(dir, 'happy.gguf');
  const b = path.join(dir, 'pca.gguf');
  const r = runCli(['inspect', a, b, a, '--json']);
  t.equal(r.status, 0, r.stderr);
  const j = json<{ files: { path: string; embeddingSize: number; blocks: { block: number; norm: number }[]; metadata: Record<string, unknown> }[]; cosines: { a: string; b: string; blocks: { block: number; cosine: number }[] }[] }>(r);
  t.equal(j.files.length, 3);
  t.same(j.files[0].blocks.map((x) => x.block), [0, 1, 2, 3, 4]);
  const v = await readControlVector(a);
  t.same(j.files[0].blocks.map((x) => x.norm), [...v.norms().values()]);
  t.equal(j.files[0].embeddingSize, 64);
  t.equal(j.files[1].metadata.method, 'pca');
  t.same(Object.keys(j.files[0].metadata.source as object).sort(), ['architecture', 'blockCount', 'embeddingSize', 'hash']);
  t.same(j.cosines.map((c) => [c.a, c.b]), [[a, b], [a, a], [b, a]]);
  t.same(j.cosines[0].blocks.map((x) => x.block), [1, 2, 3], 'only shared blocks');
  t.ok(j.cosines[0].blocks.every((x) => x.cosine > 0.5), 'mean-diff and pca point the same way');
  t.ok(j.cosines[1].blocks.every((x) => Math.abs(x.cosine - 1) < 1e-12), 'a file with itself: cosine 1');
  const human = runCli(['inspect', a]);
  t.match(human.stdout, /trait: happy\n {2}method: mean-diff/);
});

t.test('extract and inspect refuse bad arguments with a coded one-line error', async (t) => {
  const cases: [string[], number, RegExp][] = [
    [['extract', ...M, '--pairs', pairsFile], 2, /^persona-steer extract: ERR_INVALID_ARG: --out is required/],
    [['extract', ...M, '--pairs', pairsFile, '--spec', pairsFile, '--out', 'x.gguf'], 2, /give exactly one of --spec and --pairs/],
    [['extract', ...M, '--pairs', pairsFile, '--out', 'x.gguf', '--method', 'svd'], 2, /--method must be one of mean-diff, pca; received "svd"/],
    [['extract', ...M, '--pairs', pairsFile, '--out', 'x.gguf', '--max-tokens', '5'], 2, /--max-tokens applies to --spec/],
    [['extract', ...M, '--pairs', path.join(dir, 'missing.json'), '--out', 'x.gguf'], 1, /ERR_BAD_FILE: cannot read .*missing\.json: no such file or directory \(ENOENT\)/],
    [['extract', ...M, '--pairs', path.join(dir, 'sep.svg'), '--out', 'x.gguf'], 1, /ERR_BAD_FILE: .*sep\.svg: not valid JSON/],
    [['extract', ...M, '--pairs', pairsFile, '--out', 'x.gguf', '--blocks', '5'], 2, /--blocks: block 5 is beyond the model's 5 blocks/],
    [['inspect'], 2, /ERR_INVALID_ARG: at least one control-vector file is required/],
    [['inspect', pairsFile], 1, /^persona-steer inspect: ERR_BAD_FILE: /],
  ];
  for (const [args, status, re] of cases) {
    const r = runCli(args);
    t.equal(r.status, status, args.join(' '));
    t.match(r.stderr, re);
    t.equal(r.stderr.split('\n').filter(Boolean).length, 1, 'one line');
  }
});
