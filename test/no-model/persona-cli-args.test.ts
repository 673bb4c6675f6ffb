import t from 'tap';
import { ErrorCodes } from '../../lib/errors';
import { parse, parseBlocks, parseNumberText } from '../../lib/cli/args';
import { parseAblate, parseAdd, parseClamp } from '../../lib/cli/steer-flags';
import { parseChatCommand } from '../../lib/cli/chat';
import { barChart, lineChart } from '../../lib/cli/svg';
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

t.test('--add is FILE[:SCALE][@BLOCKS]', async (t) => {
  t.same(parseAdd('v.gguf'), { kind: 'add', file: 'v.gguf', scale: 1, blocks: undefined });
  t.same(parseAdd('v.gguf:-2.5'), { kind: 'add', file: 'v.gguf', scale: -2.5, blocks: undefined });
  t.same(parseAdd('v.gguf:0.5@2-3'), { kind: 'add', file: 'v.gguf', scale: 0.5, blocks: [2, 3] });
  t.same(parseAdd('dir/v.gguf@all'), { kind: 'add', file: 'dir/v.gguf', scale: 1, blocks: 'all' });
  t.same(parseAdd('me@home/v.gguf'), { kind: 'add', file: 'me@home/v.gguf', scale: 1, blocks: undefined }, 'an @ that is not followed by blocks belongs to the file');
  t.same(parseAdd('C:/v.gguf'), { kind: 'add', file: 'C:/v.gguf', scale: 1, blocks: undefined }, 'a colon not followed by a number belongs to the file');
  t.throws(() => parseAdd('v.gguf:1e'), /--add v\.gguf:1e \(the scale after :\) must be a finite number; received "1e"/);
  t.throws(() => parseAdd('v.gguf@4-2'), /blocks after @/, 'a malformed block list after @ is an error');
  t.equal(parseAdd('v.gguf@1-x').file, 'v.gguf@1-x', 'text after @ that is no block list stays in the file name');
});

t.test('--clamp is FILE:MIN:MAX[@BLOCKS] with either bound optional', async (t) => {
  t.same(parseClamp('v.gguf:-1:2'), { kind: 'clamp', file: 'v.gguf', min: -1, max: 2, blocks: undefined });
  t.same(parseClamp('v.gguf::2@3'), { kind: 'clamp', file: 'v.gguf', min: undefined, max: 2, blocks: [3] });
  t.same(parseClamp('v.gguf:-1:'), { kind: 'clamp', file: 'v.gguf', min: -1, max: undefined, blocks: undefined });
  t.throws(() => parseClamp('v.gguf::'), /at least one of MIN and MAX/);
  t.throws(() => parseClamp('v.gguf:2'), /FILE:MIN:MAX/);
  t.throws(() => parseClamp('v.gguf:3:1'), /a number <= MAX \(1\)/);
  t.throws(() => parseClamp('v.gguf:x:1'), bad);
});

t.test('--ablate is FILE[@BLOCKS]', async (t) => {
  t.same(parseAblate('v.gguf@1,4'), { kind: 'ablate', file: 'v.gguf', blocks: [1, 4] });
  t.same(parseAblate('v.gguf'), { kind: 'ablate', file: 'v.gguf', blocks: undefined });
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
  t.same(parseChatCommand('/add v.gguf 2'), { kind: 'spec', spec: { kind: 'add', file: 'v.gguf', scale: 2, blocks: undefined } });
  t.same(parseChatCommand('/add v.gguf -1 2-3'), { kind: 'spec', spec: { kind: 'add', file: 'v.gguf', scale: -1, blocks: [2, 3] } });
  t.same(parseChatCommand('/cap v.gguf 0.5'), { kind: 'spec', spec: { kind: 'clamp', file: 'v.gguf', max: 0.5, blocks: undefined } });
  t.same(parseChatCommand('/clamp v.gguf - 1 4'), { kind: 'spec', spec: { kind: 'clamp', file: 'v.gguf', min: undefined, max: 1, blocks: [4] } });
  t.same(parseChatCommand('/ablate v.gguf all'), { kind: 'spec', spec: { kind: 'ablate', file: 'v.gguf', blocks: 'all' } });
  t.same(parseChatCommand(' /clear '), { kind: 'clear' });
  t.throws(() => parseChatCommand('/add'), /\/add takes FILE \[SCALE\] \[BLOCKS\]/);
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
