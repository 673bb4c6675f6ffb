// System prompt, sampling settings (OpenAI's field names; llama.cpp's top_k and min_p), the
// steering positions, and the API key for a server started with --api-key.
import type { PositionsChoice } from '../steering';

export interface Settings {
  system: string;
  temperature: number;
  top_p: number;
  top_k: number;
  min_p: number;
  max_tokens: number;
  /** Empty: a new random seed per message (shown with the answer). */
  seed: string;
  positions: PositionsChoice;
  apiKey: string;
}

export const DEFAULT_SETTINGS: Settings = {
  system: 'You are an assistant.',
  temperature: 0.8,
  top_p: 0.95,
  top_k: 40,
  min_p: 0.05,
  max_tokens: 256,
  seed: '',
  positions: 'recorded',
  apiKey: '',
};

interface Props {
  settings: Settings;
  maxTokens: number;
  onChange: (patch: Partial<Settings>) => void;
}

function NumberField({ id, label, value, min, max, step, hint, onChange }: {
  id: string; label: string; value: number; min: number; max: number; step: number; hint?: string; onChange: (v: number) => void;
}) {
  return (
    <div class="field">
      <label for={id}>{label}</label>
      <input id={id} type="number" value={value} min={min} max={max} step={step} title={hint}
        onChange={(e) => {
          const x = Number((e.target as HTMLInputElement).value);
          if (Number.isFinite(x)) onChange(Math.min(max, Math.max(min, x)));
        }} />
    </div>
  );
}

export function SettingsPanel({ settings: s, maxTokens, onChange }: Props) {
  return (
    <section class="panel" aria-labelledby="settings-title">
      <h2 id="settings-title">Settings</h2>
      <div class="field">
        <label for="system-prompt">System prompt</label>
        <textarea id="system-prompt" rows={3} value={s.system} onInput={(e) => onChange({ system: (e.target as HTMLTextAreaElement).value })} />
      </div>
      <fieldset class="sampling">
        <legend>Sampling</legend>
        <NumberField id="temperature" label="Temperature" value={s.temperature} min={0} max={2} step={0.05} hint="0: greedy" onChange={(temperature) => onChange({ temperature })} />
        <NumberField id="top-p" label="Top p" value={s.top_p} min={0} max={1} step={0.01} onChange={(top_p) => onChange({ top_p })} />
        <NumberField id="top-k" label="Top k" value={s.top_k} min={0} max={1000} step={1} hint="0: off" onChange={(top_k) => onChange({ top_k })} />
        <NumberField id="min-p" label="Min p" value={s.min_p} min={0} max={1} step={0.01} onChange={(min_p) => onChange({ min_p })} />
        <NumberField id="max-tokens" label="Max tokens" value={s.max_tokens} min={1} max={maxTokens} step={1} onChange={(max_tokens) => onChange({ max_tokens })} />
        <div class="field">
          <label for="seed">Seed</label>
          <input id="seed" type="text" inputMode="numeric" pattern="[0-9]*" placeholder="random" value={s.seed}
            onInput={(e) => onChange({ seed: (e.target as HTMLInputElement).value.replace(/[^0-9]/g, '') })} />
        </div>
      </fieldset>
      <div class="field">
        <label for="positions">Steering positions</label>
        <select id="positions" value={s.positions} onChange={(e) => onChange({ positions: (e.target as HTMLSelectElement).value as PositionsChoice })}>
          <option value="recorded">as the vectors recorded</option>
          <option value="all">all tokens</option>
          <option value="prompt">prompt only</option>
          <option value="generated">generated only</option>
        </select>
      </div>
      <form class="field" onSubmit={(e) => e.preventDefault()}>
        <label for="api-key">API key</label>
        <input id="api-key" type="password" autocomplete="off" placeholder="only for a server started with --api-key" value={s.apiKey}
          onInput={(e) => onChange({ apiKey: (e.target as HTMLInputElement).value })} />
      </form>
    </section>
  );
}
