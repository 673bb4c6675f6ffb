// The README's main-job command on the committed toy model, as a user runs it.
import t from 'tap';
import { json, requireBuiltCli, runCli } from '../helpers/cli';

interface DemoRow { condition: string; system: string; question: string; answer: string; pole: string | null; projection: number }
interface Demo { trait: string; blocks: number[]; coefficient: number; positions: string; capBlocks: number[]; capThreshold: number; monitorBlock: number; rows: DemoRow[] }

t.before(() => requireBuiltCli());

t.test('demo --json answers each question five ways, and the capped answers stay at or below the threshold with the trait gone', async (t) => {
  const r = runCli(['demo', '--json', '--questions', '2']);
  t.equal(r.status, 0, r.stderr);
  const d = json<Demo>(r);
  t.equal(d.trait, 'pirate');
  t.equal(d.rows.length, 10);
  const by = (prefix: string) => d.rows.filter((x) => x.condition.startsWith(prefix));
  t.same(by('+').map((x) => x.pole), ['pirate', 'pirate'], 'adding the vector gives pirate answers');
  t.same(by('-').map((x) => x.pole), ['plain', 'plain'], 'subtracting it gives plain answers');
  t.same(by('"You are a pirate assistant." uncapped').map((x) => x.pole), ['pirate', 'pirate']);
  const capped = by('"You are a pirate assistant." capped');
  t.same(capped.map((x) => x.pole), ['plain', 'plain'], 'capping removes the pushed trait');
  // The monitor reads after the cap: a capped prompt's last token never projects above the threshold
  // (caps at earlier blocks may already have pulled it below), while the uncapped one is above it.
  for (const x of capped) t.ok(x.projection <= d.capThreshold + 1e-3, `projection ${x.projection} vs threshold ${d.capThreshold}`);
  for (const x of by('"You are a pirate assistant." uncapped')) t.ok(x.projection > d.capThreshold, `uncapped projection ${x.projection} above ${d.capThreshold}`);
  t.equal(d.positions, 'prompt', 'the recorded recommendation acts at the prompt');
  t.equal(d.monitorBlock, d.capBlocks[d.capBlocks.length - 1], 'the monitor reads the last capped block');
  // The questions shown are picked so that the unsteered answers show both poles: adding the
  // vector then changes the first answer and subtracting it the second, as the scorer reads them.
  t.same(by('neutral').map((x) => x.pole), ['plain', 'pirate'], 'one plain and one pirate answer unsteered, plain first');
  const question = (x: DemoRow) => x.question;
  t.same(by('+').map(question), by('neutral').map(question), 'every condition answers the same questions');
  t.not(by('+')[0].answer, by('neutral')[0].answer, 'adding changes the plain answer');
  t.not(by('-')[1].answer, by('neutral')[1].answer, 'subtracting changes the pirate answer');
});
