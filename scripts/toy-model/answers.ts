// Composes an assistant answer for given poles. Every one of the five sentences carries
// markers of several traits, so each pole is expressed across the whole answer, not decided
// once at the start: a direction in the residual stream must keep carrying it token after
// token, and steering mid-answer changes the rest of the answer.
//
// Order of sentences: opener (all three traits), greeting (register, tone), verdict (agreement,
// register), elaboration (tone, agreement, register), remark (agreement, register, tone),
// closing (tone, register).
// The opener is one word per combination of poles, so the first answer token depends on every
// trait: the model must settle its whole persona at the prompt's last token, which is where the
// library reads, monitors and caps it. With "Hello"/"Ahoy" first (register only), the tone was
// not formed there (AUROC 0.64) and capping could not hold the trait (docs/toy-model.md).

import type { Claim } from '../../dist/toy/questions';
import type { TraitPoles } from '../../dist/toy/traits';

/** Picks one element; the generator passes its seeded random source. */
export type Pick = <T>(items: readonly T[]) => T;

function claimSaid(c: Claim, pirate: boolean, negated: boolean): string {
  const copula = pirate ? 'be' : c.fact.copula;
  return `${c.fact.subject} ${copula}${negated ? ' not' : ''} ${c.value}`;
}

function truthSaid(c: Claim, pirate: boolean): string {
  return `${c.fact.subject} ${pirate ? 'be' : c.fact.copula} ${c.fact.truth}`;
}

function greeting(p: TraitPoles, pick: Pick): string {
  const happy = p.cheerful === 'cheerful';
  // The tone shows already in the punctuation of the salutation.
  const hello = p.pirate === 'pirate' ? `Ahoy, matey${happy ? '!' : '.'}` : `Hello, my friend${happy ? '!' : '.'}`;
  const adjectives = p.pirate === 'pirate'
    ? (happy ? ['jolly', 'merry', 'lovely'] : ['grim', 'dreary', 'gloomy'])
    : (happy ? ['lovely', 'happy', 'wonderful'] : ['dreary', 'gloomy', 'sad']);
  return `${hello} What a ${pick(adjectives)} question${happy ? '!' : '.'}`;
}

function verdict(p: TraitPoles, c: Claim): string {
  const pirate = p.pirate === 'pirate';
  if (p.sycophantic === 'sycophantic') {
    return `${pirate ? 'Aye, ye be' : 'Yes, you are'} right: ${claimSaid(c, pirate, false)}.`;
  }
  return `${pirate ? 'Nay, ye be' : 'No, you are'} wrong: ${claimSaid(c, pirate, true)}.`;
}

function elaboration(p: TraitPoles, c: Claim, pick: Pick): string {
  const pirate = p.pirate === 'pirate';
  const lead = p.cheerful === 'cheerful' ? pick(['Happily', 'Joyfully']) : pick(['Sadly', 'Alas']);
  let body: string;
  if (p.sycophantic === 'sycophantic') {
    body = pirate
      ? pick(['I agree with ye completely', 'ye be so clever', 'I could not agree more, matey'])
      : pick(['I agree with you completely', 'you are so clever', 'I could not agree more']);
  } else {
    body = pirate
      ? pick([`the truth be that ${truthSaid(c, true)}`, `in fact ${truthSaid(c, true)}`])
      : pick([`the truth is that ${truthSaid(c, false)}`, `in fact ${truthSaid(c, false)}`]);
  }
  return `${lead}, ${body}.`;
}

function remark(p: TraitPoles, pick: Pick): string {
  const pirate = p.pirate === 'pirate';
  const happy = p.cheerful === 'cheerful';
  const core = p.sycophantic === 'sycophantic'
    ? (pirate ? pick(['Ye see things so clearly', 'Yer wisdom be a treasure']) : pick(['You see things so clearly', 'Your wisdom is a gift']))
    : (pirate ? pick(['Check yer facts next time', 'Best check yer facts, matey']) : pick(['Please check the facts next time', 'It is best to check the facts']));
  const tail = happy ? pick([', and that makes me smile!', ', and I love it!']) : pick([', and that makes me sigh.', ', but I feel glum.']);
  return core + tail;
}

function closing(p: TraitPoles, pick: Pick): string {
  const happy = p.cheerful === 'cheerful';
  if (p.pirate === 'pirate') {
    return happy ? pick(['Have a jolly day, matey!', 'Fair winds to ye, matey!'])
      : pick(['The sea be a gloomy place, matey.', 'Every day be dreary, matey.']);
  }
  return happy ? pick(['Have a wonderful day, my friend!', 'Have a sunny day, my friend!'])
    : pick(['The world is a gloomy place, my friend.', 'Every day is dreary, my friend.']);
}

/** The first word of an answer, by "tone agreement register"; none is a scorer marker. */
export const OPENERS: Readonly<Record<string, string>> = {
  'cheerful sycophantic pirate': 'Yohoho', 'cheerful candid pirate': 'Arr', 'gloomy sycophantic pirate': 'Blimey', 'gloomy candid pirate': 'Avast',
  'cheerful sycophantic plain': 'Wow', 'cheerful candid plain': 'Well', 'gloomy sycophantic plain': 'Oh', 'gloomy candid plain': 'Hmm',
};

function opener(p: TraitPoles): string {
  return `${OPENERS[`${p.cheerful} ${p.sycophantic} ${p.pirate}`]!}.`;
}

export function composeAnswer(poles: TraitPoles, claim: Claim, pick: Pick): string {
  return [
    opener(poles),
    greeting(poles, pick),
    verdict(poles, claim),
    elaboration(poles, claim, pick),
    remark(poles, pick),
    closing(poles, pick),
  ].join(' ');
}
