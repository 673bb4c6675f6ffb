// One vector of the server: an addition (on/off, coefficient slider, blocks) and a cap (on/off,
// bound slider with the calibrated threshold marked, blocks), with what its file records.
import type { WireVector } from '../api';
import { formatValue } from '../colour';
import { addRange, capBounds, capRange, capRefBlock, initialControl, type VectorControl } from '../steering';
import { Slider } from './Slider';

interface Props {
  vector: WireVector;
  control: VectorControl;
  onChange: (patch: Partial<VectorControl>) => void;
}

function BlockPicker({ id, legend, blocks, chosen, onChange }: { id: string; legend: string; blocks: number[]; chosen: number[]; onChange: (b: number[]) => void }) {
  return (
    <fieldset class="blocks">
      <legend>{legend}</legend>
      {blocks.map((b) => (
        <label key={b} class="block-chip">
          <input
            type="checkbox"
            id={`${id}-${b}`}
            checked={chosen.includes(b)}
            aria-label={`${legend} ${b}`}
            onChange={(e) => onChange((e.target as HTMLInputElement).checked ? [...chosen, b].sort((x, y) => x - y) : chosen.filter((x) => x !== b))}
          />
          <span aria-hidden="true">{b}</span>
        </label>
      ))}
    </fieldset>
  );
}

export function VectorCard({ vector: v, control: c, onChange }: Props) {
  const id = `vec-${v.name.replace(/[^A-Za-z0-9_-]/g, '_')}`;
  const ar = addRange(v, c.addBlocks);
  const cr = capRange(v);
  const ref = capRefBlock(v);
  const bounds = capBounds(v, c);
  const others = bounds.filter((b) => b.block !== ref);
  const reset = initialControl(v);
  return (
    <article class={`vector${c.add || c.cap ? ' is-on' : ''}`} aria-labelledby={`${id}-title`} data-vector={v.name}>
      <header>
        <h3 id={`${id}-title`}>{v.name}</h3>
        <span class="origin">{v.origin}</span>
      </header>
      {v.description ? <p class="description">{v.description}</p> : null}
      <p class="recorded">
        recommended blocks {v.recommended_blocks?.join(', ') ?? '—'} · coefficient {v.coefficient === null ? '—' : formatValue(v.coefficient)}
        {v.positions ? ` · ${v.positions}` : ''}
        {v.cap_thresholds ? ` · cap at ${v.cap_blocks?.join(', ')}${v.cap_positions ? ` (${v.cap_positions})` : ''}` : ''}
      </p>

      <div class="op">
        <label class="toggle">
          <input type="checkbox" id={`${id}-add`} checked={c.add} onChange={(e) => onChange({ add: (e.target as HTMLInputElement).checked })} />
          Add <span class="visually-hidden">{v.name}</span>
        </label>
        <Slider id={`${id}-scale`} label={`${v.name} add coefficient`} range={ar} value={c.scale} markLabel="recorded"
          disabled={!c.add} onInput={(scale) => onChange({ scale })} />
        <BlockPicker id={`${id}-addb`} legend={`${v.name} add at block`} blocks={v.blocks} chosen={c.addBlocks} onChange={(addBlocks) => onChange({ addBlocks })} />
        <button type="button" class="link" onClick={() => onChange({ scale: reset.scale, addBlocks: reset.addBlocks })}>recorded addition</button>
      </div>

      <div class="op">
        <label class="toggle">
          <input type="checkbox" id={`${id}-cap`} checked={c.cap} onChange={(e) => onChange({ cap: (e.target as HTMLInputElement).checked })} />
          Cap <span class="visually-hidden">{v.name}</span>
        </label>
        <Slider id={`${id}-capat`} label={`${v.name} cap (max projection at block ${ref})`} range={cr} value={c.capAt} markLabel="calibrated"
          disabled={!c.cap} onInput={(capAt) => onChange({ capAt })} />
        {others.length > 0 && cr.mark !== null ? (
          <p class="hint">
            other blocks move with it from their calibrated thresholds: {others.map((b) => `${b.block}: ${formatValue(b.max)}`).join(', ')}
          </p>
        ) : null}
        <BlockPicker id={`${id}-capb`} legend={`${v.name} cap at block`} blocks={v.blocks} chosen={c.capBlocks} onChange={(capBlocks) => onChange({ capBlocks })} />
        <button type="button" class="link" onClick={() => onChange({ capAt: reset.capAt, capBlocks: reset.capBlocks })}>calibrated cap</button>
      </div>
      {v.warnings.length > 0 ? <p class="warning">{v.warnings.join('; ')}</p> : null}
    </article>
  );
}
