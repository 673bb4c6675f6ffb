// Persona drift: the last-prompt projection of each turn (the projection at the prompt's last
// token, which predicts the persona of the answer) on the viewed vector and block, with the cap in
// effect drawn as a line and the calibrated threshold dashed. uPlot draws it; a table under it
// holds the same numbers for screen readers and for copying.
import { useEffect, useRef } from 'preact/hooks';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import { formatValue } from '../colour';

export interface DriftPoint {
  turn: number;
  /** The conversation's answer (the steered one in compare mode). */
  value: number | null;
  /** The unsteered answer of a compare turn. */
  unsteered: number | null;
  /** The cap bound the turn's request set at this block. */
  cap: number | null;
}

interface Props {
  points: DriftPoint[];
  threshold: number | null;
  label: string;
}

const HEIGHT = 200;

function columns(points: DriftPoint[], threshold: number | null): uPlot.AlignedData {
  return [
    points.map((p) => p.turn),
    points.map((p) => p.value),
    points.map((p) => p.unsteered),
    points.map((p) => p.cap),
    points.map(() => threshold),
  ];
}

export function DriftChart({ points, threshold, label }: Props) {
  const box = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);

  useEffect(() => {
    const el = box.current!;
    const axis = { stroke: 'currentColor', grid: { stroke: 'rgba(128,128,128,0.25)' }, ticks: { stroke: 'rgba(128,128,128,0.4)' } };
    const opts: uPlot.Options = {
      width: Math.max(200, el.clientWidth),
      height: HEIGHT,
      scales: {
        x: { time: false, range: (_u, min, max) => [Math.min(0.5, min - 0.5), Math.max(1.5, max + 0.5)] },
        y: { range: (_u, min, max) => (min === max ? [min - 1, max + 1] : [min - 0.1 * (max - min), max + 0.1 * (max - min)]) },
      },
      axes: [
        { ...axis, label: 'turn', incrs: [1, 2, 5, 10, 20, 50, 100], values: (_u, ticks) => ticks.map((t) => String(t)) },
        { ...axis, label: 'projection', size: 56 },
      ],
      series: [
        { label: 'turn', value: (_u, v) => (v == null ? '—' : String(v)) },
        { label: 'last prompt', stroke: '#d9711c', width: 2, points: { show: true, size: 7 }, value: (_u, v) => (v == null ? '—' : formatValue(v)) },
        { label: 'unsteered', stroke: '#7a7a7a', width: 2, points: { show: true, size: 6 }, value: (_u, v) => (v == null ? '—' : formatValue(v)) },
        { label: 'cap', stroke: '#c0392b', width: 2, paths: uPlot.paths.stepped!({ align: 1 }), points: { show: true, size: 5 }, value: (_u, v) => (v == null ? '—' : formatValue(v)) },
        { label: 'calibrated', stroke: '#2a6fd6', width: 1, dash: [6, 4], points: { show: false }, value: (_u, v) => (v == null ? '—' : formatValue(v)) },
      ],
      // The table under the chart has the values; the legend only names the lines.
      legend: { live: false },
      cursor: { drag: { x: false, y: false } },
    };
    plot.current = new uPlot(opts, columns([], null), el);
    const ro = new ResizeObserver(() => {
      if (plot.current && el.clientWidth > 0) plot.current.setSize({ width: el.clientWidth, height: HEIGHT });
    });
    ro.observe(el);
    return () => {
      ro.disconnect();
      plot.current?.destroy();
      plot.current = null;
    };
  }, []);

  useEffect(() => {
    plot.current?.setData(columns(points, threshold));
  }, [points, threshold]);

  return (
    <figure class="drift">
      <div ref={box} class="drift-plot" role="img" aria-label={`Persona drift chart: ${label}, ${points.length} turn${points.length === 1 ? '' : 's'}`} data-turns={points.length} />
      <figcaption>
        Last-prompt projection per turn on <strong>{label}</strong>
        {threshold !== null ? <> · calibrated threshold {formatValue(threshold)}</> : null}
      </figcaption>
      <details class="drift-values">
        <summary>Chart values</summary>
        <table>
          <thead><tr><th scope="col">turn</th><th scope="col">last prompt</th><th scope="col">unsteered</th><th scope="col">cap</th></tr></thead>
          <tbody>
            {points.map((p) => (
              <tr key={p.turn} data-turn={p.turn}>
                <th scope="row">{p.turn}</th>
                <td data-value={p.value ?? ''}>{p.value === null ? '—' : formatValue(p.value)}</td>
                <td data-value={p.unsteered ?? ''}>{p.unsteered === null ? '—' : formatValue(p.unsteered)}</td>
                <td data-value={p.cap ?? ''}>{p.cap === null ? '—' : formatValue(p.cap)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </details>
    </figure>
  );
}
