// Chat templates as Jinja, rendered by @huggingface/jinja (the Jinja subset Hugging Face's
// transformers.js uses for the chat templates stored in model files). llama.cpp's own renderer
// only recognises a built-in list of templates by their text; this renders any template exactly.
import type { Template } from '@huggingface/jinja';
import { ErrorCodes, PersonaSteerError } from './errors';

// Loaded on first use: most programs never render a Jinja template, and the library then loads
// without the dependency (for example from a transpiled copy outside node_modules' reach).
let jinja: typeof import('@huggingface/jinja') | undefined;

/** Whether a template string is Jinja (rather than the name of one of llama.cpp's built-in templates). */
export function isJinja(template: string): boolean {
  return template.includes('{{') || template.includes('{%');
}

const parsed = new Map<string, Template>();

function compile(template: string, name: string): Template {
  let t = parsed.get(template);
  if (!t) {
    try {
      jinja ??= require('@huggingface/jinja') as typeof import('@huggingface/jinja');
      t = new jinja.Template(template);
    } catch (e) {
      throw new PersonaSteerError(ErrorCodes.CHAT_TEMPLATE, `${name} is not a Jinja template this renderer parses: ${(e as Error).message}`);
    }
    if (parsed.size >= 16) parsed.delete(parsed.keys().next().value as string);
    parsed.set(template, t);
  }
  return t;
}

/**
 * Renders a chat template with the variables chat templates expect: `messages`,
 * `add_generation_prompt`, `bos_token`, `eos_token` (and `raise_exception`, built into the
 * renderer). `name` is the option path errors name.
 */
export function renderJinja(template: string, name: string, vars: {
  messages: { role: string; content: string }[]; addGenerationPrompt: boolean; bosToken: string; eosToken: string;
}): string {
  const t = compile(template, name);
  try {
    return t.render({
      messages: vars.messages, add_generation_prompt: vars.addGenerationPrompt, bos_token: vars.bosToken, eos_token: vars.eosToken,
    });
  } catch (e) {
    throw new PersonaSteerError(ErrorCodes.CHAT_TEMPLATE, `${name} failed to render: ${(e as Error).message}`);
  }
}
