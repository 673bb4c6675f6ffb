// The playground: the server's vectors on the left, the chat in the middle, the persona view and
// the settings on the right (one column on a narrow window). Every answer streams from
// /v1/chat/completions with the panel's steering and every vector monitored at every block.
import { useCallback, useEffect, useMemo, useReducer, useRef, useState } from 'preact/hooks';
import {
  getModel, isAbort, listVectors, postStream, RequestError, setApiKey,
  type ChatRequest, type WireModel, type WireProjection, type WireVector,
} from '../api';
import { colourScale } from '../colour';
import { capInRequest, conversationReducer, history, mainAnswer, valueOf, type Answer, type Turn } from '../conversation';
import { initialControl, steeringRequest, thresholdAt, type VectorControl } from '../steering';
import { Composer } from './Composer';
import type { DriftPoint } from './DriftChart';
import { ExtractPanel } from './ExtractPanel';
import { PersonaView } from './PersonaView';
import { DEFAULT_SETTINGS, SettingsPanel, type Settings } from './SettingsPanel';
import { Transcript, type Selection, type View } from './Transcript';
import { VectorCard } from './VectorCard';

interface StreamChunk {
  choices?: { delta?: { role?: string; content?: string }; finish_reason?: string | null }[];
  persona?: { last_prompt?: WireProjection[]; tokens?: WireProjection[][] };
  usage?: { prompt_tokens: number; completion_tokens: number };
}

const MONITOR_LIMIT = 64;

function randomSeed(): number {
  return crypto.getRandomValues(new Uint32Array(1))[0]!;
}

function defaultView(v: WireVector): View {
  return { vector: v.name, block: v.recommended_blocks?.at(-1) ?? v.blocks.at(-1)! };
}

export function App() {
  const [model, setModel] = useState<WireModel | null>(null);
  const [vectors, setVectors] = useState<WireVector[]>([]);
  const [controls, setControls] = useState<Record<string, VectorControl>>({});
  const [settings, setSettings] = useState<Settings>(DEFAULT_SETTINGS);
  const [view, setView] = useState<View | null>(null);
  const [turns, dispatch] = useReducer(conversationReducer, [] as Turn[]);
  const [selection, setSelection] = useState<Selection | null>(null);
  const [compare, setCompare] = useState(false);
  const [busy, setBusy] = useState<AbortController | null>(null);
  const [banner, setBanner] = useState<string | null>(null);
  const [status, setStatus] = useState('');
  const [lastRequest, setLastRequest] = useState<ChatRequest[] | null>(null);
  const nextId = useRef(1);

  const load = useCallback(async () => {
    try {
      const [m, list] = await Promise.all([getModel(), listVectors()]);
      setModel(m);
      setVectors(list);
      setControls((old) => Object.fromEntries(list.map((v) => [v.name, old[v.name] ?? initialControl(v)])));
      setView((old) => (old && list.some((v) => v.name === old.vector) ? old : list[0] ? defaultView(list[0]) : null));
      setBanner(m.persona_steer?.chat_template === false
        ? 'This model has no chat template, so the chat cannot format messages for it (POST /v1/completions takes plain text).' : null);
    } catch (e) {
      if (e instanceof RequestError && e.status === 401) setBanner('This server needs an API key: enter it under Settings, then press “Reload”.');
      else setBanner(`Cannot reach the server: ${(e as Error).message}`);
    }
  }, []);

  useEffect(() => {
    void load();
  }, [load]);

  const patchSettings = (patch: Partial<Settings>) => {
    if (patch.apiKey !== undefined) setApiKey(patch.apiKey);
    setSettings((s) => ({ ...s, ...patch }));
  };

  const send = (text: string): boolean => {
    if (busy) return false;
    const steer = steeringRequest(vectors, controls, settings.positions);
    if (steer.problem) {
      setBanner(`Not sent: ${steer.problem}.`);
      return false;
    }
    setBanner(null);
    const seed = settings.seed !== '' ? Number(settings.seed) : randomSeed();
    const monitored = view ? [view.vector, ...vectors.map((v) => v.name).filter((n) => n !== view.vector)] : vectors.map((v) => v.name);
    const base = {
      messages: [...history(settings.system, turns), { role: 'user' as const, content: text }],
      stream: true as const,
      stream_options: { include_usage: true as const },
      max_tokens: Math.min(settings.max_tokens, model?.persona_steer?.max_tokens ?? settings.max_tokens),
      temperature: settings.temperature,
      top_p: settings.top_p,
      top_k: settings.top_k,
      min_p: settings.min_p,
      seed,
      monitor: monitored.length > 0 ? monitored.slice(0, MONITOR_LIMIT).map((vector) => ({ vector, blocks: 'all' as const })) : (false as const),
    };
    const steered: ChatRequest = { ...base, steering: steer.steering, ...(steer.steering_positions ? { steering_positions: steer.steering_positions } : {}) };
    const requests: { kind: Answer['kind']; request: ChatRequest }[] = compare
      ? [{ kind: 'unsteered', request: { ...base, steering: false } }, { kind: 'steered', request: steered }]
      : [{ kind: 'answer', request: steered }];
    const id = nextId.current++;
    dispatch({
      type: 'start',
      turn: { id, user: text, answers: requests.map(({ kind, request }) => ({ kind, request, tokens: [], lastPrompt: null, finish: null, error: null, done: false, usage: null })) },
    });
    setLastRequest(requests.map((r) => r.request));
    const ac = new AbortController();
    setBusy(ac);
    setStatus('Answering…');
    void Promise.all(requests.map(async ({ request }, answer) => {
      try {
        await postStream('/v1/chat/completions', request, (ev) => {
          const c = ev as StreamChunk;
          const choice = c.choices?.[0];
          if (c.usage) dispatch({ type: 'usage', turn: id, answer, usage: c.usage });
          if (!choice) return;
          const delta = choice.delta ?? {};
          if (delta.role === undefined && delta.content !== undefined) {
            dispatch({ type: 'token', turn: id, answer, token: { text: delta.content, proj: c.persona?.tokens?.[0] ?? [] }, lastPrompt: c.persona?.last_prompt });
          }
          if (choice.finish_reason) dispatch({ type: 'finish', turn: id, answer, reason: choice.finish_reason });
        }, ac.signal);
        dispatch({ type: 'end', turn: id, answer });
      } catch (e) {
        dispatch({ type: 'end', turn: id, answer, error: isAbort(e) ? 'Stopped.' : (e as Error).message });
      }
    })).then(() => {
      setBusy(null);
      setStatus(ac.signal.aborted ? 'Stopped.' : 'Answer complete.');
    });
    return true;
  };

  const reset = () => {
    busy?.abort();
    dispatch({ type: 'reset' });
    setSelection(null);
    setStatus('Conversation cleared.');
  };

  const viewVector = vectors.find((v) => v.name === view?.vector);
  const threshold = viewVector && view ? thresholdAt(viewVector, view.block) : null;

  const scale = useMemo(() => {
    if (!view) return null;
    const values: number[] = [];
    for (const t of turns) for (const a of t.answers) for (const k of a.tokens) {
      const x = valueOf(k.proj, view.vector, view.block);
      if (x !== null) values.push(x);
    }
    return values.length > 0 ? colourScale(values, threshold) : null;
  }, [turns, view, threshold]);

  const points = useMemo<DriftPoint[]>(() => {
    if (!view) return [];
    return turns.map((t, i) => {
      const main = mainAnswer(t)!;
      return {
        turn: i + 1,
        value: valueOf(main.lastPrompt, view.vector, view.block),
        unsteered: t.answers.length > 1 ? valueOf(t.answers[0]!.lastPrompt, view.vector, view.block) : null,
        cap: capInRequest(main, view.vector, view.block),
      };
    });
  }, [turns, view]);

  const inspected = useMemo(() => {
    if (!selection) return null;
    const n = turns.findIndex((x) => x.id === selection.turn);
    const a = turns[n]?.answers[selection.answer];
    const token = a?.tokens[selection.token];
    if (!a || !token) return null;
    const label = `${a.kind === 'answer' ? 'Answer' : a.kind === 'steered' ? 'Steered answer' : 'Unsteered answer'} ${n + 1}`;
    return { token, index: selection.token, label };
  }, [selection, turns]);

  const info = model?.persona_steer;
  return (
    <div class="app">
      <header class="top">
        <h1>persona-steer playground</h1>
        <p class="model">
          {model ? <>model <strong>{model.id}</strong>{info ? ` · ${info.architecture}, ${info.n_layer} blocks, embedding size ${info.n_embd}` : ''}</> : 'connecting…'}
        </p>
        <p class="status" role="status" aria-live="polite">{status}</p>
      </header>
      {banner ? (
        <div class="banner" role="alert">
          <span>{banner}</span>
          <button type="button" onClick={() => setBanner(null)} aria-label="Dismiss message">×</button>
        </div>
      ) : null}
      <main class="layout">
        <section class="col-vectors panel" aria-labelledby="vectors-title">
          <div class="panel-head">
            <h2 id="vectors-title">Vectors</h2>
            <button type="button" onClick={() => void load()}>Reload</button>
          </div>
          <p class="hint">Changes apply to the next message.</p>
          {vectors.length === 0 ? <p class="hint">The server has no vectors yet: extract one on the right.</p> : null}
          {vectors.map((v) => (
            <VectorCard key={v.name} vector={v} control={controls[v.name] ?? initialControl(v)}
              onChange={(patch) => setControls((c) => ({ ...c, [v.name]: { ...(c[v.name] ?? initialControl(v)), ...patch } }))} />
          ))}
        </section>
        <section class="col-chat" aria-labelledby="chat-title">
          <h2 id="chat-title" class="visually-hidden">Chat</h2>
          <div class="transcript">
            <Transcript turns={turns} view={view} scale={scale} selection={selection} onSelect={setSelection} />
          </div>
          <Composer busy={busy !== null} compare={compare} onCompare={setCompare} onSend={send} onStop={() => busy?.abort()} onReset={reset} />
          <details class="last-request">
            <summary>Last request</summary>
            <pre id="last-request">{lastRequest ? JSON.stringify(lastRequest.length === 1 ? lastRequest[0] : lastRequest, null, 2) : 'none yet'}</pre>
          </details>
        </section>
        <div class="col-side">
          <PersonaView vectors={vectors} view={view} onView={setView} scale={scale} points={points} threshold={threshold} token={inspected} />
          <SettingsPanel settings={settings} maxTokens={info?.max_tokens ?? 1024} onChange={patchSettings} />
          <ExtractPanel names={vectors.map((v) => v.name)} onAdded={() => void load()} />
        </div>
      </main>
    </div>
  );
}
