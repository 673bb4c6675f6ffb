// The playground page (web/, served at / by persona-steer serve) in a real browser: Debian's
// Chromium driven by playwright-core, headless, against the server on the toy model. Each step is
// done as a person would (labels, keyboard) and compared with the server's own answer to the same
// request, sent here without the page (raw JSON), and with what the server lists.
import fs from 'node:fs';
import t from 'tap';
import type { Locator, Page } from 'playwright-core';
import type { PersonaServer } from '../../lib/server/index';
import { evalQuestions } from '../../lib/toy/questions';
import { scoreAnswer } from '../../lib/toy/scorer';
import { trainQuestions } from '../../lib/toy/spec';
import { NEUTRAL_SYSTEM_PROMPT, SYSTEM_PROMPTS } from '../../lib/toy/traits';
import { openBrowser, screenshot, type Browser } from '../helpers/browser';
import { json, raw, startTestServer } from '../helpers/server';

interface Proj { vector: string; block: number; value: number }
interface WireVector { name: string; origin: string; blocks: number[]; recommended_blocks: number[]; coefficient: number; positions: string; cap_positions: string; cap_blocks: number[]; cap_thresholds: number[] }
interface Completion { choices: { message: { content: string } }[]; persona?: { last_prompt: Proj[]; tokens: Proj[][] } }
type Message = { role: 'system' | 'user' | 'assistant'; content: string };

const MAX_TOKENS = 48;
const BLOCK = 3;

let server: PersonaServer;
let browser: Browser;
let page: Page;
let pirate: WireVector;
let question = '';
const questions = evalQuestions().map((q) => q.question);
let q2 = '';
let q3 = '';
/** The cap ops the slider step set (the compare step keeps them). */
let caps: { op: string; vector: string; max: number; blocks: number[] }[] = [];
const neutral = (q: string): Message[] => [{ role: 'system', content: NEUTRAL_SYSTEM_PROMPT }, { role: 'user', content: q }];

async function vectors(): Promise<WireVector[]> {
  return JSON.parse((await raw(server.url, { method: 'GET', path: '/v1/vectors' })).body).data;
}

/** The server's whole answer to a request, without the page. */
async function serverAnswer(messages: Message[], steering: unknown, sampling: Record<string, number> = { temperature: 0 }, extra: Record<string, unknown> = {}): Promise<Completion> {
  const r = await json(server.url, '/v1/chat/completions', {
    messages, max_tokens: MAX_TOKENS, ...sampling, steering, ...extra, monitor: [{ vector: 'pirate', blocks: 'all' }],
  });
  if (r.status !== 200) throw new Error(`oracle request failed: ${r.status} ${r.body}`);
  return JSON.parse(r.body);
}

const recordedAdd = () => [{ op: 'add', vector: 'pirate', scale: pirate.coefficient, blocks: pirate.recommended_blocks }];
const at = (list: Proj[] | undefined, block: number) => list?.find((p) => p.vector === 'pirate' && p.block === block)?.value;

/** Sends a message with the keyboard and waits until every answer of the new turn is done. */
async function ask(text: string): Promise<number> {
  const turns = await page.locator('.turn').count();
  const box = page.getByLabel('Message', { exact: true });
  await box.focus();
  await page.keyboard.type(text);
  await page.keyboard.press('Enter');
  const turn = page.locator('.turn').nth(turns);
  await turn.waitFor();
  await page.waitForFunction((n) => {
    const answers = document.querySelectorAll(`.turn:nth-child(${n}) .answer`);
    return answers.length > 0 && [...answers].every((a) => (a as HTMLElement).dataset.done === 'true');
  }, turns + 1, { timeout: 60_000 });
  return turns + 1;
}

const answerText = (turn: number, kind: string): Promise<string> =>
  page.locator(`.turn[data-turn="${turn}"] .answer[data-kind="${kind}"] .answer-text`).getAttribute('data-text').then((s) => s ?? '');

async function lastRequest(): Promise<Record<string, unknown> | Record<string, unknown>[]> {
  return JSON.parse((await page.locator('#last-request').textContent()) ?? 'null');
}

async function setNumber(label: string, value: string): Promise<void> {
  const f = page.getByLabel(label, { exact: true });
  await f.fill(value);
  await f.press('Tab');
}

async function pressTimes(l: Locator, key: string, n: number): Promise<void> {
  await l.focus();
  for (let i = 0; i < n; i++) await page.keyboard.press(key);
}

t.before(async () => {
  server = await startTestServer();
  pirate = (await vectors()).find((v) => v.name === 'pirate')!;
  // A held-out question whose greedy answer is plain unsteered and pirate with the recorded addition.
  for (const q of questions.slice(0, 40)) {
    const plain = await serverAnswer(neutral(q), false);
    if (scoreAnswer(plain.choices[0]!.message.content).pirate !== 'plain') continue;
    const steered = await serverAnswer(neutral(q), recordedAdd());
    if (scoreAnswer(steered.choices[0]!.message.content).pirate === 'pirate') {
      question = q;
      break;
    }
  }
  [q2, q3] = questions.filter((q) => q !== question);
  browser = await openBrowser({ width: 1280, height: 800 });
  page = browser.page;
});

t.teardown(async () => {
  await browser?.close();
  await server?.close();
});

t.test('the page loads from the server and lists the server\'s vectors', async (t) => {
  t.ok(question, 'a held-out question that the pirate addition flips');
  const r = await page.goto(`${server.url}/`);
  t.equal(r?.status(), 200);
  t.match(r?.headers()['content-security-policy'] ?? '', /default-src 'self'/, 'the page may load nothing from elsewhere');
  await page.locator('article.vector').first().waitFor();
  const shown = await page.locator('article.vector').evaluateAll((els) => els.map((e) => (e as HTMLElement).dataset.vector));
  t.same(shown, (await vectors()).map((v) => v.name));
  t.match(await page.locator('.top .model').textContent(), /toy-persona/);
});

t.test('a question sent with the keyboard streams its answer token by token, and it is the server\'s answer', async (t) => {
  await setNumber('Temperature', '0');
  await setNumber('Max tokens', String(MAX_TOKENS));
  // Count the token spans at every change of the transcript: a streamed answer grows in steps.
  await page.evaluate(() => {
    const w = window as unknown as { counts: number[] };
    w.counts = [];
    new MutationObserver(() => w.counts.push(document.querySelectorAll('.tok').length))
      .observe(document.querySelector('.transcript')!, { childList: true, subtree: true });
  });
  // The toy model answers in a fraction of a second; on an idle machine the whole stream could reach
  // the browser in one read. A slow link (16 KiB/s, the ~25 KiB stream then takes over a second)
  // makes sure it arrives in pieces, so what is measured is that the page shows each piece at once.
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('Network.enable');
  const link = (downloadThroughput: number) => cdp.send('Network.emulateNetworkConditions', { offline: false, latency: 0, downloadThroughput, uploadThroughput: -1 });
  await link(16 * 1024);
  const turn = await ask(question);
  await link(-1);
  await cdp.detach();
  const counts: number[] = await page.evaluate(() => (window as unknown as { counts: number[] }).counts);
  const final = await page.locator('.tok').count();
  const partial = new Set(counts.filter((c) => c > 0 && c < final));
  t.ok(partial.size >= 4, `the answer was shown at ${partial.size} intermediate lengths before its ${final} tokens`);
  const want = await serverAnswer(neutral(question), false);
  t.equal(await answerText(turn, 'answer'), want.choices[0]!.message.content);
  t.equal(scoreAnswer(want.choices[0]!.message.content).pirate, 'plain');
});

t.test('switching the pirate vector on changes the answer to the server\'s pirate-steered answer', async (t) => {
  const before = await answerText(1, 'answer');
  await page.getByRole('button', { name: 'Reset' }).click();
  await t.resolveMatch(page.locator('.turn').count(), 0, 'reset empties the conversation');
  const toggle = page.getByRole('checkbox', { name: 'Add pirate' });
  await toggle.focus();
  await page.keyboard.press('Space');
  t.equal(await toggle.isChecked(), true);
  const turn = await ask(question);
  const text = await answerText(turn, 'answer');
  const want = await serverAnswer(neutral(question), recordedAdd());
  t.equal(text, want.choices[0]!.message.content);
  t.not(text, before, 'the answer changed');
  t.equal(scoreAnswer(text).pirate, 'pirate');
  const sent = (await lastRequest()) as { steering: unknown };
  t.same(sent.steering, recordedAdd(), 'the request carried the recorded addition');
});

t.test('tokens are coloured by their projection, and hovering one shows its values per block as the server traced them', async (t) => {
  await page.getByLabel('Colour by vector', { exact: true }).selectOption('pirate');
  await page.getByLabel('at block', { exact: true }).selectOption(String(BLOCK));
  const want = await serverAnswer(neutral(question), recordedAdd());
  const spans = page.locator('.turn[data-turn="1"] .tok');
  const tokens = await spans.evaluateAll((els) => els.map((e) => ({
    i: Number((e as HTMLElement).dataset.i), value: Number((e as HTMLElement).dataset.value), colour: getComputedStyle(e).backgroundColor,
  })));
  t.ok(tokens.length > 5, `${tokens.length} coloured tokens`);
  const threshold = pirate.cap_thresholds[pirate.cap_blocks.indexOf(BLOCK)]!;
  let agree = 0;
  for (const k of tokens) {
    const m = /rgba?\((\d+), (\d+), (\d+)/.exec(k.colour);
    const [r, , b] = m ? [Number(m[1]), Number(m[2]), Number(m[3])] : [0, 0, 0];
    const trace = at(want.persona!.tokens[k.i], BLOCK)!;
    if (Math.abs(k.value - trace) < 1e-3 && (trace > threshold) === (r > b)) agree++;
  }
  t.equal(agree, tokens.length, 'each token carries its traced value, orange above the calibrated threshold and blue below');
  const pick = tokens[Math.floor(tokens.length / 2)]!;
  await spans.nth(Math.floor(tokens.length / 2)).hover();
  const cells = await page.locator('.inspector-table td[data-vector="pirate"]').evaluateAll((els) => els.map((e) => ({
    block: Number((e as HTMLElement).dataset.block), value: Number((e as HTMLElement).dataset.value),
  })));
  t.same(cells.map((c) => c.block), pirate.blocks, 'one value per block of the vector');
  const worst = Math.max(...cells.map((c) => Math.abs(c.value - at(want.persona!.tokens[pick.i], c.block)!)));
  t.ok(worst < 1e-3, `the hovered token's values equal the server's trace (largest difference ${worst})`);
  // The keyboard reaches the same values: focus the answer, move with the arrow keys.
  await page.locator('.turn[data-turn="1"] .answer-text').focus();
  await page.keyboard.press('Home');
  await page.keyboard.press('ArrowRight');
  t.match(await page.locator('#inspector').textContent(), /token 2:/);
});

t.test('moving the cap slider caps the next answer there, and the drift chart draws it with each turn\'s last-prompt projection', async (t) => {
  const first = await serverAnswer(neutral(question), recordedAdd());
  const capToggle = page.getByRole('checkbox', { name: 'Cap pirate' });
  await capToggle.focus();
  await page.keyboard.press('Space');
  const slider = page.locator('#vec-pirate-capat');
  const ref = pirate.recommended_blocks.at(-1)!;
  const calibrated = pirate.cap_thresholds[pirate.cap_blocks.indexOf(ref)]!;
  t.ok(Math.abs(Number(await slider.inputValue()) - calibrated) < 1e-6, 'the slider starts at the calibrated threshold');
  await pressTimes(slider, 'ArrowLeft', 12);
  const value = Number(await slider.inputValue());
  t.ok(value < calibrated, `the slider moved down to ${value}`);
  const offset = value - calibrated;
  caps = pirate.cap_blocks.map((b, i) => ({ op: 'cap', vector: 'pirate', max: Number((pirate.cap_thresholds[i]! + offset).toPrecision(6)), blocks: [b] }));
  const turn = await ask(q2);
  const sent = (await lastRequest()) as { steering: unknown; steering_positions: string };
  t.same(sent.steering, [...recordedAdd(), ...caps], 'the recorded addition, then each cap block moved from its calibrated threshold by the slider');
  t.equal(sent.steering_positions, pirate.positions, 'at the positions the vector recorded for both');
  const history: Message[] = [...neutral(question), { role: 'assistant', content: first.choices[0]!.message.content }, { role: 'user', content: q2 }];
  const want = await serverAnswer(history, [...recordedAdd(), ...caps], { temperature: 0 }, { steering_positions: pirate.positions });
  t.equal(await answerText(turn, 'answer'), want.choices[0]!.message.content);
  const capAtRef = caps.find((c) => c.blocks[0] === BLOCK)!.max;
  const lastPrompt = at(want.persona!.last_prompt, BLOCK)!;
  t.ok(lastPrompt <= capAtRef + 1e-3, `the last-prompt projection ${lastPrompt} is held at or under the cap ${capAtRef}`);

  const rows = await page.locator('.drift-values tbody tr').evaluateAll((trs) => trs.map((tr) => [...tr.querySelectorAll('td')].map((td) => (td as HTMLElement).dataset.value)));
  t.equal(rows.length, 2, 'one point per turn');
  t.ok(Math.abs(Number(rows[0]![0]) - at(first.persona!.last_prompt, BLOCK)!) < 1e-3, 'turn 1: the server\'s last-prompt projection');
  t.equal(rows[0]![2], '', 'turn 1 had no cap');
  t.ok(Math.abs(Number(rows[1]![0]) - lastPrompt) < 1e-3, 'turn 2: the server\'s last-prompt projection');
  t.ok(Math.abs(Number(rows[1]![2]) - capAtRef) < 1e-6, 'turn 2: the cap line at the slider\'s bound');
  const inked = await page.locator('.drift-plot canvas').evaluate((c) => {
    const canvas = c as HTMLCanvasElement;
    const d = canvas.getContext('2d')!.getImageData(0, 0, canvas.width, canvas.height).data;
    let n = 0;
    for (let i = 3; i < d.length; i += 4) if (d[i]! > 0) n++;
    return n;
  });
  t.ok(inked > 500, `the chart is drawn (${inked} pixels inked)`);
});

t.test('compare mode answers the same message and seed unsteered and steered, side by side', async (t) => {
  // The conversation has drifted to pirate; the steered side only caps it.
  const addToggle = page.getByRole('checkbox', { name: 'Add pirate' });
  await addToggle.focus();
  await page.keyboard.press('Space');
  t.equal(await addToggle.isChecked(), false);
  await setNumber('Temperature', '0.8');
  await page.getByLabel('Seed', { exact: true }).fill('1234');
  await page.getByLabel('Compare unsteered and steered (same seed)').check();
  const history: Message[] = [];
  for (const turn of [1, 2]) {
    history.push({ role: 'user', content: (await page.locator(`.turn[data-turn="${turn}"] .question`).textContent())!.replace(/^You: /, '') });
    history.push({ role: 'assistant', content: await answerText(turn, 'answer') });
  }
  const turn = await ask(q3);
  history.unshift({ role: 'system', content: NEUTRAL_SYSTEM_PROMPT });
  history.push({ role: 'user', content: q3 });
  const sampling = { temperature: 0.8, top_p: 0.95, top_k: 40, min_p: 0.05, seed: 1234 };
  const [plain, steered] = await Promise.all([
    serverAnswer(history, false, sampling), serverAnswer(history, caps, sampling, { steering_positions: pirate.cap_positions }),
  ]);
  const left = await answerText(turn, 'unsteered');
  const right = await answerText(turn, 'steered');
  t.equal(left, plain.choices[0]!.message.content, 'the unsteered side is the server\'s unsteered answer for that seed');
  t.equal(right, steered.choices[0]!.message.content, 'the steered side is the server\'s steered answer for that seed');
  t.not(left, right, 'the cap changed the answer');
  t.equal(scoreAnswer(left).pirate, 'pirate', 'unsteered, the conversation stays pirate');
  t.not(scoreAnswer(right).pirate, 'pirate', 'capped, it does not');
  const boxes = await page.locator(`.turn[data-turn="${turn}"] .answer`).evaluateAll((els) => els.map((e) => e.getBoundingClientRect().toJSON() as DOMRect));
  t.ok(boxes[0]!.right <= boxes[1]!.left + 1 && Math.abs(boxes[0]!.top - boxes[1]!.top) < 2, 'the two answers sit side by side');
  const rows = await page.locator('.drift-values tbody tr').evaluateAll((trs) => trs.map((tr) => [...tr.querySelectorAll('td')].map((td) => (td as HTMLElement).dataset.value)));
  t.ok(Math.abs(Number(rows[2]![1]) - at(plain.persona!.last_prompt, BLOCK)!) < 1e-3, 'the chart has the unsteered answer\'s last-prompt projection too');
  await page.locator(`.turn[data-turn="${turn}"] .answer[data-kind="steered"] .tok`).nth(4).hover();
  await page.locator('.col-side').evaluate((e) => { e.scrollTop = 0; });
  await page.locator('article.vector[data-vector="pirate"]').evaluate((e) => e.scrollIntoView({ block: 'start' }));
  const file = await screenshot(page, 'playground-1280x800.png');
  t.comment(`screenshot: ${file}`);
});

t.test('a vector extracted from the page shows its progress and joins the panel', async (t) => {
  await page.getByLabel('Trait name').fill('seafaring');
  await page.getByLabel('System prompt with the trait').fill(SYSTEM_PROMPTS.pirate.pirate);
  await page.getByLabel('System prompt without it').fill(SYSTEM_PROMPTS.pirate.plain);
  await page.getByLabel('Questions, one per line').fill(trainQuestions(4).map((q) => q.question).join('\n'));
  await page.getByLabel('Answer tokens').fill('32');
  await page.evaluate(() => {
    const w = window as unknown as { phases: string[] };
    w.phases = [];
    new MutationObserver(() => {
      const bar = document.querySelector('#extract-bar') as HTMLElement | null;
      if (bar && w.phases.at(-1) !== bar.dataset.phase) w.phases.push(bar.dataset.phase!);
    }).observe(document.querySelector('.extract-progress')!, { childList: true, subtree: true, attributes: true });
  });
  await page.getByRole('button', { name: 'Extract' }).click();
  await page.locator('.extract-progress .ok').waitFor({ timeout: 120_000 });
  const phases: string[] = await page.evaluate(() => (window as unknown as { phases: string[] }).phases);
  t.ok(phases.includes('generate') && phases.includes('sweep') && phases.includes('calibrate'), `progress went through ${phases.join(' → ')}`);
  const listed = (await vectors()).find((v) => v.name === 'seafaring');
  t.ok(listed, 'the server lists the new vector');
  t.equal(listed?.origin, 'extracted');
  const card = page.locator('article.vector[data-vector="seafaring"]');
  await card.waitFor();
  t.match(await card.locator('.recorded').textContent(), new RegExp(`recommended blocks ${listed!.recommended_blocks.join(', ')}`), 'its card shows what the extraction recorded');
  await page.locator('.extract-progress').scrollIntoViewIfNeeded();
  t.comment(`screenshot: ${await screenshot(page, 'playground-extract.png')}`);
});

t.test('the page is readable at 1280x800 and on a narrow window', async (t) => {
  const overflow = () => page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
  await page.setViewportSize({ width: 1280, height: 800 });
  t.equal(await overflow(), 0, 'no sideways scrolling at 1280x800');
  t.equal(await page.evaluate(() => document.documentElement.scrollHeight - document.documentElement.clientHeight), 0,
    'the page itself does not scroll at 1280x800 (each column scrolls on its own)');
  const box = (sel: string) => page.locator(sel).first().boundingBox();
  const [vec, chat, side] = [await box('.col-vectors'), await box('.col-chat'), await box('.col-side')];
  t.ok(vec!.x + vec!.width <= chat!.x && chat!.x + chat!.width <= side!.x && side!.x + side!.width <= 1280, 'three columns side by side');
  const message = await box('#message');
  t.ok(message!.y + message!.height <= 800, 'the message box is on screen without scrolling');
  await page.setViewportSize({ width: 390, height: 844 });
  t.equal(await overflow(), 0, 'no sideways scrolling at 390 px');
  const [chatN, vecN] = [await box('.col-chat'), await box('.col-vectors')];
  t.ok(chatN!.y < vecN!.y && chatN!.width > 330, 'one column, the chat first');
  await page.evaluate(() => window.scrollTo(0, 0));
  t.comment(`screenshot: ${await screenshot(page, 'playground-390x844.png')}`);
  t.comment(`screenshot: ${await screenshot(page, 'playground-390-full.png', true)}`);
  await page.setViewportSize({ width: 1280, height: 800 });
});

t.test('every control has a label and the Tab key reaches each one', async (t) => {
  const unlabelled = await page.locator('input, select, textarea, button').evaluateAll((els) => els.filter((e) => {
    const el = e as HTMLInputElement;
    const text = (el.getAttribute('aria-label') ?? '') || (el.labels ? [...el.labels].map((l) => l.textContent).join('') : '') || (el.tagName === 'BUTTON' ? el.textContent ?? '' : '');
    return text.trim() === '' && !el.getAttribute('aria-labelledby');
  }).map((e) => e.outerHTML.slice(0, 120)));
  t.same(unlabelled, [], 'no control without an accessible name');
  const wanted: string[] = await page.locator('input:not([disabled]), select:not([disabled]), textarea:not([disabled]), button:not([disabled]), .answer-text')
    .evaluateAll((els) => els.filter((e) => (e as HTMLElement).offsetParent !== null && !e.closest('details:not([open])')).map((e, i) => {
      (e as HTMLElement).dataset.tabProbe = String(i);
      return String(i);
    }));
  await page.locator('body').focus();
  const reached = new Set<string>();
  for (let i = 0; i < wanted.length * 2 + 20 && reached.size < wanted.length; i++) {
    await page.keyboard.press('Tab');
    const probe = await page.evaluate(() => (document.activeElement as HTMLElement | null)?.dataset.tabProbe);
    if (probe !== undefined) reached.add(probe);
  }
  t.equal(reached.size, wanted.length, `Tab reached ${reached.size} of ${wanted.length} controls`);
});

t.test('the page logged no console errors', async (t) => {
  t.same(browser.errors, []);
  t.ok(fs.existsSync(`${__dirname}/../../.tap/playground/playground-1280x800.png`), 'the screenshots were saved');
});
