// persona-steer inspect: what a control-vector file holds (blocks, norms, metadata) and, for
// several files, the cosine between them at each shared block.
import { bool, parse, usageError } from './args';
import { COMMON_FLAGS, printJson } from './common';
import type { Command } from './command';
import { readControlVector } from '../vector/control-vector-file';
import type { PersonaVector } from '../vector/persona-vector';
import { capThresholdBlocks, type PersonaVectorMetadata } from '../vector/vector-metadata';

function metadataJson(md: PersonaVectorMetadata): Record<string, unknown> {
  const { extra, ...rest } = md;
  const out: Record<string, unknown> = { ...rest };
  if (extra) {
    out.extra = Object.fromEntries(Object.entries(extra).map(([k, v]) => [k, typeof v.value === 'bigint' ? String(v.value)
      : Array.isArray(v.value) ? v.value.map((x) => (typeof x === 'bigint' ? String(x) : x)) : v.value]));
  }
  return out;
}

function cosines(a: PersonaVector, b: PersonaVector): { block: number; cosine: number | null }[] | null {
  if (a.embeddingSize !== b.embeddingSize) return null;
  const shared = a.blocks.filter((x) => b.has(x));
  return shared.map((block) => {
    try {
      return { block, cosine: a.cosine(b, block) };
    } catch {
      return { block, cosine: null };
    }
  });
}

export const inspect: Command = {
  name: 'inspect',
  summary: 'show a control-vector file (blocks, norms, metadata; cosines between files)',
  usage: `persona-steer inspect FILE [FILE...] [--json]

  Shows each file's embedding size, blocks with their L2 norms, and metadata (trait, method, source model,
  residual norms, the steering recommendation: blocks, coefficient, positions and how they were
  chosen; cap blocks, thresholds and positions). With two or more files, the
  cosine similarity of every pair at each block they share. A file holding block 0 is flagged:
  llama.cpp's own loader refuses direction.0 (persona-steer steers it as any other block).
  --json   print { files: [{ path, embeddingSize, blocks: [{ block, norm }], metadata }],
                   cosines: [{ a, b, blocks: [{ block, cosine }] }] }
`,
  async run(argv) {
    const { values, positionals } = parse('inspect', argv, { ...COMMON_FLAGS }, 'some');
    if (positionals.length === 0) throw usageError('at least one control-vector file is required');
    const vectors: PersonaVector[] = [];
    for (const f of positionals) vectors.push(await readControlVector(f));
    const files = vectors.map((v, i) => ({
      path: positionals[i],
      embeddingSize: v.embeddingSize,
      blocks: [...v.norms()].map(([block, norm]) => ({ block, norm })),
      metadata: metadataJson(v.metadata),
    }));
    const pairs: { a: string; b: string; blocks: { block: number; cosine: number | null }[] | null }[] = [];
    for (let i = 0; i < vectors.length; i++) {
      for (let j = i + 1; j < vectors.length; j++) pairs.push({ a: positionals[i], b: positionals[j], blocks: cosines(vectors[i], vectors[j]) });
    }
    if (bool(values, 'json')) {
      printJson({ files, cosines: pairs });
      return 0;
    }
    for (const f of files) {
      const md = f.metadata as PersonaVectorMetadata;
      process.stdout.write(`${f.path}\n  embedding size ${f.embeddingSize}, ${f.blocks.length} blocks\n`);
      for (const k of ['trait', 'method', 'description', 'modelHint'] as const) if (md[k] !== undefined) process.stdout.write(`  ${k}: ${md[k]}\n`);
      if (md.source) process.stdout.write(`  source: ${Object.entries(md.source).map(([k, v]) => `${k}=${v}`).join(' ')}\n`);
      if (md.recommendedBlocks) process.stdout.write(`  recommended blocks: ${md.recommendedBlocks.join(', ')}${md.recommendedBy ? ` (by ${md.recommendedBy === 'sweep' ? 'a steering sweep' : 'separation, not tested'})` : ''}\n`);
      if (md.coefficient !== undefined) process.stdout.write(`  coefficient: ${md.coefficient} (raw)\n`);
      if (md.positions !== undefined) process.stdout.write(`  positions: ${md.positions}\n`);
      if (md.capThresholds) {
        const owner = capThresholdBlocks(md) ?? [];
        process.stdout.write(`  cap thresholds: ${md.capThresholds.map((x, i) => `${owner[i]}:${x.toPrecision(4)}`).join(', ')}${md.capPositions ? ` at ${md.capPositions} positions` : ''}\n`);
      }
      if (f.blocks.some((b) => b.block === 0)) {
        process.stdout.write("  block 0 (direction.0): llama.cpp's --control-vector loader refuses this file; setLlamaControlVector cannot apply block 0\n");
      }
      process.stdout.write('  block      norm   residual norm\n');
      for (const b of f.blocks) {
        const r = md.residualNorms?.[b.block];
        process.stdout.write(`  ${String(b.block).padStart(5)} ${b.norm.toPrecision(5).padStart(9)} ${r === undefined ? '' : r.toPrecision(5).padStart(15)}\n`);
      }
    }
    for (const p of pairs) {
      if (!p.blocks) { process.stdout.write(`cosine ${p.a} ~ ${p.b}: different embedding sizes\n`); continue; }
      if (p.blocks.length === 0) { process.stdout.write(`cosine ${p.a} ~ ${p.b}: no shared block\n`); continue; }
      process.stdout.write(`cosine ${p.a} ~ ${p.b}: ${p.blocks.map((b) => `${b.block}:${b.cosine === null ? 'n/a' : b.cosine.toFixed(4)}`).join(' ')}\n`);
    }
    return 0;
  },
};
