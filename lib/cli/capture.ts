// persona-steer capture: block outputs (the residual stream after steering) for a prompt.
import { blocksFlag, bool, choice, parse, usageError } from './args';
import { COMMON_FLAGS, MODEL_FLAGS, MODEL_USAGE, checkModelBlocks, f32, openModel, printJson } from './common';
import type { Command } from './command';
import { PROMPT_FLAGS, promptFlag } from './generate';
import { STEER_FLAGS, buildPlan, steerSpecs } from './steer-flags';

export const capture: Command = {
  name: 'capture',
  summary: 'print block outputs for a prompt',
  usage: `persona-steer capture --model M (--prompt P | --file FILE) [options]

  --model, -m FILE          model GGUF
  --prompt, -p TEXT         prompt (raw text; the model's BOS is added; "" is BOS alone)
  --file, -f FILE           the prompt from FILE ('-': standard input)
  --blocks BLOCKS           blocks to read: 3, 2-4, 1,3,5 or all (default all)
  --positions all|last      every token (default) or the last one
  --add/--cap/--clamp/--ablate  steering applied before reading (as in generate; at the positions the files
                            record, else every position)
${MODEL_USAGE}  --json                    print { tokens: [id...], blocks: [{ block, positions: [p...], rows: [[embeddingSize floats]...] }] }
                            (one row per selected token, in position order)
`,
  async run(argv) {
    const { values } = parse('capture', argv, {
      ...MODEL_FLAGS, ...COMMON_FLAGS, ...STEER_FLAGS,
      ...PROMPT_FLAGS, blocks: { type: 'string' }, positions: { type: 'string' },
    });
    const prompt = promptFlag(values);
    if (prompt === undefined) throw usageError('--prompt or --file is required (the prompt text)');
    const blocks = blocksFlag(values, 'blocks') ?? 'all';
    const positions = choice(values, 'positions', ['all', 'last'] as const) ?? 'all';
    const specs = steerSpecs(values);
    const s = await openModel(values);
    try {
      const { plan } = await buildPlan(specs, s.model);
      const r = await s.context.capture(prompt, { blocks: checkModelBlocks('--blocks', blocks, s.model), positions, steer: plan });
      const out = r.blocks.map((b) => {
        const order = Array.from(b.positions, (_, i) => i).sort((x, y) => b.positions[x] - b.positions[y]);
        return { block: b.block, positions: order.map((i) => b.positions[i]), rows: order.map((i) => Array.from(b.rows[i], f32)) };
      });
      if (bool(values, 'json')) {
        printJson({ tokens: Array.from(r.tokens), blocks: out });
        return 0;
      }
      process.stdout.write(`tokens (${r.tokens.length}): ${Array.from(r.tokens).join(' ')}\n`);
      for (const b of out) {
        process.stdout.write(`block ${b.block}\n`);
        b.rows.forEach((row, i) => {
          const p = b.positions[i];
          const piece = JSON.stringify(s.model.detokenize([r.tokens[p]], { special: true }));
          const n = Math.sqrt(row.reduce((a, x) => a + x * x, 0));
          process.stdout.write(`  pos ${p} ${piece} norm ${n.toFixed(4)} [${row.slice(0, 4).map((x) => x.toFixed(4)).join(', ')}${row.length > 4 ? ', ...' : ''}]\n`);
        });
      }
      return 0;
    } finally {
      await s.close();
    }
  },
};
