// The vector panel's state and what it sends. Each vector has an addition (on/off, coefficient,
// blocks) and a cap (on/off, a bound, blocks). Slider ranges come from what the vector's file
// records (docs/server.md#vectors): the coefficient its sweep chose, and the residual norms r_b
// (the typical size of the block's residual stream), with the vector's own norms |v_b|.
import type { Positions, WireOp, WireVector } from './api';

export interface VectorControl {
  add: boolean;
  scale: number;
  addBlocks: number[];
  cap: boolean;
  /** The cap's bound at capRefBlock(v); other cap blocks keep their calibrated offsets (capBounds). */
  capAt: number;
  capBlocks: number[];
}

export interface SliderRange { min: number; max: number; step: number; mark: number | null }

/** A round number at or above x (1, 2, 5 times a power of ten). */
export function niceCeil(x: number): number {
  if (!(x > 0) || !Number.isFinite(x)) return 1;
  const p = 10 ** Math.floor(Math.log10(x));
  for (const m of [1, 2, 5, 10]) if (m * p >= x * (1 - 1e-9)) return m * p;
  return 10 * p;
}

const last = <T>(a: readonly T[] | null | undefined): T | undefined => (a && a.length > 0 ? a[a.length - 1] : undefined);

export function addBlocksDefault(v: WireVector): number[] {
  return v.recommended_blocks && v.recommended_blocks.length > 0 ? [...v.recommended_blocks] : [...v.blocks];
}

export function capBlocksDefault(v: WireVector): number[] {
  return v.cap_blocks && v.cap_blocks.length > 0 ? [...v.cap_blocks] : addBlocksDefault(v);
}

/** The calibrated threshold recorded for a block, if any. */
export function thresholdAt(v: WireVector, block: number): number | null {
  if (!v.cap_blocks || !v.cap_thresholds) return null;
  const i = v.cap_blocks.indexOf(block);
  return i >= 0 ? v.cap_thresholds[i] ?? null : null;
}

export function residualNormAt(v: WireVector, block: number): number | null {
  return v.residual_norms?.[block] ?? null;
}

/**
 * The coefficient slider: symmetric around 0, wide enough for twice the recorded coefficient and
 * for the scale at which the addition is as large as the residual stream (r_b / |v_b|).
 */
export function addRange(v: WireVector, blocks: readonly number[] = addBlocksDefault(v)): SliderRange {
  let reach = v.coefficient !== null ? 2 * Math.abs(v.coefficient) : 0;
  for (const b of blocks) {
    const r = residualNormAt(v, b);
    const n = v.vector_norms[v.blocks.indexOf(b)];
    if (r !== null && n !== undefined && n > 0) reach = Math.max(reach, r / n);
  }
  const max = niceCeil(reach > 0 ? reach : 1);
  return { min: -max, max, step: max / 200, mark: v.coefficient };
}

/** The block the cap slider speaks for: the deepest recommended block it caps, else its last cap block. */
export function capRefBlock(v: WireVector): number {
  const caps = capBlocksDefault(v);
  const rec = [...(v.recommended_blocks ?? [])].reverse().find((b) => caps.includes(b));
  return rec ?? last(caps) ?? v.blocks[0]!;
}

/**
 * The cap slider, in projection units at capRefBlock: centred on the calibrated threshold (the
 * mark), reaching half the block's residual norm either way; without a threshold, centred on 0.
 */
export function capRange(v: WireVector): SliderRange {
  const b = capRefBlock(v);
  const t = thresholdAt(v, b);
  const r = residualNormAt(v, b);
  const half = niceCeil(r !== null ? r / 2 : Math.max(1, Math.abs(t ?? 0) * 2));
  const centre = t ?? 0;
  return { min: centre - half, max: centre + half, step: half / 200, mark: t };
}

export function initialControl(v: WireVector): VectorControl {
  const capMark = capRange(v).mark;
  return {
    add: false,
    scale: v.coefficient ?? 0,
    addBlocks: addBlocksDefault(v),
    cap: false,
    capAt: capMark ?? 0,
    capBlocks: capBlocksDefault(v),
  };
}

/**
 * Each capped block's bound. The slider sets the bound at the reference block; a block with a
 * calibrated threshold of its own is moved by the same amount from it (at the mark, every block is
 * at its calibrated threshold); a block without one takes the slider's value.
 */
export function capBounds(v: WireVector, c: VectorControl): { block: number; max: number }[] {
  const ref = thresholdAt(v, capRefBlock(v));
  const offset = ref === null ? null : c.capAt - ref;
  return [...c.capBlocks].sort((a, b) => a - b).map((block) => {
    const t = thresholdAt(v, block);
    return { block, max: t !== null && offset !== null ? t + offset : c.capAt };
  });
}

/** The cap in effect at a block (for the drift chart's line), or null. */
export function capAtBlock(v: WireVector | undefined, c: VectorControl | undefined, block: number): number | null {
  if (!v || !c || !c.cap) return null;
  return capBounds(v, c).find((x) => x.block === block)?.max ?? null;
}

const round = (x: number) => Number(x.toPrecision(6));

export type PositionsChoice = 'recorded' | Positions;

export interface SteeringRequest {
  steering: WireOp[] | false;
  steering_positions?: Positions;
  /** Set when the request cannot be built as asked (the page says why instead of sending). */
  problem?: string;
}

/**
 * The request's steering from the panel. With 'recorded' positions the page applies what the
 * vectors' files recorded (positions for an addition, cap_positions for a cap), as the library's
 * personaPlan does; an explicit cap bound would otherwise lose its recorded positions on the server.
 */
export function steeringRequest(vectors: readonly WireVector[], controls: Readonly<Record<string, VectorControl>>, choice: PositionsChoice): SteeringRequest {
  const ops: WireOp[] = [];
  const recorded = new Map<Positions, string[]>();
  const note = (p: Positions | null, what: string) => {
    if (p !== null) recorded.set(p, [...(recorded.get(p) ?? []), what]);
  };
  for (const v of vectors) {
    const c = controls[v.name];
    if (!c) continue;
    if (c.add) {
      if (c.addBlocks.length === 0) return { steering: false, problem: `${v.name}: choose at least one block to add at` };
      ops.push({ op: 'add', vector: v.name, scale: round(c.scale), blocks: [...c.addBlocks].sort((a, b) => a - b) });
      note(v.positions, `${v.name} (add)`);
    }
  }
  for (const v of vectors) {
    const c = controls[v.name];
    if (!c || !c.cap) continue;
    if (c.capBlocks.length === 0) return { steering: false, problem: `${v.name}: choose at least one block to cap at` };
    for (const { block, max } of capBounds(v, c)) ops.push({ op: 'cap', vector: v.name, max: round(max), blocks: [block] });
    note(v.cap_positions, `${v.name} (cap)`);
  }
  if (ops.length === 0) return { steering: false };
  if (choice !== 'recorded') return { steering: ops, steering_positions: choice };
  if (recorded.size > 1) {
    const list = [...recorded].map(([p, who]) => `${who.join(', ')}: ${p}`).join('; ');
    return { steering: false, problem: `the vectors recorded different positions (${list}); choose the positions in Settings` };
  }
  const only = [...recorded.keys()][0];
  return only === undefined ? { steering: ops } : { steering: ops, steering_positions: only };
}

/** A short human summary of the steering, for an answer's caption. */
export function describeSteering(ops: WireOp[] | false, positions?: Positions): string {
  if (ops === false || ops.length === 0) return 'unsteered';
  const parts: string[] = [];
  for (const o of ops) {
    if (o.op === 'add') parts.push(`${o.vector} +${o.scale} at ${o.blocks.join(',')}`);
    else parts.push(`${o.vector} ≤ ${o.max} at ${o.blocks?.join(',')}`);
  }
  return `${parts.join('; ')}${positions ? ` (${positions})` : ''}`;
}
