// persona-steer generate: text from a prompt, optionally steered by control-vector files, and
// optionally only when the prompt meets conditions (CAST).
import { bool, int, num, parse, required, str, usageError } from './args';
import { COMMON_FLAGS, MODEL_FLAGS, openModel, printJson } from './common';
import type { Command } from './command';
import { CONDITION_FLAGS, buildConditions, checkPrompt, conditionSpecs, describeCheck } from './condition-flags';
import { POSITIONS_FLAG, STEER_FLAGS, buildPlan, positionsFlag, steerSpecs, type VectorCache } from './steer-flags';

/** Help text for the steering flags, shared by generate, chat and monitor. */
export const STEER_USAGE = `  --add FILE[:SCALE][@BLOCKS]     add the file's vector: its recorded coefficient at its recommended
                                  blocks; :SCALE replaces the coefficient (raw), @BLOCKS the blocks
  --cap FILE                      cap the projection at the file's recorded thresholds and blocks
                                  (persona-steer calibrate writes them)
  --clamp FILE:MIN:MAX[@BLOCKS]   keep the projection on the vector within [MIN, MAX] (either may be empty)
  --ablate FILE[@BLOCKS]          remove the component along the vector
                                  (--clamp, --ablate: the recommended blocks unless @BLOCKS)
  --positions prompt|generated|all
                                  tokens the steering applies to (default: what the files record, else all)
`;

export const CONDITION_USAGE = `  --if-above FILE[@BLOCK][:T]     steer only when the prompt's projection on FILE's vector at BLOCK is
  --if-below FILE[@BLOCK][:T]     above (below) T; default BLOCK and T: the file's last cap block and its
                                  recorded threshold (persona-steer calibrate)
  --if-mode any|all               with several conditions: any one (default) or all of them
`;

export const SAMPLING_FLAGS = {
  'max-tokens': { type: 'string' },
  greedy: { type: 'boolean' },
  seed: { type: 'string' },
  temperature: { type: 'string' },
  'top-k': { type: 'string' },
  'top-p': { type: 'string' },
} as const;

export function samplingOptions(values: Record<string, unknown>): { maxTokens: number; greedy?: boolean; seed?: number; temperature?: number; topK?: number; topP?: number } {
  const v = values as Parameters<typeof int>[0];
  const out: ReturnType<typeof samplingOptions> = { maxTokens: int(v, 'max-tokens', 1, 1 << 20) ?? 128 };
  if (bool(v, 'greedy')) out.greedy = true;
  const seed = int(v, 'seed', 0, 0xffffffff);
  if (seed !== undefined) out.seed = seed;
  const temperature = num(v, 'temperature', 0, 100);
  if (temperature !== undefined) out.temperature = temperature;
  const topK = int(v, 'top-k', 0, 1 << 24);
  if (topK !== undefined) out.topK = topK;
  const topP = num(v, 'top-p', 0, 1);
  if (topP !== undefined) out.topP = topP;
  return out;
}

export const generate: Command = {
  name: 'generate',
  summary: 'generate text, optionally steered',
  usage: `persona-steer generate --model M --prompt P [options]

  --model, -m FILE          model GGUF
  --prompt, -p TEXT         prompt (raw text; the model's BOS is added)
  --chat                    format the prompt as a user turn with the model's chat template
  --system TEXT             system prompt (with --chat)
  --max-tokens N            tokens to generate (default 128)
  --greedy                  greedy decoding
  --seed S                  sampling seed
  --temperature T, --top-k K, --top-p P
${STEER_USAGE}${CONDITION_USAGE}  --context-size N, --threads N, --gpu-layers N
  --json                    print one JSON object: { text, tokens, stopReason, promptTokens, generatedTokens, tokensPerSecond,
                            steering, positions, condition? }
`,
  async run(argv, { signal }) {
    const { values } = parse('generate', argv, {
      ...MODEL_FLAGS, ...COMMON_FLAGS, ...STEER_FLAGS, ...POSITIONS_FLAG, ...CONDITION_FLAGS, ...SAMPLING_FLAGS,
      prompt: { type: 'string', short: 'p' }, chat: { type: 'boolean' }, system: { type: 'string' },
    });
    const prompt = required(values, 'prompt', 'the prompt text');
    const system = str(values, 'system');
    const chat = bool(values, 'chat');
    if (system !== undefined && !chat) throw usageError('--system needs --chat (the system prompt is part of the chat template)');
    const sampling = samplingOptions(values);
    const specs = steerSpecs(values);
    const positions = positionsFlag(values);
    const cond = conditionSpecs(values);
    if (cond.specs.length > 0 && specs.length === 0) throw usageError('--if-above/--if-below need steering to apply (--add, --cap, --clamp or --ablate)');
    const json = bool(values, 'json');
    const s = await openModel(values);
    try {
      const cache: VectorCache = new Map();
      const built = await buildPlan(specs, s.model, positions, cache);
      const conditions = await buildConditions(cond.specs, s.model, cache);
      const input = chat ? { messages: [...(system ? [{ role: 'system', content: system }] : []), { role: 'user', content: prompt }] } : prompt;
      const check = conditions.length > 0 ? await checkPrompt(s.context, input, cond.specs, conditions, cond.mode, signal) : null;
      if (check && !json) process.stderr.write(`${describeCheck(cond.specs, check)}\n`);
      const steer = check && !check.matched ? null : built.plan;
      const stream = s.context.generate(input, { ...sampling, steer, signal });
      if (!json) {
        for await (const ev of stream) process.stdout.write(ev.text);
        process.stdout.write('\n');
      }
      const r = await stream.result;
      if (json) {
        printJson({
          text: r.text, tokens: r.tokens, stopReason: r.stopReason, promptTokens: r.promptTokens, generatedTokens: r.generatedTokens,
          tokensPerSecond: r.tokensPerSecond, steering: built.steering, positions: built.positions,
          ...(check ? { condition: check } : {}),
        });
      }
      return r.stopReason === 'abort' ? 130 : 0;
    } finally {
      await s.close();
    }
  },
};
