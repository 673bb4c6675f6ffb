// Reads a valgrind memcheck log and reports what concerns our code: records whose stack passes
// through the addon (C++ namespace ps::, files under native/) or the steering patch
// (llama_steer_*, src/llama-steer*). Exit status 1 when our code has a definite leak or a
// memory error. Used by scripts/leak-check.sh.
//   node summarize.cjs <valgrind.log>
'use strict';
const fs = require('node:fs');

const OURS = /\bps::|llama_steer|llama-steer|[(/]native\//;
// Deliberately never freed: one EnvState per Node environment (see native/env-state.cpp), with
// the two constructor references it holds (created in ps::init, lost only through it).
const ACCEPTED = [/ps::EnvState::install/, /napi_create_reference \(in [^)]*\)\nby 0x[0-9A-F]+: ps::init\(/];

const log = fs.readFileSync(process.argv[2], 'utf8').split('\n').map((l) => l.replace(/^==\d+==\s?/, ''));
const records = [];
let cur = null;
for (const line of log) {
  // A record is a head line (not indented) and its indented stack lines.
  if (line.trim() === '' || !/^\s/.test(line)) { if (cur) records.push(cur); cur = null; }
  if (line.trim() === '') continue;
  if (!cur) cur = { head: line.trim(), frames: [] };
  else cur.frames.push(line.trim());
}
if (cur) records.push(cur);

const totals = {};
for (const l of log) {
  const m = /^\s*(definitely|indirectly|possibly) lost: ([\d,]+) bytes in ([\d,]+) blocks/.exec(l);
  if (m) totals[m[1]] = `${m[2]} bytes in ${m[3]} blocks`;
}
const summary = log.find((l) => l.startsWith('ERROR SUMMARY')) ?? 'ERROR SUMMARY: (none found)';

// "200 (120 direct, 80 indirect) bytes": the indirect part has records of its own.
const bytesOf = (head) => Number((/^[\d,]+ \(([\d,]+) direct/.exec(head)?.[1] ?? /^([\d,]+)/.exec(head)?.[1] ?? '0').replace(/,/g, ''));
const isLeak = (r) => /bytes in [\d,]+ blocks are (definitely|indirectly|possibly) lost/.test(r.head);
const kindOf = (r) => /are (definitely|indirectly|possibly) lost/.exec(r.head)?.[1];
const isError = (r) => /^(Invalid (read|write|free)|Conditional jump|Use of uninitialised|Mismatched free|Syscall param|Source and destination overlap|Argument .* of function)/.test(r.head);

const ours = { definite: [], possible: [], errors: [], accepted: [] };
let others = { leaks: 0, errors: 0 };
for (const r of records) {
  if (!isLeak(r) && !isError(r)) continue;
  const stack = r.frames.join('\n');
  const mine = OURS.test(stack);
  if (!mine) { if (isLeak(r)) others.leaks++; else others.errors++; continue; }
  if (ACCEPTED.some((a) => a.test(stack))) { ours.accepted.push(r); continue; }
  if (isError(r)) ours.errors.push(r);
  else if (kindOf(r) === 'definitely' || kindOf(r) === 'indirectly') ours.definite.push(r);
  else ours.possible.push(r);
}

const firstOurs = (r) => r.frames.filter((f) => OURS.test(f)).slice(0, 3).map((f) => f.replace(/^(at|by) 0x[0-9A-F]+: /, '')).join(' <- ');
const sum = (rs) => rs.reduce((s, r) => s + bytesOf(r.head), 0);
console.log(`leak-check: valgrind totals: definitely lost ${totals.definitely ?? '0 bytes'}, indirectly lost ${totals.indirectly ?? '0 bytes'}, possibly lost ${totals.possibly ?? '0 bytes'}; ${summary}`);
console.log(`leak-check: outside our code (node, V8, libc): ${others.leaks} leak records, ${others.errors} error records (not judged)`);
console.log(`leak-check: accepted (one per environment, by design): ${ours.accepted.length} records, ${sum(ours.accepted)} bytes`);
for (const r of ours.accepted) console.log(`    ${r.head}\n      ${firstOurs(r)}`);
console.log(`leak-check: OUR CODE (native/ ps::, llama_steer*): definite/indirect leaks: ${ours.definite.length} records, ${sum(ours.definite)} bytes; possible leaks: ${ours.possible.length} records, ${sum(ours.possible)} bytes; memory errors: ${ours.errors.length}`);
for (const r of [...ours.definite, ...ours.possible, ...ours.errors]) console.log(`    ${r.head}\n      ${firstOurs(r)}`);
process.exit(ours.definite.length > 0 || ours.errors.length > 0 ? 1 : 0);
