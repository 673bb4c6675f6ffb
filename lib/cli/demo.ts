// persona-steer demo: the main job on the project's own toy chat model, with no download.
// Extracts a trait's persona vector, then answers the same held-out questions four ways: the
// neutral assistant, with the vector added, subtracted, and with the trait capped while the
// system prompt pushes it, printing the monitored projection of each answer.
import { ErrorCodes, PersonaSteerError } from '../errors';
import { Model, type Context } from '../index';
import { calibrateCap, withCapThresholds } from '../persona/calibrate';
import { extractPersonaVector } from '../persona/extract';
import { cap, personaPlan, steerAdd } from '../persona/steer';
import type { SteerOp, SteeringPlan } from '../steering';
import { DEFAULT_TOY_MODEL } from '../toy/model-path';
import { toySpec } from '../toy/spec';
import { evalQuestions } from '../toy/questions';
import { scoreAnswer } from '../toy/scorer';
import { NEUTRAL_SYSTEM_PROMPT, SYSTEM_PROMPTS, TRAIT_NAMES, TRAIT_POLES, type TraitName } from '../toy/traits';
import { choice, int, parse, str } from './args';
import type { Command } from './command';
import { printJson } from './common';

const FLAGS = {
  trait: { type: 'string' },
  model: { type: 'string' },
  questions: { type: 'string' },
  threads: { type: 'string' },
  json: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

/** The demo's one monitored direction (the vector at the last capped block). */
type DemoMonitor = { name: string; vector: never | unknown; blocks: number[] }[];

interface Row { condition: string; system: string; question: string; answer: string; pole: string | null; projection: number }

export const demo: Command = {
  name: 'demo',
  summary: 'the main job on the built-in toy chat model: extract, add, subtract, cap, monitor',
  usage: `persona-steer demo [--trait cheerful|sycophantic|pirate] [--questions N] [--model FILE] [--threads N] [--json]

  The recipe with every setting at its default, on the toy model (models/toy-persona.gguf, the
  project's own model): extracts the trait's persona vector from its two contrastive system
  prompts and 12 training questions (examples/traits/), where a steering sweep picks the blocks,
  coefficient and positions; calibrates a cap on neutral prompts; then answers held-out questions
  as: the neutral assistant; +vector; -vector; and with the trait capped while the system prompt
  pushes it. Each answer shows the pole the scorer sees and the projection on the vector at the
  prompt's last token, where the model settles its persona (monitored in-graph).

  --trait T                 cheerful, sycophantic or pirate (default pirate)
  --questions N             held-out questions to answer (default 3)
  --model FILE              the toy model (default: the package's models/toy-persona.gguf)
  --threads N               CPU threads, 1 or more (default 1: fastest for a model this small)
  --json                    print { trait, blocks, coefficient, positions, capBlocks, capThreshold, monitorBlock,
                            seconds, rows: [{ condition, system, question, answer, pole, projection }] }
`,
  async run(argv) {
    const { values } = parse('demo', argv, FLAGS);
    if (values.help) {
      process.stdout.write(this.usage);
      return 0;
    }
    const trait = (choice(values, 'trait', TRAIT_NAMES) ?? 'pirate') as TraitName;
    const nq = int(values, 'questions', 1, 100) ?? 3;
    const threads = int(values, 'threads', 1, 256) ?? 1;
    const file = str(values, 'model') ?? DEFAULT_TOY_MODEL;
    const json = values.json === true;
    const say = (s: string) => { if (!json) process.stdout.write(`${s}\n`); };

    const t0 = Date.now();
    const model = await Model.load(file).catch((e: PersonaSteerError) => {
      throw new PersonaSteerError(ErrorCodes.MODEL_LOAD, `the toy model could not be loaded from ${file}: ${e.message}`);
    });
    const ctx = await model.createContext({ contextSize: 512, threads });
    try {
      const [pos, neg] = TRAIT_POLES[trait];
      const spec = toySpec(trait);
      say(`Extracting the "${trait}" vector (${pos} vs ${neg}) from the toy model's system prompts, with a steering sweep...`);
      const { vector: extracted, recommendation } = await extractPersonaVector(ctx, spec);
      if (recommendation.coefficient === undefined) {
        throw new PersonaSteerError(ErrorCodes.EXTRACTION, `the steering sweep found no working setting for ${trait}: ${recommendation.reason}`);
      }
      const { blocks, coefficient, positions } = recommendation;
      say(`  recorded: blocks ${blocks.join(', ')}, coefficient ${coefficient}, positions ${positions} (from the sweep)`);
      const calibration = await calibrateCap(ctx, extracted, spec.extractionQuestions.map((q) => ({ messages: [{ role: 'user', content: q }] })));
      const vector = withCapThresholds(extracted, calibration);
      say(`  cap: blocks ${calibration.blocks.join(', ')} at the neutral prompts' mean projection, at ${calibration.positions} positions\n`);

      // The monitor reads the last capped block, where the threshold printed below applies.
      const monitorBlock = calibration.blocks[calibration.blocks.length - 1]!;
      const monitor = [{ name: trait, vector, blocks: [monitorBlock] }];
      const neutral = await neutralAnswers(ctx, trait, nq, monitor);
      const questions = neutral.map((r) => r.question);
      const pushing = (SYSTEM_PROMPTS[trait] as Record<string, string>)[pos]!;
      const rows: Row[] = neutral.map((r) => ({ condition: 'neutral', system: NEUTRAL_SYSTEM_PROMPT, ...r }));
      const ask = async (condition: string, system: string, steer: SteerOp[] | SteeringPlan | null) => {
        for (const question of questions) {
          const r = await answer(ctx, system, question, steer, monitor);
          rows.push({ condition, system, question, ...r, pole: scoreAnswer(r.answer, question)[trait] });
        }
      };
      await ask(`+${coefficient}·v`, NEUTRAL_SYSTEM_PROMPT, personaPlan([steerAdd(vector)]));
      await ask(`-${coefficient}·v`, NEUTRAL_SYSTEM_PROMPT, personaPlan([steerAdd(vector, -coefficient)]));
      const tau = calibration.thresholds[calibration.thresholds.length - 1]!;
      await ask(`"${pushing}" uncapped`, pushing, null);
      await ask(`"${pushing}" capped at the neutral level (${tau.toFixed(2)} at block ${monitorBlock})`, pushing, personaPlan([cap(vector)]));

      if (json) {
        printJson({ trait, blocks, coefficient, positions, capBlocks: calibration.blocks, capThreshold: tau, monitorBlock, seconds: (Date.now() - t0) / 1000, rows });
      } else {
        for (const q of questions) {
          say(`Q: ${q}`);
          for (const r of rows.filter((x) => x.question === q)) {
            say(`  [${r.condition}] projection ${r.projection.toFixed(2)}, ${r.pole ?? 'unclear'}`);
            say(`    ${r.answer.trim()}`);
          }
          say('');
        }
        say(`Projection: h·v̂ at block ${monitorBlock}, at the prompt's last token. ${((Date.now() - t0) / 1000).toFixed(1)} s in all.`);
      }
      return 0;
    } finally {
      await ctx.dispose();
      model.dispose();
    }
  },
};

/**
 * The held-out questions to show, with their neutral answers: alternately one the neutral assistant
 * answers at the trait's negative pole (adding the vector visibly changes it) and one at the
 * positive pole (subtracting does), in the questions' order, scanning at most 24 (the first few
 * can all lean one way); then any others in order.
 */
async function neutralAnswers(ctx: Context, trait: TraitName, count: number, monitor: DemoMonitor) {
  const [pos, neg] = TRAIT_POLES[trait];
  type Neutral = { question: string; answer: string; projection: number; pole: string | null };
  const byPole: Neutral[][] = [[], [], []]; // negative, positive, unclear
  const enough = () => byPole[0].length >= Math.ceil(count / 2) && byPole[1].length >= Math.floor(count / 2);
  for (const q of evalQuestions().slice(0, Math.max(count, 24))) {
    const r = await answer(ctx, NEUTRAL_SYSTEM_PROMPT, q.question, null, monitor);
    const pole = scoreAnswer(r.answer, q.question)[trait];
    byPole[pole === neg ? 0 : pole === pos ? 1 : 2].push({ question: q.question, ...r, pole });
    if (enough()) break;
  }
  const out: Neutral[] = [];
  for (let i = 0; out.length < count && byPole.some((l) => l.length > 0); i++) {
    const want = i % 2;
    out.push((byPole[want].shift() ?? byPole[1 - want].shift() ?? byPole[2].shift())!);
  }
  return out;
}

async function answer(ctx: Context, system: string, question: string, steer: SteerOp[] | SteeringPlan | null, monitor: DemoMonitor) {
  const r = await ctx.complete({ messages: [{ role: 'system', content: system }, { role: 'user', content: question }] },
    { greedy: true, maxTokens: 96, steer, monitor: monitor as never });
  return { answer: r.text, projection: r.lastPromptProjections[0]?.value ?? Number.NaN };
}
