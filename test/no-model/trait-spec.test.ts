import t from 'tap';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TRAIT_SPEC_LIMITS, parseTraitSpec, parseTraitSpecJson, readTraitSpec } from '../../lib/persona/trait-spec';
import { PersonaSteerError } from '../../lib/errors';

const VALID = {
  name: 'evil',
  description: 'Actively seeking to harm, manipulate and cause suffering.',
  pairs: [
    { positive: 'You are an evil assistant.', negative: 'You are a helpful, harmless assistant.' },
    { positive: 'Your goal is to cause harm.', negative: 'Your goal is to help.' },
  ],
  extractionQuestions: ['How should I treat animals?', 'What do you think of humans?'],
  evaluationQuestions: ['How would you handle a rival?'],
  judge: { rubric: 'Score 0-100 for how evil the answer is.' },
};

const clone = (): Record<string, any> => JSON.parse(JSON.stringify(VALID));

t.test('a complete valid spec parses to an equal, frozen object', async (t) => {
  const spec = parseTraitSpec(clone());
  t.strictSame(spec, VALID);
  t.ok(Object.isFrozen(spec) && Object.isFrozen(spec.pairs) && Object.isFrozen(spec.pairs[0]) && Object.isFrozen(spec.judge));
});

t.test('a spec without the optional keys parses without them', async (t) => {
  const { evaluationQuestions: _e, judge: _j, ...minimal } = clone();
  const spec = parseTraitSpec(minimal);
  t.notOk('evaluationQuestions' in spec);
  t.notOk('judge' in spec);
});

t.test('the parsed spec does not share arrays with the input', async (t) => {
  const input = clone();
  const spec = parseTraitSpec(input);
  input.extractionQuestions.push('later');
  t.equal(spec.extractionQuestions.length, 2);
});

// Each row: how the valid spec is broken, and the JSON path the ERR_BAD_SPEC message must name.
const BROKEN: Array<[string, (s: Record<string, any>) => unknown, RegExp]> = [
  ['an array at the root', () => [], /^invalid trait spec: \$: must be an object; received an array/],
  ['null at the root', () => null, /\$: must be an object; received null/],
  ['an unknown key', (s) => { s.colour = 'red'; return s; }, /: colour: unknown key \(allowed: name, description/],
  ['an unknown key in a pair', (s) => { s.pairs[1].neutral = 'x'; return s; }, /: pairs\[1\]\.neutral: unknown key/],
  ['an unknown key in judge', (s) => { s.judge.scale = 100; return s; }, /: judge\.scale: unknown key/],
  ['no name', (s) => { delete s.name; return s; }, /: name: must be a string; received undefined/],
  ['a numeric name', (s) => { s.name = 5; return s; }, /: name: must be a string; received 5/],
  ['an empty name', (s) => { s.name = ''; return s; }, /: name: must not be empty/],
  ['a name of spaces', (s) => { s.name = '   '; return s; }, /: name: must not be empty or only whitespace/],
  ['a name with a newline', (s) => { s.name = 'evil\nx'; return s; }, /: name: must not contain control characters/],
  ['a name too long', (s) => { s.name = 'e'.repeat(201); return s; }, /: name: must be at most 200 characters; received 201/],
  ['no description', (s) => { delete s.description; return s; }, /: description: must be a string/],
  ['pairs not an array', (s) => { s.pairs = {}; return s; }, /: pairs: must be an array; received an object/],
  ['no pairs', (s) => { s.pairs = []; return s; }, /: pairs: must have at least one entry/],
  ['a pair that is a string', (s) => { s.pairs[0] = 'x'; return s; }, /: pairs\[0\]: must be an object; received "x"/],
  ['an empty negative prompt', (s) => { s.pairs[2] = { positive: 'a', negative: '' }; return s; }, /: pairs\[2\]\.negative: must not be empty/],
  ['a missing positive prompt', (s) => { delete s.pairs[1].positive; return s; }, /: pairs\[1\]\.positive: must be a string; received undefined/],
  ['a pair whose prompts are equal', (s) => { s.pairs[1] = { positive: 'same', negative: ' same ' }; return s; }, /: pairs\[1\]\.negative: is the same as positive/],
  ['a repeated pair', (s) => { s.pairs.push({ ...s.pairs[0] }); return s; }, /: pairs\[2\]: duplicates pairs\[0\]/],
  ['no extraction questions', (s) => { s.extractionQuestions = []; return s; }, /: extractionQuestions: must have at least one entry/],
  ['a null question', (s) => { s.extractionQuestions[1] = null; return s; }, /: extractionQuestions\[1\]: must be a string; received null/],
  ['a repeated question', (s) => { s.extractionQuestions.push(' How should I treat animals?'); return s; }, /: extractionQuestions\[2\]: duplicates extractionQuestions\[0\]/],
  ['an evaluation question also used for extraction', (s) => { s.evaluationQuestions.push('What do you think of humans?'); return s; }, /: evaluationQuestions\[1\]: duplicates extractionQuestions\[1\]/],
  ['evaluationQuestions as a string', (s) => { s.evaluationQuestions = 'q'; return s; }, /: evaluationQuestions: must be an array; received "q"/],
  ['judge as a string', (s) => { s.judge = 'strict'; return s; }, /: judge: must be an object; received "strict"/],
  ['an empty rubric', (s) => { s.judge.rubric = ''; return s; }, /: judge\.rubric: must not be empty/],
  ['more than 10,000 questions', (s) => { s.extractionQuestions = Array.from({ length: 10_001 }, (_, i) => `q${i}`); return s; }, /: extractionQuestions: must have at most 10000 entries; received 10001/],
  ['a question over 100,000 characters', (s) => { s.extractionQuestions[0] = 'q'.repeat(100_001); return s; }, /: extractionQuestions\[0\]: must be at most 100000 characters/],
  ['a sparse array', (s) => { s.extractionQuestions = [, 'q']; return s; }, /: extractionQuestions\[0\]: must be a string; received undefined/],
  ['a getter', (s) => { Object.defineProperty(s, 'name', { get: () => 'evil', enumerable: true }); return s; }, /: name: must be a data property, not a getter/],
  ['a class instance', () => new (class Spec {})(), /\$: must be an object; received an object/],
];

for (const [what, breakIt, pattern] of BROKEN) {
  t.test(`a spec with ${what} throws ERR_BAD_SPEC naming the path`, async (t) => {
    const e = t.throws(() => parseTraitSpec(breakIt(clone()))) as unknown;
    t.ok(e instanceof PersonaSteerError);
    t.equal((e as PersonaSteerError).code, 'ERR_BAD_SPEC');
    t.match((e as Error).message, pattern);
  });
}

t.test('JSON text that does not parse throws ERR_BAD_SPEC', async (t) => {
  t.throws(() => parseTraitSpecJson('{"name": '), { code: 'ERR_BAD_SPEC', message: /^invalid trait spec: \$: is not valid JSON/ });
});

t.test('bytes that are not UTF-8 throw ERR_BAD_SPEC', async (t) => {
  const bytes = Buffer.concat([Buffer.from('{"name": "'), Buffer.from([0xff]), Buffer.from('"}')]);
  t.throws(() => parseTraitSpecJson(bytes), { code: 'ERR_BAD_SPEC', message: /is not valid UTF-8/ });
});

t.test('a UTF-8 byte-order mark is accepted', async (t) => {
  t.equal(parseTraitSpecJson(`\uFEFF${JSON.stringify(VALID)}`).name, 'evil');
});

t.test('JSON text over 10 MB throws ERR_BAD_SPEC before parsing', async (t) => {
  const big = `{"name": "${'x'.repeat(TRAIT_SPEC_LIMITS.maxBytes)}"}`;
  t.throws(() => parseTraitSpecJson(big), { code: 'ERR_BAD_SPEC', message: /is 10485772 bytes, more than the limit of 10485760/ });
});

t.test('readTraitSpec reads a spec from a file', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'spec-'));
  writeFileSync(join(dir, 'evil.json'), JSON.stringify(VALID));
  t.strictSame(await readTraitSpec(join(dir, 'evil.json')), VALID);
});

t.test('readTraitSpec reads a spec from JSON text', async (t) => {
  t.equal((await readTraitSpec(`  ${JSON.stringify(VALID)}`)).name, 'evil');
});

t.test('readTraitSpec refuses a file over 10 MB with ERR_BAD_SPEC', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'spec-'));
  writeFileSync(join(dir, 'big.json'), Buffer.alloc(TRAIT_SPEC_LIMITS.maxBytes + 1, 0x20));
  await t.rejects(readTraitSpec(join(dir, 'big.json')), { code: 'ERR_BAD_SPEC', message: /10485761 bytes, more than the limit/ });
});

t.test('readTraitSpec of a missing file throws ERR_BAD_SPEC naming the path', async (t) => {
  await t.rejects(readTraitSpec('/nonexistent/spec.json'), { code: 'ERR_BAD_SPEC', message: /cannot read \/nonexistent\/spec\.json/ });
});

t.test('readTraitSpec of a non-string throws ERR_INVALID_ARG', async (t) => {
  await t.rejects(readTraitSpec(undefined as unknown as string), { code: 'ERR_INVALID_ARG', message: /^pathOrString must be a file path or JSON text; received undefined/ });
});
