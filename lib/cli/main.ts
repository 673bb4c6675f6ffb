#!/usr/bin/env node
// persona-steer: the command-line interface. Dispatches to one file per subcommand; every error
// ends as one line "persona-steer <command>: <CODE>: <message>" on stderr and a nonzero status:
//   2 bad arguments (ERR_INVALID_ARG), 130 aborted (Ctrl-C), 1 any other PersonaSteerError,
//   70 an internal error (a bug; PERSONA_STEER_DEBUG=1 prints its stack).
import { setMaxListeners } from 'node:events';
import fs from 'node:fs';
import path from 'node:path';
import { ErrorCodes, PersonaSteerError } from '../errors';
import { cliWording } from './api-words';
import { activeFlags } from './args';
import { bench } from './bench';
import { calibrate } from './calibrate';
import { capture } from './capture';
import { chat } from './chat';
import type { Command } from './command';
import { demo } from './demo';
import { rpcServer } from './rpc-server';
import { extract } from './extract';
import { generate } from './generate';
import { inspect } from './inspect';
import { monitor } from './monitor';
import { serve } from './serve';
import { sweep } from './sweep';

const COMMANDS: Command[] = [extract, sweep, calibrate, generate, chat, monitor, inspect, capture, bench, demo, serve, rpcServer];

function version(): string {
  try {
    return (JSON.parse(fs.readFileSync(path.resolve(__dirname, '..', '..', 'package.json'), 'utf8')) as { version: string }).version;
  } catch {
    return 'unknown';
  }
}

function overview(): string {
  return `persona-steer ${version()}: persona vectors on llama.cpp

usage: persona-steer <command> [options]     persona-steer <command> --help

${COMMANDS.map((c) => `  ${c.name.padEnd(10)} ${c.summary}`).join('\n')}

Errors: one line on stderr with an error code; exit status 2 for bad arguments, 1 otherwise.
Docs: docs/cli.md (in a project: node_modules/persona-steer/docs/cli.md)
`;
}

export function exitStatus(e: unknown): number {
  if (!(e instanceof PersonaSteerError)) return 70;
  if (e.code === ErrorCodes.INVALID_ARG) return 2;
  if (e.code === ErrorCodes.ABORTED) return 130;
  return 1;
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(overview());
    return 0;
  }
  if (name === '--version' || name === '-v') {
    process.stdout.write(`${version()}\n`);
    return 0;
  }
  const command = COMMANDS.find((c) => c.name === name);
  const label = command ? `persona-steer ${command.name}` : 'persona-steer';
  const controller = new AbortController();
  // One signal reaches every concurrent generation of a command (a sweep runs many): not a leak.
  setMaxListeners(0, controller.signal);
  const onSigint = () => {
    // A second Ctrl-C ends at once.
    if (controller.signal.aborted) process.exit(130);
    controller.abort();
  };
  process.on('SIGINT', onSigint);
  try {
    if (name === undefined) throw new PersonaSteerError(ErrorCodes.INVALID_ARG, `a command is required (${COMMANDS.map((c) => c.name).join(', ')}); see persona-steer --help`);
    if (!command) throw new PersonaSteerError(ErrorCodes.INVALID_ARG, `unknown command ${JSON.stringify(name)} (expected one of ${COMMANDS.map((c) => c.name).join(', ')})`);
    if ((rest.includes('--help') || rest.includes('-h')) && command.name !== 'bench') {
      process.stdout.write(command.usage);
      return 0;
    }
    return await command.run(rest, { signal: controller.signal });
  } catch (e) {
    const status = exitStatus(e);
    if (e instanceof PersonaSteerError) {
      process.stderr.write(`${label}: ${e.code}: ${cliWording(e.message, activeFlags).replace(/\s*\n\s*/g, ' ')}\n`);
    } else {
      process.stderr.write(`${label}: internal error: ${(e as Error)?.message ?? String(e)}\n`);
      if (process.env.PERSONA_STEER_DEBUG === '1') process.stderr.write(`${(e as Error)?.stack ?? ''}\n`);
    }
    return status;
  } finally {
    process.off('SIGINT', onSigint);
  }
}

if (require.main === module) {
  main(process.argv.slice(2)).then((code) => {
    process.exitCode = code;
  }, (e) => {
    process.stderr.write(`persona-steer: internal error: ${(e as Error)?.message ?? String(e)}\n`);
    process.exitCode = 70;
  });
}
