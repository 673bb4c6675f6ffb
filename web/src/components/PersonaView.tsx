// What the colours and the chart show: the viewed vector and block, the colour legend, the drift
// chart, and the inspector for the token under the pointer (or the keyboard's selection).
import type { WireVector } from '../api';
import { formatValue, tokenColour, type ColourScale } from '../colour';
import type { Token } from '../conversation';
import { DriftChart, type DriftPoint } from './DriftChart';
import type { View } from './Transcript';

interface Props {
  vectors: WireVector[];
  view: View | null;
  onView: (v: View) => void;
  scale: ColourScale | null;
  points: DriftPoint[];
  threshold: number | null;
  token: { token: Token; index: number; label: string } | null;
}

function Inspector({ token, view }: { token: Props['token']; view: View | null }) {
  if (!token) return <p class="hint">Hover a token, or focus an answer and use the arrow keys, to see its projections.</p>;
  const vectors = [...new Set(token.token.proj.map((p) => p.vector))];
  const blocks = [...new Set(token.token.proj.map((p) => p.block))].sort((a, b) => a - b);
  return (
    <>
      <p>
        {token.label}, token {token.index + 1}: <code class="token-text">{JSON.stringify(token.token.text)}</code>
      </p>
      <table class="inspector-table">
        <caption class="visually-hidden">Projections of the position that produced this token, per block</caption>
        <thead>
          <tr><th scope="col">block</th>{vectors.map((v) => <th scope="col" key={v}>{v}</th>)}</tr>
        </thead>
        <tbody>
          {blocks.map((b) => (
            <tr key={b} class={view && view.block === b ? 'is-viewed' : ''}>
              <th scope="row">{b}</th>
              {vectors.map((v) => {
                const p = token.token.proj.find((x) => x.vector === v && x.block === b);
                return <td key={v} data-vector={v} data-block={b} data-value={p?.value ?? ''}>{p ? formatValue(p.value) : '—'}</td>;
              })}
            </tr>
          ))}
        </tbody>
      </table>
    </>
  );
}

export function PersonaView({ vectors, view, onView, scale, points, threshold, token }: Props) {
  const current = vectors.find((v) => v.name === view?.vector);
  return (
    <section class="panel" aria-labelledby="persona-title">
      <h2 id="persona-title">Persona</h2>
      <div class="row">
        <div class="field">
          <label for="view-vector">Colour by vector</label>
          <select id="view-vector" value={view?.vector ?? ''} onChange={(e) => {
            const v = vectors.find((x) => x.name === (e.target as HTMLSelectElement).value);
            if (v) onView({ vector: v.name, block: v.blocks.includes(view?.block ?? -1) ? view!.block : (v.recommended_blocks?.at(-1) ?? v.blocks.at(-1)!) });
          }}>
            {vectors.map((v) => <option key={v.name} value={v.name}>{v.name}</option>)}
          </select>
        </div>
        <div class="field">
          <label for="view-block">at block</label>
          <select id="view-block" value={view ? String(view.block) : ''} onChange={(e) => view && onView({ vector: view.vector, block: Number((e.target as HTMLSelectElement).value) })}>
            {(current?.blocks ?? []).map((b) => <option key={b} value={String(b)}>{b}</option>)}
          </select>
        </div>
      </div>
      {scale ? (
        <div class="legend" aria-label="Colour scale">
          <span>{formatValue(scale.centre - scale.spread)}</span>
          <span class="legend-bar" aria-hidden="true"
            style={{ background: `linear-gradient(to right, ${tokenColour(scale.centre - scale.spread, scale)}, ${tokenColour(scale.centre, scale)}, ${tokenColour(scale.centre + scale.spread, scale)})` }} />
          <span>{formatValue(scale.centre + scale.spread)}</span>
          <span class="hint">centre {formatValue(scale.centre)} ({scale.calibrated ? 'calibrated threshold' : 'median'}); orange: towards {view?.vector}</span>
        </div>
      ) : null}
      <DriftChart points={points} threshold={threshold} label={view ? `${view.vector}, block ${view.block}` : 'no vector'} />
      <h3>Token</h3>
      <div id="inspector" class="inspector" aria-live="polite">
        <Inspector token={token} view={view} />
      </div>
    </section>
  );
}
