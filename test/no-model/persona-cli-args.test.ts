import t from 'tap';
import { ErrorCodes } from '../../lib/errors';
import { parse, parseBlocks, parseNumberText } from '../../lib/cli/args';
import { parseAblate, parseAdd, parseCap, parseClamp } from '../../lib/cli/steer-flags';
import { parseCondition } from '../../lib/cli/condition-flags';
import { readQuestions } from '../../lib/cli/files';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseChatCommand } from '../../lib/cli/chat';
import { barChart, heatMap, lineChart } from '../../lib/cli/svg';
import { exitStatus } from '../../lib/cli/main';
import { PersonaSteerError } from '../../lib/errors';

const bad = { code: ErrorCodes.INVALID_ARG };

t.test('block lists accept single blocks, ranges, lists and all', async (t) => {
  t.same(parseBlocks('b', '3'), [3]);
  t.same(parseBlocks('b', '2-4'), [2, 3, 4]);
  t.same(parseBlocks('b', '5,1,3'), [1, 3, 5]);
  t.same(parseBlocks('b', '1,3-5,4'), [1, 3, 4, 5]);
  t.equal(parseBlocks('b', 'all'), 'all');
  for (const s of ['', '4-2', 'a', '1,,2', '-1', '1.5', '1-']) t.throws(() => parseBlocks('--blocks', s), bad, JSON.stringify(s));
});

t.test('--add is FILE[:SCALE][@BLOCKS], the file alone meaning its recorded coefficient and blocks', async (t) => {
  t.same(parseAdd('v.gguf'), { kind: 'add', file: 'v.gguf', blocks: undefined, label: '--add v.gguf' });
  t.same(parseAdd('v.gguf:-2.5'), { kind: 'add', file: 'v.gguf', scale: -2.5, blocks: undefined, label: '--add v.gguf:-2.5' });
  t.same(parseAdd('v.gguf:0.5@2-3'), { kind: 'add', file: 'v.gguf', scale: 0.5, blocks: [2, 3], label: '--add v.gguf:0.5@2-3' });
  t.same(parseAdd('dir/v.gguf@all'), { kind: 'add', file: 'dir/v.gguf', blocks: 'all', label: '--add dir/v.gguf@all' });
  t.same(parseAdd('me@home/v.gguf'), { kind: 'add', file: 'me@home/v.gguf', blocks: undefined, label: '--add me@home/v.gguf' }, 'an @ that is not followed by blocks belongs to the file');
  t.same(parseAdd('C:/v.gguf'), { kind: 'add', file: 'C:/v.gguf', blocks: undefined, label: '--add C:/v.gguf' }, "a Windows drive's colon belongs to the file");
  t.same(parseAdd('C:\\d\\v.gguf:2'), { kind: 'add', file: 'C:\\d\\v.gguf', scale: 2, blocks: undefined, label: '--add C:\\d\\v.gguf:2' });
  t.throws(() => parseAdd('v.gguf:1e'), /--add v\.gguf:1e \(the scale after :\) must be a finite number; received "1e"/);
  t.throws(() => parseAdd('f.gguf:abc'), /^--add f\.gguf:abc \(the scale after :\) must be a finite number; received "abc"$/, 'text after the last colon is a scale, never part of the file name');
  t.throws(() => parseAdd('f.gguf:'), /the scale after :\) must be a finite number; received ""/);
  t.throws(() => parseAdd('v.gguf@4-2'), /blocks after @/, 'a malformed block list after @ is an error');
  t.equal(parseAdd('v.gguf@1-x').file, 'v.gguf@1-x', 'text after @ that is no block list stays in the file name');
});

t.test('--cap is a file whose recorded thresholds are used', async (t) => {
  t.same(parseCap('v.gguf'), { kind: 'cap', file: 'v.gguf', label: '--cap v.gguf' });
  t.throws(() => parseCap(''), bad);
});

t.test('--if-above and --if-below are FILE[@BLOCK][:THRESHOLD]', async (t) => {
  t.same(parseCondition('above', 'c.gguf'), { when: 'above', file: 'c.gguf' });
  t.same(parseCondition('above', 'c.gguf@3'), { when: 'above', file: 'c.gguf', block: 3 });
  t.same(parseCondition('below', 'c.gguf:-2.5'), { when: 'below', file: 'c.gguf', threshold: -2.5 });
  t.same(parseCondition('above', 'dir/c.gguf@2:0.75'), { when: 'above', file: 'dir/c.gguf', block: 2, threshold: 0.75 });
  t.same(parseCondition('above', 'C:/c.gguf'), { when: 'above', file: 'C:/c.gguf' }, 'a colon not followed by a number belongs to the file');
  t.throws(() => parseCondition('above', 'c.gguf:1e'), /--if-above c\.gguf:1e \(the threshold after :\) must be a finite number/);
  t.throws(() => parseCondition('below', ''), bad);
});

t.test('a questions file is plain lines, JSON lines or a JSON array, of strings or { user, system }', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'questions-'));
  const file = (name: string, text: string) => { const f = join(dir, name); writeFileSync(f, text); return f; };
  t.same(readQuestions(file('a.txt', 'Is snow white?\n\nIs coal black?\r\n')), [{ user: 'Is snow white?' }, { user: 'Is coal black?' }]);
  t.same(readQuestions(file('b.jsonl', '"one"\n{"user":"two","system":"You are terse."}\n')), [{ user: 'one' }, { user: 'two', system: 'You are terse.' }]);
  t.same(readQuestions(file('c.json', '["x", "y"]')), [{ user: 'x' }, { user: 'y' }]);
  t.throws(() => readQuestions(file('d.json', '[""]')), { code: ErrorCodes.BAD_FILE, message: /entry 1 must be a non-empty string/ });
  t.throws(() => readQuestions(file('e.jsonl', '{"user":"x","extra":1}\n')), { code: ErrorCodes.BAD_FILE });
  t.throws(() => readQuestions(file('f.txt', '\n\n')), { code: ErrorCodes.BAD_FILE, message: /holds no question/ });
  t.throws(() => readQuestions(join(dir, 'missing.txt')), { code: ErrorCodes.BAD_FILE });
});

t.test('--clamp is FILE:MIN:MAX[@BLOCKS] with either bound optional', async (t) => {
  t.same(parseClamp('v.gguf:-1:2'), { kind: 'clamp', file: 'v.gguf', min: -1, max: 2, blocks: undefined, label: '--clamp v.gguf:-1:2' });
  t.same(parseClamp('v.gguf::2@3'), { kind: 'clamp', file: 'v.gguf', min: undefined, max: 2, blocks: [3], label: '--clamp v.gguf::2@3' });
  t.same(parseClamp('v.gguf:-1:'), { kind: 'clamp', file: 'v.gguf', min: -1, max: undefined, blocks: undefined, label: '--clamp v.gguf:-1:' });
  t.throws(() => parseClamp('v.gguf::'), /at least one of MIN and MAX/);
  t.throws(() => parseClamp('v.gguf:2'), /FILE:MIN:MAX/);
  t.throws(() => parseClamp('v.gguf:3:1'), /a number <= MAX \(1\)/);
  t.throws(() => parseClamp('v.gguf:x:1'), bad);
});

t.test('--ablate is FILE[@BLOCKS]', async (t) => {
  t.same(parseAblate('v.gguf@1,4'), { kind: 'ablate', file: 'v.gguf', blocks: [1, 4], label: '--ablate v.gguf@1,4' });
  t.same(parseAblate('v.gguf'), { kind: 'ablate', file: 'v.gguf', blocks: undefined, label: '--ablate v.gguf' });
});

t.test('numbers must be plain decimal numbers', async (t) => {
  t.equal(parseNumberText('x', '1e-3'), 0.001);
  t.equal(parseNumberText('x', '-.5'), -0.5);
  for (const s of ['', ' ', '0x10', 'Infinity', 'NaN', '1,5', '--1']) t.throws(() => parseNumberText('x', s), bad, JSON.stringify(s));
});

t.test('unknown flags and missing values are usage errors naming the command', async (t) => {
  t.throws(() => parse('generate', ['--nope'], { json: { type: 'boolean' } }), { code: ErrorCodes.INVALID_ARG, message: /Unknown option '--nope' \(see persona-steer generate --help\)/ });
  t.throws(() => parse('generate', ['--prompt'], { prompt: { type: 'string' } }), bad);
  t.throws(() => parse('generate', ['stray'], { prompt: { type: 'string' } }), bad);
  t.same(parse('inspect', ['a', 'b', '--json'], { json: { type: 'boolean' } }, 'some').positionals, ['a', 'b']);
});

t.test('a negative number after a flag is its value, not another flag', async (t) => {
  const flags = { coefficient: { type: 'string' as const }, prompt: { type: 'string' as const, short: 'p' }, json: { type: 'boolean' as const } };
  t.same(parse('extract', ['--coefficient', '-2.5', '-p', '-1 apples', '--json'], flags).values, { coefficient: '-2.5', prompt: '-1 apples', json: true });
  t.same(parse('extract', ['--coefficient', '-.5'], flags).values, { coefficient: '-.5' });
  t.throws(() => parse('extract', ['--coefficient', '--json'], flags), /ambiguous/, 'a flag is still not a value');
});

t.test('chat commands parse into steering changes', async (t) => {
  t.same(parseChatCommand('/add v.gguf'), { kind: 'spec', spec: { kind: 'add', file: 'v.gguf', blocks: undefined, label: '/add v.gguf' } }, 'the recorded coefficient and blocks');
  t.same(parseChatCommand('/add v.gguf:0.5@3'), { kind: 'spec', spec: { kind: 'add', file: 'v.gguf', scale: 0.5, blocks: [3], label: '/add v.gguf:0.5@3' } });
  t.same(parseChatCommand('/cap v.gguf'), { kind: 'spec', spec: { kind: 'cap', file: 'v.gguf', label: '/cap v.gguf' } }, 'the recorded thresholds');
  t.same(parseChatCommand('/positions prompt'), { kind: 'positions', positions: 'prompt' });
  t.same(parseChatCommand('/positions auto'), { kind: 'positions', positions: undefined });
  t.throws(() => parseChatCommand('/positions some'), /\/positions takes one of all, prompt, generated or auto/);
  t.same(parseChatCommand('/add v.gguf 2'), { kind: 'spec', spec: { kind: 'add', file: 'v.gguf', scale: 2, blocks: undefined, label: '/add v.gguf 2' } });
  t.same(parseChatCommand('/add v.gguf -1 2-3'), { kind: 'spec', spec: { kind: 'add', file: 'v.gguf', scale: -1, blocks: [2, 3], label: '/add v.gguf -1 2-3' } });
  t.same(parseChatCommand('/cap v.gguf 0.5'), { kind: 'spec', spec: { kind: 'clamp', file: 'v.gguf', max: 0.5, blocks: undefined, label: '/cap v.gguf 0.5' } });
  t.same(parseChatCommand('/clamp v.gguf - 1 4'), { kind: 'spec', spec: { kind: 'clamp', file: 'v.gguf', min: undefined, max: 1, blocks: [4], label: '/clamp v.gguf - 1 4' } });
  t.same(parseChatCommand('/ablate v.gguf all'), { kind: 'spec', spec: { kind: 'ablate', file: 'v.gguf', blocks: 'all', label: '/ablate v.gguf all' } });
  t.same(parseChatCommand(' /clear '), { kind: 'clear' });
  t.throws(() => parseChatCommand('/add'), /\/add takes FILE\[:SCALE\]\[@BLOCKS\], or FILE SCALE \[BLOCKS\]/);
  t.throws(() => parseChatCommand('/clear now'), bad);
  t.throws(() => parseChatCommand('/clamp v.gguf - -'), /needs MIN, MAX or both/);
  t.throws(() => parseChatCommand('/jump'), /unknown command \/jump/);
});

t.test('exit status: 2 for bad arguments, 130 for an abort, 1 for other library errors, 70 for bugs', async (t) => {
  t.equal(exitStatus(new PersonaSteerError(ErrorCodes.INVALID_ARG, 'x')), 2);
  t.equal(exitStatus(new PersonaSteerError(ErrorCodes.ABORTED, 'x')), 130);
  t.equal(exitStatus(new PersonaSteerError(ErrorCodes.BAD_FILE, 'x')), 1);
  t.equal(exitStatus(new TypeError('x')), 70);
});

t.test('the bar chart draws one bar per finite value with heights proportional to the values', async (t) => {
  const svg = barChart({ title: 'a <b> & "c"', xLabel: 'block', yLabel: 'sep', labels: ['0', '1', '2', '3'], values: [1, 3, Number.NaN, 2] });
  t.match(svg, /^<\?xml[^>]*>\n<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg"/);
  t.match(svg, /a &lt;b&gt; &amp; &quot;c&quot;/, 'text is escaped');
  const heights = [...svg.matchAll(/<rect x="[^"]+" y="[^"]+" width="[^"]+" height="([^"]+)"/g)].map((m) => Number(m[1]));
  t.equal(heights.length, 3, 'the NaN bar is left out');
  t.ok(Math.abs(heights[1] / heights[0] - 3) < 0.02 && Math.abs(heights[2] / heights[0] - 2) < 0.02, `heights ${heights}`);
  t.equal((svg.match(/<svg/g) ?? []).length, (svg.match(/<\/svg>/g) ?? []).length);
});

t.test('the line chart draws one polyline per series with one point per finite value', async (t) => {
  const svg = lineChart({ title: 't', xLabel: 'x', yLabel: 'y', series: [{ name: 'a@1', values: [0, 1, 2, 3] }, { name: 'b@2', values: [1, Number.NaN, -1] }] });
  const lines = [...svg.matchAll(/<polyline[^>]* points="([^"]*)"/g)].map((m) => m[1].split(' ').length);
  t.same(lines, [4, 2]);
  t.match(svg, />a@1</);
});

t.test('the heat map draws one cell per value, grey for null, and outlines the marked cell', async (t) => {
  const svg = heatMap({ title: 'sweep', xLabel: 'c', yLabel: 'b', rowLabels: ['prompt @1', 'prompt @2'], colLabels: ['0.5', '1', '2'],
    values: [[0, 0.5, null], [1, 0.25, 0.75]], mark: { row: 1, col: 0 } });
  const cells = [...svg.matchAll(/<rect x="[^"]+" y="[^"]+" width="[^"]+" height="[^"]+" fill="([^"]+)" stroke="white">/g)].map((m) => m[1]);
  t.equal(cells.length, 6, 'rows x columns');
  t.equal(cells[2], '#d0d0d0', 'the null cell is grey');
  t.equal(cells[0], 'rgb(255,255,255)', 'a score of 0 is white');
  t.equal(cells[3], 'rgb(31,119,180)', 'a score of 1 is the full colour');
  t.equal((svg.match(/stroke-width="3"/g) ?? []).length, 1, 'one marked cell');
  t.match(svg, /<title>prompt @2, 0\.5: 1<\/title>/);
  t.equal((svg.match(/<svg/g) ?? []).length, (svg.match(/<\/svg>/g) ?? []).length);
});
