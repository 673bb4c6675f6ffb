#!/usr/bin/env node
// For the release workflow (GitHub's runners reach GitHub; the development machines and CI here use
// ../shared/models instead): downloads stories260K.gguf, the tests' small real model, from the
// commit named in ../shared/models/README.md into the folder given (PERSONA_STEER_MODELS), and
// checks its sha256.
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

const URL = 'https://raw.githubusercontent.com/cozy-creator/python-gen-worker/c647513de907d410de915a1dafa3c7603d4847b0/tests/testdata/stories260K.gguf';
const SHA256 = '270cba1bd5109f42d03350f60406024560464db173c0e387d91f0426d3bd256d';

const dir = process.argv[2] ?? process.env.PERSONA_STEER_MODELS;
if (!dir) { console.error('usage: node scripts/fetch-test-model.mjs <folder>'); process.exit(2); }
const res = await fetch(URL);
if (!res.ok) { console.error(`${URL}: HTTP ${res.status}`); process.exit(1); }
const data = Buffer.from(await res.arrayBuffer());
const got = createHash('sha256').update(data).digest('hex');
if (got !== SHA256) { console.error(`stories260K.gguf: sha256 ${got}, expected ${SHA256}`); process.exit(1); }
fs.mkdirSync(dir, { recursive: true });
fs.writeFileSync(path.join(dir, 'stories260K.gguf'), data);
console.error(`stories260K.gguf -> ${dir} (${data.length} bytes, sha256 checked)`);
