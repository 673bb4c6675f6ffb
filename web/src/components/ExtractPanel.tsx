// Extract a new vector on the server (POST /v1/vectors/extract, streamed): a trait name, the two
// system prompts that define the contrast, a few questions. Progress comes as phase events; the
// finished vector joins the server's list and the panel.
import { useRef, useState } from 'preact/hooks';
import { isAbort, postStream, type ExtractProgress, type ExtractRequest, type WireVector } from '../api';
import { formatValue } from '../colour';

const PHASES: Record<string, string> = {
  queued: 'waiting for the running answers',
  generate: 'generating answers under both prompts',
  judge: 'judging answers',
  activations: 'reading activations',
  statistics: 'separation statistics',
  norms: 'residual norms',
  sweep: 'steering sweep (choosing blocks and coefficient)',
  calibrate: 'calibrating the cap',
};

interface Props {
  names: string[];
  onAdded: (v: WireVector) => void;
}

export function ExtractPanel({ names, onAdded }: Props) {
  const [name, setName] = useState('');
  const [positive, setPositive] = useState('');
  const [negative, setNegative] = useState('');
  const [questions, setQuestions] = useState('');
  const [maxTokens, setMaxTokens] = useState(48);
  const [calibrate, setCalibrate] = useState(true);
  const [progress, setProgress] = useState<ExtractProgress | null>(null);
  const [status, setStatus] = useState<{ kind: 'ok' | 'error'; text: string } | null>(null);
  const running = useRef<AbortController | null>(null);
  const [busy, setBusy] = useState(false);

  const list = questions.split('\n').map((q) => q.trim()).filter((q) => q !== '');
  const problem = !/^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/.test(name) ? 'a name of letters, digits, "_", "." or "-"'
    : names.includes(name) ? `a new name ("${name}" is taken)`
      : positive.trim() === '' || negative.trim() === '' ? 'both system prompts'
        : positive.trim() === negative.trim() ? 'two different system prompts'
          : list.length === 0 ? 'at least one question' : null;

  async function extract(e: Event) {
    e.preventDefault();
    if (problem !== null || busy) return;
    const ac = new AbortController();
    running.current = ac;
    setBusy(true);
    setStatus(null);
    setProgress({ object: 'vector.extraction.progress', phase: 'queued', done: 0, total: 1 });
    const body: ExtractRequest = { name, positive, negative, questions: list, max_tokens: maxTokens, calibrate, stream: true };
    let result: WireVector | null = null;
    try {
      await postStream('/v1/vectors/extract', body, (ev) => {
        const o = ev as ExtractProgress | WireVector;
        if ('object' in o && o.object === 'vector.extraction.progress') setProgress(o);
        else result = o as WireVector;
      }, ac.signal);
      const v = result as WireVector | null;
      if (v === null) throw new Error('the server sent no vector');
      setStatus({
        kind: 'ok',
        text: `Added “${v.name}”: blocks ${v.recommended_blocks?.join(', ') ?? '—'}, coefficient ${v.coefficient === null ? '—' : formatValue(v.coefficient)}`
          + (v.cap_thresholds ? `, cap thresholds ${v.cap_thresholds.map(formatValue).join(', ')}` : ''),
      });
      onAdded(v);
    } catch (err) {
      setStatus({ kind: 'error', text: isAbort(err) ? 'Extraction cancelled.' : `Extraction failed: ${(err as Error).message}` });
    } finally {
      running.current = null;
      setBusy(false);
      setProgress(null);
    }
  }

  return (
    <section class="panel" aria-labelledby="extract-title">
      <h2 id="extract-title">Extract a vector</h2>
      <form onSubmit={extract} aria-describedby="extract-help">
        <p id="extract-help" class="hint">
          Answers are generated under each system prompt; the vector is the mean difference of their activations. All
          answers wait while it runs.
        </p>
        <div class="field">
          <label for="extract-name">Trait name</label>
          <input id="extract-name" type="text" value={name} placeholder="e.g. formal" maxLength={64} onInput={(e) => setName((e.target as HTMLInputElement).value.trim())} />
        </div>
        <div class="field">
          <label for="extract-positive">System prompt with the trait</label>
          <textarea id="extract-positive" rows={2} value={positive} placeholder="You are a formal assistant." onInput={(e) => setPositive((e.target as HTMLTextAreaElement).value)} />
        </div>
        <div class="field">
          <label for="extract-negative">System prompt without it</label>
          <textarea id="extract-negative" rows={2} value={negative} placeholder="You are a casual assistant." onInput={(e) => setNegative((e.target as HTMLTextAreaElement).value)} />
        </div>
        <div class="field">
          <label for="extract-questions">Questions, one per line</label>
          <textarea id="extract-questions" rows={4} value={questions} onInput={(e) => setQuestions((e.target as HTMLTextAreaElement).value)} />
        </div>
        <div class="row">
          <div class="field">
            <label for="extract-max-tokens">Answer tokens</label>
            <input id="extract-max-tokens" type="number" min={1} max={1024} value={maxTokens}
              onChange={(e) => setMaxTokens(Math.max(1, Math.min(1024, Math.round(Number((e.target as HTMLInputElement).value)) || 48)))} />
          </div>
          <label class="toggle">
            <input type="checkbox" checked={calibrate} onChange={(e) => setCalibrate((e.target as HTMLInputElement).checked)} />
            Calibrate a cap
          </label>
        </div>
        <div class="row">
          <button type="submit" disabled={busy || problem !== null}>Extract</button>
          {busy ? <button type="button" onClick={() => running.current?.abort()}>Cancel</button> : null}
          {!busy && problem !== null ? <span class="hint">Needs {problem}.</span> : null}
        </div>
      </form>
      <div class="extract-progress" aria-live="polite">
        {progress ? (
          <>
            <label for="extract-bar">{PHASES[progress.phase] ?? progress.phase} ({progress.done}/{progress.total})</label>
            <progress id="extract-bar" data-phase={progress.phase} max={progress.total} value={progress.done} />
          </>
        ) : null}
        {status ? <p class={status.kind === 'error' ? 'error' : 'ok'} role={status.kind === 'error' ? 'alert' : 'status'}>{status.text}</p> : null}
      </div>
    </section>
  );
}
