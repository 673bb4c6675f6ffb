// persona-steer generate: text from a prompt, optionally steered by control-vector files.
import { bool, int, num, parse, required, str, usageError } from './args';
import { COMMON_FLAGS, MODEL_FLAGS, openModel, printJson } from './common';
import type { Command } from './command';
import { STEER_FLAGS, buildOps, describeSpecs, steerSpecs } from './steer-flags';

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
  --add FILE[:SCALE][@BLOCKS]     add SCALE (default 1) x the file's vector
  --clamp FILE:MIN:MAX[@BLOCKS]   keep the projection on the vector within [MIN, MAX] (either may be empty)
  --ablate FILE[@BLOCKS]          remove the component along the vector
  --context-size N, --threads N, --gpu-layers N, --rpc HOST:PORT[,...], --tensor-split A,B,...
  --json                    print one JSON object: { text, tokens, stopReason, promptTokens, generatedTokens, tokensPerSecond, steering }
`,
  async run(argv, { signal }) {
    const { values } = parse('generate', argv, {
      ...MODEL_FLAGS, ...COMMON_FLAGS, ...STEER_FLAGS, ...SAMPLING_FLAGS,
      prompt: { type: 'string', short: 'p' }, chat: { type: 'boolean' }, system: { type: 'string' },
    });
    const prompt = required(values, 'prompt', 'the prompt text');
    const system = str(values, 'system');
    const chat = bool(values, 'chat');
    if (system !== undefined && !chat) throw usageError('--system needs --chat (the system prompt is part of the chat template)');
    const sampling = samplingOptions(values);
    const specs = steerSpecs(values);
    const json = bool(values, 'json');
    const s = await openModel(values);
    try {
      const steer = await buildOps(specs, s.model);
      const input = chat ? { messages: [...(system ? [{ role: 'system', content: system }] : []), { role: 'user', content: prompt }] } : prompt;
      const stream = s.context.generate(input, { ...sampling, steer, signal });
      if (!json) {
        for await (const ev of stream) process.stdout.write(ev.text);
        process.stdout.write('\n');
      }
      const r = await stream.result;
      if (json) {
        printJson({
          text: r.text, tokens: r.tokens, stopReason: r.stopReason, promptTokens: r.promptTokens, generatedTokens: r.generatedTokens,
          tokensPerSecond: r.tokensPerSecond, steering: describeSpecs(specs),
        });
      }
      return r.stopReason === 'abort' ? 130 : 0;
    } finally {
      await s.close();
    }
  },
};
