// persona-steer demo: a placeholder. The demo (a toy chat model with persona vectors, lib/toy and
// models/toy-persona.gguf) is being built by another engineer, who owns this file from here on.
import { ErrorCodes, PersonaSteerError } from '../errors';
import type { Command } from './command';

export const demo: Command = {
  name: 'demo',
  summary: 'a guided demo on a toy persona model (not available yet)',
  usage: `persona-steer demo

  Not available yet: the demo and its toy model (models/toy-persona.gguf) are still being built.
  Fails with ERR_UNAVAILABLE.
`,
  async run(argv) {
    if (argv.includes('--help') || argv.includes('-h')) {
      process.stdout.write(this.usage);
      return 0;
    }
    throw new PersonaSteerError(ErrorCodes.UNAVAILABLE, 'the demo is not available yet: its toy model (models/toy-persona.gguf) is still being built');
  },
};
