// persona-steer serve: the OpenAI-compatible server (lib/server) from the command line. Runs until
// SIGINT or SIGTERM, then shuts down gracefully and exits 0.
import { promises as fs } from 'node:fs';
import { ErrorCodes, PersonaSteerError } from '../errors';
import { startServer, type ServerOptions } from '../server/index';
import type { SteeringFields } from '../server/plan';
import { int, list, parse, str } from './args';
import type { Command } from './command';

const FLAGS = {
  model: { type: 'string', short: 'm' },
  vectors: { type: 'string' },
  host: { type: 'string' },
  port: { type: 'string' },
  parallel: { type: 'string' },
  queue: { type: 'string' },
  'context-size': { type: 'string' },
  threads: { type: 'string' },
  'gpu-layers': { type: 'string' },
  'api-key': { type: 'string' },
  cors: { type: 'string', multiple: true },
  'default-steering': { type: 'string' },
  'max-tokens': { type: 'string' },
  'max-prompt-tokens': { type: 'string' },
  'max-body': { type: 'string' },
  'max-vector-bytes': { type: 'string' },
  'shutdown-timeout': { type: 'string' },
  log: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

export const API_KEY_ENV = 'PERSONA_STEER_API_KEY';

async function readDefaultSteering(file: string): Promise<SteeringFields> {
  let text: string;
  try {
    text = await fs.readFile(file, 'utf8');
  } catch (e) {
    throw new PersonaSteerError(ErrorCodes.INVALID_ARG, `--default-steering: cannot read ${file}: ${(e as Error).message}`);
  }
  try {
    return JSON.parse(text) as SteeringFields;
  } catch (e) {
    throw new PersonaSteerError(ErrorCodes.INVALID_ARG, `--default-steering: ${file} is not JSON (${(e as Error).message})`);
  }
}

export const serve: Command = {
  name: 'serve',
  summary: 'an OpenAI-compatible HTTP server with per-request steering and persona traces',
  usage: `persona-steer serve [--model FILE] [--vectors DIR] [--host 127.0.0.1] [--port 8080]
                    [--parallel 4] [--queue 64] [--context-size N] [--threads N] [--gpu-layers N]
                    [--api-key KEY] [--cors ORIGIN]... [--default-steering FILE.json]
                    [--max-tokens 1024] [--max-prompt-tokens N] [--max-body BYTES]
                    [--max-vector-bytes BYTES] [--shutdown-timeout 10] [--log]

  Serves POST /v1/chat/completions and /v1/completions (OpenAI's shapes, stream: true as SSE),
  GET /v1/models, GET /health and the vector routes under /v1/vectors. Each request may steer
  ("steering": [{ "op": "add", "vector": "pirate" }], "steering_positions", "monitor") with the
  server's vectors, by name; answers carry the persona trace. docs/server.md has every field.

  With no --model: the built-in toy model and its cheerful, sycophantic and pirate vectors.
  --vectors DIR        serve every DIR/*.gguf control vector under its file name
  --parallel N         generations decoded together; --queue N more may wait, then 429
  --context-size N     tokens per slot (prompt + answer); default min(2048, training context)
  --api-key KEY        every /v1 route needs "Authorization: Bearer KEY" (or set ${API_KEY_ENV})
  --cors ORIGIN        allow browser requests from ORIGIN ('*' for any); repeatable; default off
  --default-steering F a JSON file { "steering", "steering_positions", "monitor" } used by
                       requests that leave those fields out ("steering": false opts out)
  --shutdown-timeout S on SIGINT/SIGTERM, seconds in-flight requests get to finish (default 10)
  Binds 127.0.0.1 unless --host says otherwise. Prints "listening on URL" when ready.
`,
  async run(argv, cmd) {
    const { values } = parse('serve', argv, FLAGS);
    if (values.help) {
      process.stdout.write(this.usage);
      return 0;
    }
    const apiKey = str(values, 'api-key') ?? (process.env[API_KEY_ENV] || undefined);
    const cors = list(values, 'cors').flatMap((c) => c.split(',')).map((c) => c.trim()).filter((c) => c.length > 0);
    const steeringFile = str(values, 'default-steering');
    const shutdownS = int(values, 'shutdown-timeout', 0, 3600);
    const maxBody = int(values, 'max-body', 1024, 1 << 30);
    const maxVector = int(values, 'max-vector-bytes', 1024, 1 << 30);
    const options: ServerOptions = {
      model: str(values, 'model'),
      vectors: str(values, 'vectors'),
      host: str(values, 'host'),
      port: int(values, 'port', 0, 65_535),
      parallel: int(values, 'parallel', 1, 256),
      queue: int(values, 'queue', 0, 1_000_000),
      contextSize: int(values, 'context-size', 8, 1 << 20),
      threads: int(values, 'threads', 1, 1024),
      gpuLayers: int(values, 'gpu-layers', -1, 100_000),
      apiKey,
      cors: cors.length > 0 ? cors : undefined,
      defaultSteering: steeringFile === undefined ? undefined : await readDefaultSteering(steeringFile),
      maxTokens: int(values, 'max-tokens', 1, 1 << 20),
      maxPromptTokens: int(values, 'max-prompt-tokens', 1, 1 << 20),
      maxBodyBytes: maxBody,
      maxVectorBytes: maxVector,
      shutdownTimeoutMs: shutdownS === undefined ? undefined : shutdownS * 1000,
      log: values.log === true,
    };
    if (apiKey !== undefined && apiKey.length < 8) throw new PersonaSteerError(ErrorCodes.INVALID_ARG, '--api-key must be at least 8 characters');
    const server = await startServer(options);
    const e = server.engine;
    const names = e.registry.list().map((v) => v.name);
    process.stdout.write(`persona-steer serve: model ${e.modelId}, ${e.scheduler.slots} slot${e.scheduler.slots === 1 ? '' : 's'} ` +
      `(--parallel ${options.parallel ?? 4}), vectors: ${names.length ? names.join(', ') : 'none'}${apiKey ? ', API key required' : ''}\n`);
    process.stdout.write(`persona-steer serve: listening on ${server.url}\n`);
    for (const v of e.registry.list()) for (const w of v.warnings) process.stderr.write(`persona-steer: warning: vector ${v.name}: ${w}\n`);

    await new Promise<void>((resolve) => {
      const stop = () => resolve();
      if (cmd.signal.aborted) resolve();
      cmd.signal.addEventListener('abort', stop, { once: true });
      process.once('SIGTERM', stop);
    });
    process.stdout.write('persona-steer serve: shutting down (requests in flight may finish)\n');
    await server.close();
    process.stdout.write('persona-steer serve: stopped\n');
    return 0;
  },
};
