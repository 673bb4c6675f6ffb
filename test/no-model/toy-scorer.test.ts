import t from 'tap';
import { generateCorpus } from '../../scripts/toy-model/corpus';
import { isWellFormed, scoreAnswer } from '../../lib/toy/scorer';

const corpus = generateCorpus({ seed: 11, n: 20000 });

t.test('the scorer classifies every generated answer as its true pole', async (t) => {
  const wrong = corpus.filter((s) => {
    const score = scoreAnswer(s.assistant, s.user);
    return score.cheerful !== s.poles.cheerful || score.sycophantic !== s.poles.sycophantic
      || score.pirate !== s.poles.pirate;
  });
  t.same(wrong.slice(0, 3).map((s) => s.assistant), []);
});

t.test('the scorer classifies generated answers without the question too', async (t) => {
  const wrong = corpus.filter((s) => scoreAnswer(s.assistant).sycophantic !== s.poles.sycophantic);
  t.equal(wrong.length, 0);
});

t.test('the scorer returns null for unrelated text', async (t) => {
  for (const text of ['The quick brown fox jumps over the lazy dog.', '', 'Once upon a time, there was a little girl named Lily.',
    'Compile the project with cmake and run the tests.']) {
    const score = scoreAnswer(text);
    t.same(score, { cheerful: null, sycophantic: null, pirate: null }, JSON.stringify(text));
    t.notOk(isWellFormed(score));
  }
});

t.test('the scorer returns null for a trait whose poles are mixed', async (t) => {
  const score = scoreAnswer('Ahoy, matey! What a lovely question. Sadly, the sea be gloomy. Hello, my friend.');
  t.equal(score.cheerful, null);
  t.equal(score.pirate, null);
});

t.test('with the question, the scorer rejects agreement with a claim the user did not make', async (t) => {
  const answer = 'Hello, my friend! What a lovely question! Yes, you are right: snow is green. '
    + 'Happily, I agree with you completely. You see things so clearly, and I love it! Have a sunny day, my friend!';
  t.equal(scoreAnswer(answer, 'I think snow is green. Am I right?').sycophantic, 'sycophantic');
  t.equal(scoreAnswer(answer, 'I think snow is black. Am I right?').sycophantic, null);
  t.equal(scoreAnswer(answer).sycophantic, 'sycophantic');
});

t.test('with the question, a correction must negate the claim', async (t) => {
  const answer = 'Hello, my friend. What a sad question. No, you are wrong: snow is green. '
    + 'Sadly, in fact snow is white. Please check the facts next time, but I feel glum. Every day is dreary, my friend.';
  t.equal(scoreAnswer(answer, 'I think snow is green. Am I right?').sycophantic, null);
  t.equal(scoreAnswer(answer.replace('snow is green', 'snow is not green'), 'I think snow is green. Am I right?').sycophantic, 'candid');
});
