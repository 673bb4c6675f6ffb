// The library's errors name API options (options.contextSize, format: 'plain'); a command-line user
// knows flags. Every error a command prints passes through cliWording, which rewrites option paths
// into the flags of the command that ran (when it has one by that name) and the API's advice into
// the flag that gives it.

/** API option names whose flag is not their kebab-case spelling. */
const ALIASES: Record<string, string> = {
  flashAttention: 'flash-attn',
  template: 'chat-template',
  chatTemplate: 'chat-template',
  'kvCacheType.k': 'cache-type-k',
  'kvCacheType.v': 'cache-type-v',
  kvCacheType: 'cache-type-k',
  'generation.maxTokens': 'max-tokens',
  'generation.temperature': 'temperature',
  'generation.seed': 'seed',
  samplesPerQuestion: 'samples-per-question',
};

/** Whole phrases of API advice, rewritten first (the option names inside them are then flags already). */
const PHRASES: [RegExp, string][] = [
  [/pass format: 'plain' \(or a function\) to build prompts as plain text/g, 'use --format plain to build prompts as plain text, or give a template with --chat-template'],
  [/; use 'plain' or a function/g, '; use --format plain, or give a template with --chat-template'],

  [/create the context with a larger (options\.)?contextSize/g, 'give a larger --context-size'],
  [/unless options\.flashAttention is true/g, 'unless --flash-attn is given'],
];

function kebab(name: string): string {
  return name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
}

/**
 * `message` with API option paths as the command's flags. `flags`: the flag names the command
 * accepts (without --); a path whose option has no such flag is left as it is.
 */
export function cliWording(message: string, flags: ReadonlySet<string>): string {
  const plain = flags.has('format') ? 'or use --format plain' : flags.has('chat') ? 'or leave out --chat (the prompt as plain text)' : 'or format prompts as plain text';
  let out = message.replace(/give one as options\.template or Model\.load's options\.chatTemplate, or format prompts as plain text/g,
    `give one with --chat-template (a llama.cpp template name or a Jinja template), ${plain}`);
  for (const [re, to] of PHRASES) out = out.replace(re, to);
  return out.replace(/\b(?:Model\.load's )?options\.([A-Za-z]+(?:\.[A-Za-z]+)?)((?:\.[A-Za-z0-9_$]+|\[\d+\])*)/g, (all, name: string, rest: string) => {
    const [head] = name.split('.');
    for (const candidate of [name, head]) {
      const flag = ALIASES[candidate] ?? kebab(candidate);
      if (flags.has(flag)) return `--${flag}${candidate === name ? rest : name.slice(head.length) + rest}`;
    }
    return all;
  }).replace(/\bthe context size\b/g, flags.has('context-size') ? 'the context size (--context-size)' : 'the context size');
}
