// The conversation, token by token: each token's background is its projection on the viewed
// vector and block. Hovering a token, or moving through an answer with the arrow keys once it has
// focus, shows the token's values per block in the inspector.
import { useEffect, useRef } from 'preact/hooks';
import { tokenColour, formatValue, type ColourScale } from '../colour';
import { answerText, valueOf, type Answer, type Turn } from '../conversation';
import { describeSteering } from '../steering';

export interface View { vector: string; block: number }
export interface Selection { turn: number; answer: number; token: number }

interface Props {
  turns: Turn[];
  view: View | null;
  scale: ColourScale | null;
  selection: Selection | null;
  onSelect: (s: Selection) => void;
}

const LABELS: Record<Answer['kind'], string> = { answer: 'Answer', unsteered: 'Unsteered', steered: 'Steered' };

function AnswerView({ number, answer: a, view, scale, selected, onSelect }: {
  number: number; answer: Answer; view: View | null; scale: ColourScale | null; selected: number | null; onSelect: (token: number) => void;
}) {
  const visible = a.tokens.map((t, i) => [t, i] as const).filter(([t]) => t.text !== '');
  const move = (e: KeyboardEvent) => {
    if (visible.length === 0) return;
    const pos = visible.findIndex(([, i]) => i === selected);
    let next = pos;
    if (e.key === 'ArrowRight' || e.key === 'ArrowDown') next = pos < 0 ? 0 : Math.min(visible.length - 1, pos + 1);
    else if (e.key === 'ArrowLeft' || e.key === 'ArrowUp') next = pos < 0 ? 0 : Math.max(0, pos - 1);
    else if (e.key === 'Home') next = 0;
    else if (e.key === 'End') next = visible.length - 1;
    else return;
    e.preventDefault();
    onSelect(visible[next]![1]);
  };
  const steering = a.request.steering;
  const label = `${LABELS[a.kind]} ${number}`;
  return (
    <div class={`answer kind-${a.kind}`} data-kind={a.kind} data-done={a.done ? 'true' : 'false'}>
      <div class="answer-meta">
        <strong>{LABELS[a.kind]}</strong>
        {a.kind !== 'unsteered' ? <span>{describeSteering(steering, a.request.steering_positions)}</span> : null}
        <span>seed {a.request.seed}</span>
        {a.usage ? <span>{a.usage.completion_tokens} tokens</span> : null}
        {a.finish ? <span>{a.finish}</span> : null}
        {!a.done ? <span class="streaming" aria-hidden="true">streaming…</span> : null}
      </div>
      <div
        class="answer-text"
        tabIndex={0}
        role="group"
        aria-label={`${label}: use the arrow keys to inspect its tokens`}
        aria-busy={!a.done}
        aria-describedby="inspector"
        data-text={answerText(a)}
        onKeyDown={move}
        onFocus={() => { if (selected === null && visible.length > 0) onSelect(visible[0]![1]); }}
        onMouseOver={(e) => {
          const i = (e.target as HTMLElement).dataset?.i;
          if (i !== undefined) onSelect(Number(i));
        }}
      >
        {visible.map(([t, i]) => {
          const v = view ? valueOf(t.proj, view.vector, view.block) : null;
          const title = view ? t.proj.filter((p) => p.vector === view.vector).map((p) => `block ${p.block}: ${formatValue(p.value)}`).join('\n') : '';
          return (
            <span key={i} class={`tok${selected === i ? ' is-selected' : ''}`} data-i={i} data-value={v ?? ''}
              style={v !== null && scale ? { background: tokenColour(v, scale) } : undefined} title={title ? `${view!.vector}\n${title}` : undefined}>
              {t.text}
            </span>
          );
        })}
      </div>
      {a.error ? <p class="error" role="alert">{a.error}</p> : null}
    </div>
  );
}

export function Transcript({ turns, view, scale, selection, onSelect }: Props) {
  const end = useRef<HTMLDivElement>(null);
  const tokens = turns.reduce((n, t) => n + t.answers.reduce((m, a) => m + a.tokens.length, 0), 0);
  useEffect(() => {
    end.current?.scrollIntoView({ block: 'nearest' });
  }, [turns.length, tokens]);
  if (turns.length === 0) {
    return <p class="empty">Ask something below. Switch a vector on in the panel to steer the next answer; tick “Compare” to see it beside the unsteered one.</p>;
  }
  return (
    <>
      <ol class="turns">
        {turns.map((t, n) => (
          <li key={t.id} class="turn" data-turn={n + 1}>
            <div class="question"><span class="visually-hidden">You: </span>{t.user}</div>
            <div class={`answers n${t.answers.length}`}>
              {t.answers.map((a, i) => (
                <AnswerView key={i} number={n + 1} answer={a} view={view} scale={scale}
                  selected={selection && selection.turn === t.id && selection.answer === i ? selection.token : null}
                  onSelect={(token) => onSelect({ turn: t.id, answer: i, token })} />
              ))}
            </div>
          </li>
        ))}
      </ol>
      <div ref={end} />
    </>
  );
}
