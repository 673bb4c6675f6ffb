// persona-steer chat: an interactive conversation whose steering can change between turns.
// Lines starting with / are commands (/add FILE, /cap FILE, /clear, ...); anything else is a user turn.
import readline from 'node:readline';
import { ErrorCodes, PersonaSteerError } from '../errors';
import type { ChatMessage } from '../model';
import { STEER_POSITIONS, type SteerPositions } from '../vector/vector-metadata';
import { cliWording } from './api-words';
import { activeFlags, bool, choice, parse, parseBlocks, parseNumberText, str, usageError } from './args';
import { COMMON_FLAGS, MODEL_FLAGS, MODEL_USAGE, openModel, printJson, warn } from './common';
import type { Command } from './command';
import { CONDITION_FLAGS, buildConditions, checkPrompt, conditionSpecs, describeCheck } from './condition-flags';
import { CONDITION_USAGE, SAMPLING_FLAGS, SAMPLING_USAGE, STEER_USAGE, logprobsJson, samplingOptions } from './generate';
import { POSITIONS_FLAG, STEER_FLAGS, buildPlan, parseAdd, positionsFlag, steerSpecs, type BuiltPlan, type SteerSpec, type VectorCache } from './steer-flags';

const HELP = `commands:
  /add FILE[:SCALE][@BLOCKS]      add the file's vector: its recorded coefficient and blocks, or SCALE (raw) / BLOCKS
  /add FILE SCALE [BLOCKS]        the same, SCALE and BLOCKS (like 2-4) as separate words
  /cap FILE                       cap at the file's recorded thresholds and blocks (persona-steer calibrate)
  /cap FILE MAX [BLOCKS]          keep the projection on the vector <= MAX
  /clamp FILE MIN MAX [BLOCKS]    keep it within [MIN, MAX]; - for no bound
  /ablate FILE [BLOCKS]           remove the component along the vector
  /positions prompt|generated|all|auto   tokens the steering applies to (auto: what the files record)
  /clear                          remove all steering
  /steering                       show the steering in effect
  /reset                          forget the conversation (steering stays)
  /help, /quit
`;

function optBlocks(cmd: string, text: string | undefined): number[] | 'all' | undefined {
  return text === undefined ? undefined : parseBlocks(`${cmd} BLOCKS`, text);
}

/** Parses one /command into a steering change; null for commands that are not about steering. */
export function parseChatCommand(line: string): { kind: 'spec'; spec: SteerSpec } | { kind: 'positions'; positions: SteerPositions | undefined }
  | { kind: 'clear' | 'steering' | 'reset' | 'help' | 'quit' } {
  const [cmd, ...args] = line.trim().split(/\s+/);
  const arity = (min: number, max: number, form: string) => {
    if (args.length < min || args.length > max) throw usageError(`${cmd} takes ${form}`);
  };
  const bound = (name: string, t: string) => (t === '-' ? undefined : parseNumberText(`${cmd} ${name}`, t));
  switch (cmd) {
    case '/add':
      arity(1, 3, 'FILE[:SCALE][@BLOCKS], or FILE SCALE [BLOCKS]');
      if (args.length === 1) return { kind: 'spec', spec: { ...parseAdd(args[0], '/add'), label: line.trim() } };
      return { kind: 'spec', spec: { kind: 'add', file: args[0], scale: parseNumberText('/add SCALE', args[1]), blocks: optBlocks(cmd, args[2]), label: line.trim() } };
    case '/cap':
      arity(1, 3, 'FILE, or FILE MAX [BLOCKS]');
      if (args.length === 1) return { kind: 'spec', spec: { kind: 'cap', file: args[0], label: line.trim() } };
      return { kind: 'spec', spec: { kind: 'clamp', file: args[0], max: parseNumberText('/cap MAX', args[1]), blocks: optBlocks(cmd, args[2]), label: line.trim() } };
    case '/positions': {
      arity(1, 1, `one of ${STEER_POSITIONS.join(', ')} or auto`);
      if (args[0] === 'auto') return { kind: 'positions', positions: undefined };
      if (!(STEER_POSITIONS as readonly string[]).includes(args[0])) throw usageError(`/positions takes one of ${STEER_POSITIONS.join(', ')} or auto; received ${JSON.stringify(args[0])}`);
      return { kind: 'positions', positions: args[0] as SteerPositions };
    }
    case '/clamp': {
      arity(3, 4, 'FILE MIN MAX [BLOCKS]');
      const min = bound('MIN', args[1]);
      const max = bound('MAX', args[2]);
      if (min === undefined && max === undefined) throw usageError('/clamp needs MIN, MAX or both');
      if (min !== undefined && max !== undefined && min > max) throw usageError(`/clamp MIN (${min}) must be <= MAX (${max})`);
      return { kind: 'spec', spec: { kind: 'clamp', file: args[0], min, max, blocks: optBlocks(cmd, args[3]), label: line.trim() } };
    }
    case '/ablate':
      arity(1, 2, 'FILE [BLOCKS]');
      return { kind: 'spec', spec: { kind: 'ablate', file: args[0], blocks: optBlocks(cmd, args[1]), label: line.trim() } };
    case '/clear': case '/steering': case '/reset': case '/help': case '/quit':
      arity(0, 0, 'no arguments');
      return { kind: cmd.slice(1) as 'clear' };
    case '/exit':
      return { kind: 'quit' };
    default:
      throw usageError(`unknown command ${cmd} (/help lists them)`);
  }
}

export const chat: Command = {
  name: 'chat',
  summary: 'interactive chat; steering adjustable between turns (/add FILE 2, /clear, ...)',
  usage: `persona-steer chat --model M [options]

  Reads turns from stdin, one per line. Lines starting with / are commands:
${HELP.split('\n').map((l) => (l ? `  ${l}` : l)).join('\n')}
  --model, -m FILE          model GGUF
  --system TEXT             system prompt (chat format)
  --format chat|plain       chat: the model's chat template (default when it has one); plain: the
                            conversation is one text that the model continues (models without a template)
  Sampling, per reply (as in generate):
${SAMPLING_USAGE}  Steering at the start (as in generate; the commands above change it):
${STEER_USAGE}  Conditions, checked on every turn's whole prompt (as in generate):
${CONDITION_USAGE}${MODEL_USAGE}  --json                    one JSON object per line: { type: "reply", user, text, tokens, stopReason, steering, positions,
                            condition?, logprobs? }, { type: "steering", steering, positions }, { type: "reset" },
                            { type: "error", code, message }

  Ctrl-C (or SIGINT) during a reply stops the reply and the chat goes on; a second Ctrl-C, or one
  while no reply is running, ends the chat with exit status 130.
`,
  async run(argv, { signal }) {
    const { values } = parse('chat', argv, {
      ...MODEL_FLAGS, ...COMMON_FLAGS, ...STEER_FLAGS, ...POSITIONS_FLAG, ...CONDITION_FLAGS, ...SAMPLING_FLAGS,
      system: { type: 'string' }, format: { type: 'string' },
    });
    const json = bool(values, 'json');
    const system = str(values, 'system');
    const sampling = samplingOptions(values);
    let specs = steerSpecs(values);
    let positions = positionsFlag(values);
    const cond = conditionSpecs(values);
    const requested = choice(values, 'format', ['chat', 'plain'] as const);
    // A second sequence lets condition checks run without evicting the conversation's cells.
    const s = await openModel(values, undefined, cond.specs.length > 0 ? 2 : 1);
    try {
      const hasTemplate = !!s.model.info.chatTemplate;
      if (requested === 'chat' && !hasTemplate) throw new PersonaSteerError(ErrorCodes.CHAT_TEMPLATE, '--format chat: the model has no chat template; use --format plain');
      const format = requested ?? (hasTemplate ? 'chat' : 'plain');
      if (format === 'plain' && system !== undefined) throw usageError('--system needs the chat format');
      if (!requested && !hasTemplate && !json) warn('the model has no chat template: plain mode, the model continues the conversation text');
      const cache: VectorCache = new Map();
      let built: BuiltPlan = { plan: null, positions: 'all', steering: [] };
      const apply = async (next: SteerSpec[], nextPositions: SteerPositions | undefined) => {
        built = await buildPlan(next, s.model, nextPositions, cache);
        specs = next;
        positions = nextPositions;
      };
      await apply(specs, positions);
      const conditions = await buildConditions(cond.specs, s.model, cache);
      // One sequence for the conversation: each turn evaluates only what follows the history it holds
      // (and all of it again when the plan changes). Condition checks run on a second sequence.
      const conversation = s.context.createSequence();
      let messages: ChatMessage[] = system !== undefined ? [{ role: 'system', content: system }] : [];
      let transcript = '';
      const interactive = process.stdin.isTTY === true && !json;
      // In a terminal readline echoes what is typed and shows the prompt: it needs the output stream.
      const rl = readline.createInterface({ input: process.stdin, output: interactive ? process.stdout : undefined, terminal: interactive });
      // Ctrl-C: main.ts aborts `signal` on the first SIGINT and exits with 130 on the second. The
      // first stops the reply in progress, if any, and the chat goes on; otherwise it ends the chat.
      // In a terminal readline reads Ctrl-C as a key (raw mode): it becomes the same SIGINT.
      let reply: AbortController | null = null;
      let interrupted = false;
      const onInterrupt = () => {
        if (reply) {
          reply.abort();
          if (interactive) process.stderr.write('\n(reply stopped; Ctrl-C again to quit)\n');
          return;
        }
        interrupted = true;
        rl.close();
      };
      signal.addEventListener('abort', onInterrupt, { once: true });
      rl.on('SIGINT', () => process.kill(process.pid, 'SIGINT'));
      const say = (text: string) => { if (!json) process.stdout.write(text); };
      const showSteering = () => {
        if (json) printJson({ type: 'steering', steering: built.steering, positions: built.positions });
        else say(`steering: ${specs.length > 0 ? `${built.steering.join('; ')} (positions ${built.positions})` : 'none'}\n`);
      };
      if (interactive) { say('type /help for commands\n'); rl.setPrompt('> '); rl.prompt(); }
      for await (const raw of rl) {
        if (interrupted) break;
        const line = raw.trim();
        if (line === '') { if (interactive) rl.prompt(); continue; }
        try {
          if (line.startsWith('/')) {
            const c = parseChatCommand(line);
            if (c.kind === 'quit') break;
            if (c.kind === 'help') say(HELP);
            else if (c.kind === 'reset') {
              messages = system !== undefined ? [{ role: 'system', content: system }] : [];
              transcript = '';
              if (json) printJson({ type: 'reset' }); else say('conversation cleared\n');
            } else if (c.kind === 'steering') showSteering();
            else if (c.kind === 'clear') {
              await apply([], positions);
              showSteering();
            } else if (c.kind === 'spec') {
              await apply([...specs, c.spec], positions);
              showSteering();
            } else if (c.kind === 'positions') {
              await apply(specs, c.positions);
              showSteering();
            }
          } else {
            let prompt: string | { messages: ChatMessage[] };
            if (format === 'chat') prompt = { messages: [...messages, { role: 'user', content: line }] };
            else prompt = transcript === '' ? line : `${transcript}\n${line}`;
            // One controller per turn: Ctrl-C stops this turn (its condition check or its reply) only.
            reply = new AbortController();
            let r;
            let check: Awaited<ReturnType<typeof checkPrompt>> | null = null;
            try {
              check = conditions.length > 0 && built.plan ? await checkPrompt(s.context, prompt, cond.specs, conditions, cond.mode, reply.signal) : null;
              if (check && !json) process.stderr.write(`${describeCheck(cond.specs, check)}\n`);
              const stream = conversation.generate(prompt, { ...sampling, steer: check && !check.matched ? null : built.plan, signal: reply.signal });
              if (!json) for await (const ev of stream) say(ev.text);
              r = await stream.result;
            } finally {
              reply = null;
            }
            say('\n');
            if (format === 'chat') messages = [...messages, { role: 'user', content: line }, { role: 'assistant', content: r.text }];
            else transcript = `${prompt as string}${r.text}`;
            if (json) {
              printJson({ type: 'reply', user: line, text: r.text, tokens: r.tokens, stopReason: r.stopReason, cachedTokens: r.cachedTokens,
                promptTokens: r.promptTokens, steering: built.steering, positions: built.positions, ...(check ? { condition: check } : {}),
                ...logprobsJson(r) });
            }
          }
        } catch (e) {
          // A bad command or file must not end the conversation.
          if (!(e instanceof PersonaSteerError)) throw e;
          const message = cliWording(e.message, activeFlags);
          process.stderr.write(`persona-steer chat: ${e.code}: ${message.replace(/\s*\n\s*/g, ' ')}\n`);
          if (json) printJson({ type: 'error', code: e.code, message });
        }
        if (interactive && !interrupted) rl.prompt();
      }
      rl.close();
      signal.removeEventListener('abort', onInterrupt);
      return interrupted ? 130 : 0;
    } finally {
      await s.close();
    }
  },
};
