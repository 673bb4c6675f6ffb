// A labelled range input with a number box beside it for exact values, and a mark under the track
// at a recorded value (the vector's coefficient, the calibrated threshold). Arrow keys move it by
// one step, Page Up/Down by a tenth of the range (the browser's own range-input keys).
import { formatValue } from '../colour';
import type { SliderRange } from '../steering';

interface Props {
  id: string;
  label: string;
  range: SliderRange;
  value: number;
  markLabel: string;
  disabled?: boolean;
  onInput: (value: number) => void;
}

export function Slider({ id, label, range, value, markLabel, disabled, onInput }: Props) {
  const { min, max, step, mark } = range;
  const pct = (x: number) => `${(((x - min) / (max - min)) * 100).toFixed(2)}%`;
  const set = (raw: string) => {
    const x = Number(raw);
    if (raw.trim() !== '' && Number.isFinite(x)) onInput(x);
  };
  return (
    <div class={`slider${disabled ? ' is-off' : ''}`}>
      <div class="slider-head">
        <label for={id}>{label}</label>
        <input
          type="number"
          class="slider-exact"
          aria-label={`${label} (exact value)`}
          value={Number(value.toPrecision(6))}
          step={step}
          onChange={(e) => set((e.target as HTMLInputElement).value)}
        />
      </div>
      <input
        id={id}
        type="range"
        min={min}
        max={max}
        step={step}
        value={value}
        aria-valuetext={`${formatValue(value)}${mark !== null ? ` (${markLabel} ${formatValue(mark)})` : ''}`}
        onInput={(e) => set((e.target as HTMLInputElement).value)}
      />
      <div class="slider-scale" aria-hidden="true">
        <span>{formatValue(min)}</span>
        {mark !== null && mark >= min && mark <= max ? (
          // The label hangs on the side of the mark with more room, so it never runs off the track.
          <span class={`slider-mark${(mark - min) / (max - min) > 0.5 ? ' to-left' : ''}`} style={{ left: pct(mark) }} title={`${markLabel} ${formatValue(mark)}`}>
            {(mark - min) / (max - min) > 0.5 ? `${markLabel} ${formatValue(mark)} ▲` : `▲ ${markLabel} ${formatValue(mark)}`}
          </span>
        ) : null}
        <span>{formatValue(max)}</span>
      </div>
    </div>
  );
}
