// Every step's gates and states of one direction of one recurrent layer, from the layer's own
// weights (models/recurrentLayer.ts), its input sequence and the hidden states the runtime produced.
//
// The previous hidden state h_{t-1} of each step is the runtime's own output, so the pre-activations
// of all steps are two matrix products (x·W and h_prev·R) instead of T small ones; only the LSTM cell
// c_t = f ⊙ c_{t-1} + i ⊙ C̃ runs step by step (element-wise). The recomputed h_t is then compared
// with the runtime's h_t at every step: if they differ by more than the tolerance, the result says
// so (and where) instead of passing off gates that would be wrong.
import { Activation, Cell, Direction, GATES, gateCount, RecurrentDirection } from "../../models/recurrentLayer";
import { checkpoint } from "./checkpoint";
import { Gemm, gemm as defaultGemm, lstmGatesOrt, mulTanh, preActivations } from "./gemm";

export interface GateCheck {
  /** Largest |recomputed h_t - runtime h_t| over all steps and units. */
  maxAbsDiff: number;
  /** The step where it is largest. */
  worstStep: number;
  tolerance: number;
  ok: boolean;
}

export interface DirectionGates {
  cell: Cell;
  direction: Direction;
  units: number;
  steps: number;
  /** Gate and state name -> [T, H] row-major, rows in input (time) order for both directions. */
  values: Record<string, Float32Array>;
  check: GateCheck;
}

/** The names a direction reports, gates first then states: LSTM input, forget, candidate, output, cell, hidden. */
export function valueNames(cell: Cell): string[] {
  return cell === "lstm" ? [...GATES.lstm, "cell", "hidden"] : cell === "gru" ? [...GATES.gru, "hidden"] : ["hidden"];
}

export const DEFAULT_TOLERANCE = 1e-5;

/** out[t, j] = act(src[t * stride + offset + j]) for every step t and unit j < H, the common activations inline. */
function activateInto(act: Activation, src: Float32Array, T: number, stride: number, offset: number, H: number, out: Float32Array): void {
  const k = act.kind?.name;
  for (let t = 0; t < T; t++) {
    const i0 = t * stride + offset;
    const o0 = t * H;
    if (k === "sigmoid") for (let j = 0; j < H; j++) out[o0 + j] = 1 / (1 + Math.exp(-src[i0 + j]));
    else if (k === "tanh") for (let j = 0; j < H; j++) out[o0 + j] = Math.tanh(src[i0 + j]);
    else if (k === "hardsigmoid") {
      const a = act.kind!.alpha;
      const b = act.kind!.beta;
      for (let j = 0; j < H; j++) {
        const v = a * src[i0 + j] + b;
        out[o0 + j] = v < 0 ? 0 : v > 1 ? 1 : v;
      }
    } else for (let j = 0; j < H; j++) out[o0 + j] = act(src[i0 + j]);
  }
}

/**
 * @param x        the layer's input, [T, I] row-major, in time order
 * @param runtimeH the runtime's hidden state for this direction, [T, H], in time order
 */
export async function directionGates(d: RecurrentDirection, x: Float32Array, runtimeH: Float32Array, opts: { gemm?: Gemm; tolerance?: number } = {}): Promise<DirectionGates> {
  const gemm = opts.gemm ?? defaultGemm;
  const tolerance = opts.tolerance ?? DEFAULT_TOLERANCE;
  const H = d.units;
  const I = d.inputSize;
  const G = gateCount(d.cell);
  const GH = G * H;
  const T = x.length / I;
  if (!Number.isInteger(T) || runtimeH.length !== T * H) throw new Error(`gates: input has ${x.length} values for ${I} features, hidden state ${runtimeH.length} for ${H} units`);
  const forward = d.direction === "forward";
  const h0 = d.initialH ?? new Float32Array(H);

  // h_{t-1} of each step, as the runtime computed it (the step before in processing order).
  const hPrev = new Float32Array(T * H);
  if (forward) {
    hPrev.set(h0, 0);
    hPrev.set(runtimeH.subarray(0, (T - 1) * H), H);
  } else {
    hPrev.set(runtimeH.subarray(H), 0);
    hPrev.set(h0, (T - 1) * H);
  }
  const b = new Float32Array(GH);
  for (let k = 0; k < GH; k++) b[k] = d.bW[k] + d.bR[k];
  // Pre-activations of every gate at every step (before peepholes and clipping): x·W + h_prev·R + b.
  // The GRU's candidate keeps its two halves apart (x·W_h + bW_h and h_prev·R_h + bR_h).
  let z: Float32Array | undefined;
  let xW: Float32Array | undefined;
  let hR: Float32Array | undefined;
  // An LSTM whose gates read no cell state: all four gates of all steps in one onnxruntime run.
  const simpleLstm = d.cell === "lstm" && !d.peephole && d.clip === undefined && !d.inputForget && T * (I + H) * GH >= 500_000;
  const gatesDone = simpleLstm ? await lstmGatesOrt(x, T, I, d.W, hPrev, H, d.R, b, d.f.kind, d.g.kind) : undefined;
  // a cancel is let in between the phases (each a few hundred ms at most on 20,000 steps)
  await checkpoint();
  if (gatesDone) {
    // the gates are done: no pre-activations needed here
  } else if (d.cell === "gru") {
    xW = await gemm(x, T, I, d.W, GH);
    hR = await gemm(hPrev, T, H, d.R, GH);
    z = new Float32Array(T * GH);
    for (let t = 0; t < T; t++) {
      const row = t * GH;
      for (let k = 0; k < GH; k++) z[row + k] = xW[row + k] + hR[row + k] + b[k];
    }
  } else {
    z = await preActivations(x, T, I, d.W, hPrev, H, d.R, b, GH);
  }

  await checkpoint();
  const clip = d.clip;
  const pre = (v: number) => (clip === undefined ? v : v > clip ? clip : v < -clip ? -clip : v);
  const names = valueNames(d.cell);
  const provided = new Set(gatesDone ? ["input", "forget", "candidate", "output"] : []);
  const values: Record<string, Float32Array> = Object.fromEntries(names.map((n) => [n, provided.has(n) ? new Float32Array(0) : new Float32Array(T * H)]));
  const hidden = values.hidden;

  if (d.cell === "lstm") {
    const [gi, gf, gc, go] = [0, 1, 2, 3].map((k) => k * H);
    const { input, forget, candidate, output, cell } = values;
    const c = Float64Array.from(d.initialC ?? new Float32Array(H));
    const peep = d.peephole;
    if (!peep && clip === undefined && !d.inputForget) {
      // No gate reads the cell: every gate of every step at once, then the cell recursion alone.
      if (gatesDone) {
        [values.input, values.forget, values.candidate, values.output] = gatesDone;
      } else {
        activateInto(d.f, z!, T, GH, gi, H, input);
        activateInto(d.f, z!, T, GH, gf, H, forget);
        activateInto(d.g, z!, T, GH, gc, H, candidate);
        activateInto(d.f, z!, T, GH, go, H, output);
      }
      const [iv, fv, gv, ov] = [values.input, values.forget, values.candidate, values.output];
      for (let s = 0; s < T; s++) {
        const at = (forward ? s : T - 1 - s) * H;
        for (let j = 0; j < H; j++) {
          const cNew = fv[at + j] * c[j] + iv[at + j] * gv[at + j];
          c[j] = cNew;
          cell[at + j] = cNew;
        }
      }
      if (gatesDone && d.h.kind?.name === "tanh") values.hidden = await mulTanh(ov, cell);
      else {
        activateInto(d.h, cell, T, H, 0, H, hidden);
        for (let a = 0; a < T * H; a++) hidden[a] *= ov[a];
      }
    } else for (let s = 0; s < T; s++) {
      const t = forward ? s : T - 1 - s;
      const row = t * GH;
      for (let j = 0; j < H; j++) {
        const cPrev = c[j];
        const i = d.f(pre(z![row + gi + j] + (peep ? peep.i[j] * cPrev : 0)));
        const f = d.inputForget ? 1 - i : d.f(pre(z![row + gf + j] + (peep ? peep.f[j] * cPrev : 0)));
        const g = d.g(pre(z![row + gc + j]));
        const cNew = f * cPrev + i * g;
        const o = d.f(pre(z![row + go + j] + (peep ? peep.o[j] * cNew : 0)));
        c[j] = cNew;
        const at = t * H + j;
        input[at] = i;
        forget[at] = f;
        candidate[at] = g;
        output[at] = o;
        cell[at] = cNew;
        hidden[at] = o * d.h(cNew);
      }
    }
  } else if (d.cell === "gru") {
    const { update, reset, candidate } = values;
    const [gz, gr, gh] = [0, H, 2 * H];
    for (let t = 0; t < T; t++) {
      const row = t * GH;
      for (let j = 0; j < H; j++) {
        update[t * H + j] = d.f(pre(z![row + gz + j]));
        reset[t * H + j] = d.f(pre(z![row + gr + j]));
      }
    }
    // Reset before the product (Keras, ONNX's default): (r ⊙ h_prev)·R_h, one more matrix product.
    let rhR: Float32Array | undefined;
    if (!d.linearBeforeReset) {
      const Rh = new Float32Array(H * H);
      for (let k = 0; k < H; k++) Rh.set(d.R.subarray(k * GH + gh, k * GH + gh + H), k * H);
      const rh = new Float32Array(T * H);
      for (let a = 0; a < T * H; a++) rh[a] = reset[a] * hPrev[a];
      rhR = await gemm(rh, T, H, Rh, H);
    }
    for (let t = 0; t < T; t++) {
      const row = t * GH;
      for (let j = 0; j < H; j++) {
        const at = t * H + j;
        const recurrent = rhR ? rhR[at] + d.bR[gh + j] : reset[at] * (hR![row + gh + j] + d.bR[gh + j]);
        const hh = d.g(pre(xW![row + gh + j] + d.bW[gh + j] + recurrent));
        candidate[at] = hh;
        const z = update[at];
        hidden[at] = (1 - z) * hh + z * hPrev[at];
      }
    }
  } else {
    for (let a = 0; a < T * H; a++) hidden[a] = d.f(pre(z![a]));
  }

  await checkpoint();
  let maxAbsDiff = 0;
  let worstStep = -1;
  const recomputed = values.hidden;
  for (let a = 0; a < T * H; a++) {
    const diff = Math.abs(recomputed[a] - runtimeH[a]);
    if (!(diff <= maxAbsDiff)) {
      maxAbsDiff = Number.isNaN(diff) ? Infinity : diff;
      worstStep = Math.floor(a / H);
    }
  }
  return { cell: d.cell, direction: d.direction, units: H, steps: T, values, check: { maxAbsDiff, worstStep, tolerance, ok: maxAbsDiff <= tolerance } };
}
