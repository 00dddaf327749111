// Gates: a recurrent model's gates and states per step (LSTM, GRU, SimpleRNN), a series model's
// forecasts, input gradients, and reading a selection as numbers. Engine methods (`seqlens gates`,
// `forecast`, `gradients`) and the Gates panel's messages both ways.
import * as v from "valibot";
import type { SliceResult } from "./basics";
import { type ErrorReply, gateName, handle, modelSpec, nonNegInt, num, numberArray, numberRows, pngDataUrl, rangeRestore, validator } from "./schema";

export const GATES_VIEW_TYPE = "seqlens.gates";

/** One direction of one recurrent layer in a gates run. */
export interface GatesLayerInfo {
  /** Index into the run's directions (what gateSlice takes). */
  index: number;
  layer: number;
  direction: "forward" | "reverse";
  cell: "lstm" | "gru" | "simple_rnn";
  units: number;
  inputSize: number;
  activations: string[];
  /** Gates and states reported, e.g. input, forget, candidate, output, cell, hidden. */
  names: string[];
  /** The recomputed h_t against the runtime's own output at every step. */
  check: { maxAbsDiff: number; worstStep: number; tolerance: number; ok: boolean };
}

export interface GatesResult {
  handle: string;
  model: string;
  name: string;
  runtime: "onnx" | "tfjs";
  inputKind: "text" | "series";
  steps: number;
  /** Step -> character offset in the text, or row of the series. */
  source: number[];
  /** Step -> the character or the value(s) read. */
  labels: string[];
  layers: GatesLayerInfo[];
  ms: { run: number; total: number };
  /** Set when the input was longer than the steps read at once: the window read (`source` holds offsets or rows of the whole input). */
  window?: StepWindow;
}

/**
 * A long input read a window at a time: rows [from, to) of a series (or characters of a character
 * model's text) of `total`, window `index` of `count` counted back from the end (0: the last),
 * `size` at once; `notice` says so in a sentence.
 */
export interface StepWindow {
  from: number;
  to: number;
  total: number;
  index?: number;
  count: number;
  size: number;
  unit: "rows" | "characters";
  notice: string;
}

export interface ForecastResult {
  model: string;
  /** The series as given (first feature). */
  series: number[];
  /** Row t: the model's forecast of x_t made after reading up to x_{t-1} (null where it has none). */
  oneStep: (number | null)[];
  residuals: (number | null)[];
  /** Autoregressive forecasts after the last row: horizon values. */
  multiStep: number[];
  /** One-step errors over the rows that have a forecast, beside the baselines on the same rows. */
  metrics: { rows: number; mae: number; rmse: number; lastValue: { mae: number; rmse: number }; seasonalNaive?: { season: number; mae: number; rmse: number } };
  /** A gates run on the same series, for the gates underneath. */
  gates: GatesResult;
  /** Set when the series was longer than the steps read at once: the rows read. */
  window?: StepWindow;
}

export interface GradientsResult {
  model: string;
  name: string;
  cell: string;
  steps: number;
  outputStep: number;
  norms: number[];
  target: string;
  labels: string[];
  /** Set when the input was longer than the steps read at once: the window read. */
  window?: StepWindow;
}

export type ParseSeriesResult =
  | { ok: true; values: Float64Array; sourceStart: Int32Array; sourceEnd: Int32Array; columnIndex?: number; window?: StepWindow }
  | { ok: false; needsColumn: true; columns: { index: number; name: string; numeric: boolean; isTime: boolean }[]; message: string }
  | { ok: false; needsColumn: false; errors: { line: number; text: string; reason: string }[]; more: number; message: string };

/** Lines of a document above a selection: a whole number a document can have. */
const lineCount = v.pipe(v.number(), v.integer("lineOffset must be a whole number of lines"), v.minValue(0, "lineOffset must be 0 or more"), v.maxValue(2 ** 31 - 1, "lineOffset is past any document"));

const runtime = v.optional(v.picklist(["onnx", "tfjs"], 'runtime must be "onnx" or "tfjs"'));

/**
 * How much of a long input a request reads: at most `maxSteps` steps (default: the engine's, 20,000),
 * the last ones, or window `window` counted back from the end (0: the last), or from step `fromStep`.
 */
const windowParams = {
  maxSteps: v.optional(v.pipe(v.number(), v.integer("maxSteps must be a whole number"), v.minValue(1, "maxSteps must be at least 1"))),
  window: v.optional(v.pipe(v.number(), v.integer("window must be a whole number"), v.minValue(0, "window must be 0 (the last) or more"))),
  fromStep: v.optional(v.pipe(v.number(), v.integer("fromStep must be a whole number"), v.minValue(0, "fromStep must be 0 or more"))),
};

export const gatesParams = {
  /** `runtime` insists on one copy of a model; `preferRuntime` uses that copy when the model has it. */
  gates: v.object({ model: modelSpec, text: v.optional(v.string()), values: v.optional(numberRows("values")), runtime, preferRuntime: runtime, ...windowParams }),
  gateSlice: v.object({ handle, index: num, name: v.string() }),
  /** Where `units` of one gate are all above `threshold` together: maximal runs of steps, first `limit`. */
  gateFiring: v.object({ handle, index: num, name: v.string(), units: numberArray("units"), threshold: num, limit: v.optional(num) }),
  forecast: v.object({ model: modelSpec, values: numberRows("values"), horizon: v.optional(num), runtime, preferRuntime: runtime, ...windowParams }),
  /**
   * A selection read as numbers (engine/series/), in the engine so a huge selection never holds up
   * the editor: the values and each one's [start, end) offsets in the text, or why not.
   */
  parseSeries: v.object({ text: v.string("parseSeries needs text"), lineOffset: v.optional(lineCount), column: v.optional(nonNegInt), ...windowParams }),
  /** ‖∂y_t/∂x_s‖ for each step s ≤ t (TensorFlow.js); `step` defaults to the last. */
  gradients: v.object({ model: modelSpec, text: v.optional(v.string()), values: v.optional(numberRows("values")), step: v.optional(num), ...windowParams }),
};

export interface GatesResults {
  gates: GatesResult;
  gateSlice: SliceResult;
  gateFiring: { runs: [number, number][] };
  forecast: ForecastResult;
  parseSeries: ParseSeriesResult;
  gradients: GradientsResult;
}

// ---------------------------------------------------------------------------------------------
// Extension host <-> the Gates panel.

/** How Show Gates read the selection, and why: shown above the maps, with the other reading offered. */
export interface GatesReading {
  kind: "text" | "series";
  /** A sentence: what was read and why ("Read as text for the character model: the selection has letters ..."). */
  reason: string;
  /** The other reading the user can ask for (a readAs message), with its button's words. */
  other?: { kind: "text" | "series"; label: string };
  /** A series: the rows read (a model that reads differences has one step fewer). */
  rows?: number;
  /** A series from a table: the column's name. */
  column?: string;
}

/** What the Gates panel shows for one run: the gates run, and for a series model its forecasts. */
export interface GatesView {
  gates: GatesResult;
  /** Set for a series model: the series, one-step and multi-step forecasts, residuals, errors. */
  forecast?: Omit<ForecastResult, "gates" | "model">;
  /** What the panel needs to run again after a window reload: the document range, the model, the CSV column chosen. */
  restore: GatesRestore;
  /** Whether the panel can ask for gradient norms (the LSTM and SimpleRNN character samples, on text). */
  gradients: boolean;
  /** How the selection was read, and why. */
  reading?: GatesReading;
  /** Set when the selection was longer than the steps read at once: the window shown (rows of a series, characters of a text). */
  window?: StepWindow;
}

/** What the Gates panel remembers across a window reload: the document range, the model, the CSV column chosen, the reading asked for. */
export const GatesRestore = v.object({ ...rangeRestore, model: v.string(), column: v.optional(nonNegInt), as: v.optional(v.picklist(["text", "series"])) });
export type GatesRestore = v.InferOutput<typeof GatesRestore>;

export type GatesHostToPanel =
  | { type: "gates"; view: GatesView }
  | { type: "slice"; requestId: number; index: number; name: string; shape: number[]; data: Float32Array }
  | { type: "selectStep"; step: number }
  | { type: "gradients"; requestId: number; outputStep: number; target: string; series: { name: string; cell: string; norms: number[] }[] }
  /** Where the picked units fire together in the whole document (offsets into it), for text. */
  | { type: "documentMatches"; requestId: number; steps: number; matches: { from: number; to: number; line: number; text: string }[] }
  | ErrorReply;

export const GatesReady = v.strictObject({ type: v.literal("ready") });
export const GatesGetSlice = v.strictObject({ type: v.literal("getSlice"), requestId: nonNegInt, index: nonNegInt, name: gateName });
export const GatesRevealStep = v.strictObject({ type: v.literal("revealStep"), step: nonNegInt });
export const GatesRevealSpan = v.strictObject({ type: v.literal("revealSpan"), from: nonNegInt, to: nonNegInt });
export const GatesExportCsv = v.strictObject({ type: v.literal("exportCsv"), index: nonNegInt });
export const GatesGetGradients = v.strictObject({ type: v.literal("getGradients"), requestId: nonNegInt, step: nonNegInt });
export const GatesFindInDocument = v.strictObject({
  type: v.literal("findInDocument"),
  requestId: nonNegInt,
  index: nonNegInt,
  name: gateName,
  units: v.pipe(v.array(nonNegInt), v.minLength(1), v.maxLength(64)),
  threshold: v.pipe(v.number(), v.minValue(-100), v.maxValue(100)),
});
export const GatesRevealOffsets = v.strictObject({ type: v.literal("revealOffsets"), from: nonNegInt, to: nonNegInt });
export const GatesExportPng = v.strictObject({ type: v.literal("exportPng"), dataUrl: pngDataUrl });
/** Run again on the same selection read the other way (as text for a character model, or as a series). */
export const GatesReadAs = v.strictObject({ type: v.literal("readAs"), kind: v.picklist(["text", "series"]) });
/** Run again on another window of a long selection: window `window` counted back from the end (0: the last). */
export const GatesShowWindow = v.strictObject({ type: v.literal("showWindow"), window: nonNegInt });

export const GatesPanelMessage = v.variant("type", [GatesReady, GatesGetSlice, GatesRevealStep, GatesRevealSpan, GatesExportCsv, GatesGetGradients, GatesFindInDocument, GatesRevealOffsets, GatesExportPng, GatesReadAs, GatesShowWindow]);

export type GatesPanelToHost = v.InferOutput<typeof GatesPanelMessage>;

export const parseGatesMessage = validator(GatesPanelMessage);
