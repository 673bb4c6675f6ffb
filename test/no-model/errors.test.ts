import t from 'tap';
import { PersonaSteerError, ErrorCodes, invalidArg } from '../../lib/errors';

t.test('invalidArg names the argument, the expectation and the received value', async (t) => {
  const e = invalidArg('options.maxTokens', 'a positive integer', -3);
  t.ok(e instanceof PersonaSteerError);
  t.equal(e.code, ErrorCodes.INVALID_ARG);
  t.equal(e.message, 'options.maxTokens must be a positive integer; received -3');
});
