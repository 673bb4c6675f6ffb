// persona-steer generate: text from a prompt, optionally steered by control-vector files, and
// optionally only when the prompt meets conditions (CAST).
import type { GenerateOptions, GenerationResult } from '../context';
import { invalidArg } from '../errors';
import { jsonSchemaToGrammar } from '../grammar/json-schema';
import { bool, int, list, num, parse, str, text, usageError } from './args';
import { COMMON_FLAGS, MODEL_FLAGS, MODEL_USAGE, openModel, printJson, readFlagFile } from './common';
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
  'min-p': { type: 'string' },
  'repeat-penalty': { type: 'string' },
  'repeat-last-n': { type: 'string' },
  stop: { type: 'string', multiple: true },
  grammar: { type: 'string' },
  'grammar-file': { type: 'string' },
  'json-schema': { type: 'string' },
  'json-schema-file': { type: 'string' },
  logprobs: { type: 'boolean' },
  'top-logprobs': { type: 'string' },
} as const;

/** Help text for SAMPLING_FLAGS. */
export const SAMPLING_USAGE = `  --max-tokens N            tokens to generate (default 128)
  --greedy                  greedy decoding
  --seed S                  sampling seed (0 - 4294967295)
  --temperature T, --top-k K, --top-p P, --min-p P
                            sampling (defaults 0.8, 40, 0.95, 0.05)
  --repeat-penalty R        penalize tokens repeated in the last --repeat-last-n N tokens (default 1: off; N 64)
  --stop TEXT               stop before TEXT (repeatable; not part of the output)
  --grammar GBNF, --grammar-file FILE
                            only text the GBNF grammar (llama.cpp's format, rule root) accepts
  --json-schema JSON, --json-schema-file FILE
                            only JSON valid under the schema (the subset in docs/api.md, "JSON schema")
  --logprobs                each generated token's log-probability (--json: logprobs)
  --top-logprobs N          and the N most likely tokens at each step (0-100)
`;

export type CliSampling = Pick<GenerateOptions, 'greedy' | 'seed' | 'temperature' | 'topK' | 'topP' | 'minP' | 'repeatPenalty' | 'repeatLastN' |
  'stop' | 'grammar' | 'logprobs' | 'topLogprobs'> & { maxTokens: number };

export function samplingOptions(values: Record<string, unknown>): CliSampling {
  const v = values as Parameters<typeof int>[0];
  const out: CliSampling = { maxTokens: int(v, 'max-tokens', 1, 1 << 20) ?? 128 };
  if (bool(v, 'greedy')) out.greedy = true;
  const seed = int(v, 'seed', 0, 0xffffffff);
  if (seed !== undefined) out.seed = seed;
  const temperature = num(v, 'temperature', 0, 100);
  if (temperature !== undefined) out.temperature = temperature;
  const topK = int(v, 'top-k', 0, 1 << 24);
  if (topK !== undefined) out.topK = topK;
  const topP = num(v, 'top-p', 0, 1);
  if (topP !== undefined) out.topP = topP;
  const minP = num(v, 'min-p', 0, 1);
  if (minP !== undefined) out.minP = minP;
  const penalty = num(v, 'repeat-penalty', 0.01, 100);
  if (penalty !== undefined) out.repeatPenalty = penalty;
  const lastN = int(v, 'repeat-last-n', 0, 1 << 20);
  if (lastN !== undefined) out.repeatLastN = lastN;
  const stops = list(v, 'stop');
  stops.forEach((x) => { if (x.length === 0) throw invalidArg('--stop', 'a non-empty text', x); });
  if (stops.length > 0) out.stop = stops;
  const constraints = ['grammar', 'grammar-file', 'json-schema', 'json-schema-file'].filter((f) => v[f] !== undefined);
  if (constraints.length > 1) throw usageError(`give one of --grammar, --grammar-file, --json-schema and --json-schema-file (received ${constraints.map((f) => `--${f}`).join(' and ')})`);
  const grammar = str(v, 'grammar') ?? (v['grammar-file'] !== undefined ? readFlagFile('--grammar-file', str(v, 'grammar-file')!) : undefined);
  if (grammar !== undefined) out.grammar = grammar;
  const schemaFlag = v['json-schema'] !== undefined ? 'json-schema' : v['json-schema-file'] !== undefined ? 'json-schema-file' : undefined;
  if (schemaFlag !== undefined) {
    const textValue = schemaFlag === 'json-schema' ? str(v, 'json-schema')! : readFlagFile('--json-schema-file', str(v, 'json-schema-file')!);
    let schema: unknown;
    try {
      schema = JSON.parse(textValue);
    } catch (e) {
      throw invalidArg(`--${schemaFlag}`, `a JSON schema written as JSON (${(e as Error).message})`, textValue.slice(0, 80));
    }
    // Converted here so that an unsupported keyword is named by the flag it came from.
    out.grammar = jsonSchemaToGrammar(schema, `--${schemaFlag}`);
  }
  if (bool(v, 'logprobs')) out.logprobs = true;
  const top = int(v, 'top-logprobs', 0, 100);
  if (top !== undefined) out.topLogprobs = top;
  return out;
}

/** --prompt TEXT or --file FILE ('-': standard input), as llama.cpp's -p and -f. */
export const PROMPT_FLAGS = {
  prompt: { type: 'string', short: 'p' },
  file: { type: 'string', short: 'f' },
} as const;

/**
 * The prompt from --prompt or --file (one trailing newline of a file is dropped, as llama.cpp
 * does); undefined when neither is given. An empty prompt is valid: generation starts from BOS.
 */
export function promptFlag(values: Record<string, unknown>): string | undefined {
  const v = values as Parameters<typeof int>[0];
  const prompt = text(v, 'prompt');
  const file = str(v, 'file');
  if (prompt !== undefined && file !== undefined) throw usageError('give one of --prompt and --file');
  if (file !== undefined) return readFlagFile('--file', file).replace(/\r?\n$/, '');
  return prompt;
}

/** One line per generated token: its text, log-probability and the top alternatives. */
export function logprobsTable(r: GenerationResult): string {
  const rows = (r.logprobs ?? []).map((t, i) => `${String(i).padStart(4)} ${JSON.stringify(t.text).padEnd(14)} ${t.logprob.toFixed(4).padStart(9)}` +
    `${t.topLogprobs ? `  ${t.topLogprobs.map((a) => `${JSON.stringify(a.text)}:${a.logprob.toFixed(3)}`).join(' ')}` : ''}`);
  return `token text             logprob${r.logprobs?.[0]?.topLogprobs ? '  most likely' : ''}\n${rows.join('\n')}\n`;
}

/** The logprobs of a result for --json: [{ token, text, logprob, topLogprobs? }] (absent unless asked for). */
export function logprobsJson(r: GenerationResult): Record<string, unknown> {
  return r.logprobs ? { logprobs: r.logprobs } : {};
}

export const generate: Command = {
  name: 'generate',
  summary: 'generate text, optionally steered',
  usage: `persona-steer generate --model M (--prompt P | --file FILE) [options]

  --model, -m FILE          model GGUF
  --prompt, -p TEXT         prompt (raw text; the model's BOS is added; "" starts from BOS alone)
  --file, -f FILE           read the prompt from FILE ('-': standard input)
  --chat                    format the prompt as a user turn with the model's chat template
  --system TEXT             system prompt (with --chat)
${SAMPLING_USAGE}${STEER_USAGE}${CONDITION_USAGE}${MODEL_USAGE}  --json                    print one JSON object: { text, tokens, stopReason, promptTokens, generatedTokens, tokensPerSecond,
                            steering, positions, condition?, logprobs? }
`,
  async run(argv, { signal }) {
    const { values } = parse('generate', argv, {
      ...MODEL_FLAGS, ...COMMON_FLAGS, ...STEER_FLAGS, ...POSITIONS_FLAG, ...CONDITION_FLAGS, ...SAMPLING_FLAGS,
      ...PROMPT_FLAGS, chat: { type: 'boolean' }, system: { type: 'string' },
    });
    const prompt = promptFlag(values);
    if (prompt === undefined) throw usageError('--prompt or --file is required (the prompt text)');
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
      if (!json && r.logprobs) process.stdout.write(logprobsTable(r));
      if (json) {
        printJson({
          text: r.text, tokens: r.tokens, stopReason: r.stopReason, promptTokens: r.promptTokens, generatedTokens: r.generatedTokens,
          tokensPerSecond: r.tokensPerSecond, steering: built.steering, positions: built.positions,
          ...(check ? { condition: check } : {}), ...logprobsJson(r),
        });
      }
      return r.stopReason === 'abort' ? 130 : 0;
    } finally {
      await s.close();
    }
  },
};
