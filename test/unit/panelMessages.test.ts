// Messages from a webview are untrusted: each panel's validator accepts its protocol and nothing
// else, and its reason names the wrong field. The engine's check of every request's parameters
// (checkParams) likewise: typed parameters, or a BAD_INPUT error naming the method and the field.
import { test } from "node:test";
import assert from "node:assert/strict";
import { ComparePanelMessage, parseCompareMessage } from "../../protocol/compare";
import { EmbeddingsPanelMessage, parseEmbeddingsMessage } from "../../protocol/embeddings";
import { checkParams, type Method } from "../../protocol/engine";
import { EngineError } from "../../protocol/errors";
import { GatesPanelMessage, parseGatesMessage } from "../../protocol/gates";
import { InspectorPanelMessage, parseInspectorMessage } from "../../protocol/inspector";
import type { Checked } from "../../protocol/schema";

type Message = Record<string, unknown>;

/** A union of strict objects told apart by `type`, as every panel's message schema is. */
interface Union {
  options: readonly { entries: { type: { literal: string } } }[];
}

interface Panel {
  name: string;
  parse: (raw: unknown) => Checked<unknown>;
  union: Union;
  /** At least one well-formed message of every type the union declares, edge values included. */
  valid: Message[];
  /** Malformed messages beyond those made from `valid` (each required field missing, each field of a wrong type, an extra key): [what is wrong, the message, the field its reason must name]. */
  bad: [string, unknown, string][];
}

const PNG = "data:image/png;base64,iVBORw0KGgo=";
/** One character over the 50,000,000 a dataUrl may have. */
const HUGE_PNG = PNG.padEnd(50_000_001, "A");
const range = (n: number) => Array.from({ length: n }, (_, i) => i);

const panels: Panel[] = [
  {
    name: "Inspector",
    parse: parseInspectorMessage,
    union: InspectorPanelMessage,
    valid: [
      { type: "ready" },
      { type: "getAttention", requestId: 3, layer: 1, head: 2 },
      { type: "getAttention", requestId: 0, layer: 0, head: 0, view: true },
      { type: "getAttention", requestId: 1_000_000, layer: 1_000_000, head: 1_000_000, view: false },
      { type: "getNextToken", requestId: 4, position: 10, topK: 10, temperature: 0.7 },
      { type: "getNextToken", requestId: 4, position: 0, topK: 1, temperature: 0.05 },
      { type: "getNextToken", requestId: 4, position: 0, topK: 100, temperature: 10 },
      { type: "getFillMask", requestId: 5, position: 3, topK: 10, temperature: 1 },
      { type: "getFillMask", requestId: 0, position: 0, topK: 100, temperature: 0.05 },
      { type: "getSeq2seqAttention", requestId: 6, kind: "cross", layer: 1, head: 3 },
      { type: "getSeq2seqAttention", requestId: 7, kind: "encoder", layer: 0, head: 0 },
      { type: "getSeq2seqAttention", requestId: 8, kind: "decoder", layer: 5, head: 2 },
      { type: "revealToken", index: 0 },
      { type: "rerun" },
      { type: "exportData", format: "csv" },
      { type: "exportData", format: "json" },
      { type: "exportPng", dataUrl: PNG },
      { type: "hoverTokens", query: 3, key: 1 },
      { type: "hoverTokens", key: 0 },
      { type: "hoverTokens" },
      { type: "ablateHeads", heads: [{ layer: 1, head: 2 }, { layer: 3, head: 0 }], mode: "zero" },
      { type: "ablateHeads", heads: [], mode: "mean" },
      { type: "ablateHeads", heads: Array.from({ length: 4096 }, (_, i) => ({ layer: i >> 6, head: i & 63 })), mode: "zero" },
      { type: "getDla", requestId: 9, position: 84 },
      { type: "getDla", requestId: 0, position: 0, target: 50256, foil: 0 },
      { type: "getDla", requestId: 10, position: 3, foil: 1_000_000 },
      { type: "whyToken", index: 0 },
      { type: "whyToken", index: 1_000_000 },
      { type: "getPatchHeads", requestId: 11, layer: 0 },
      { type: "getPatchHeads", requestId: 0, layer: 1_000_000 },
      { type: "setPatchMetric", requestId: 12, target: 50256, foil: 0 },
      { type: "clearPatch" },
    ],
    bad: [
      ["not an object", null, "message"],
      ["a negative query token", { type: "hoverTokens", query: -1, key: 0 }, "query"],
      ["a fractional key token", { type: "hoverTokens", key: 1.5 }, "key"],
      ["a string", "ready", "message"],
      ["no type", { requestId: 1 }, "type"],
      ["unknown type", { type: "nope" }, "type"],
      ["another panel's type", { type: "getSlice", requestId: 1, index: 0, name: "forget" }, "type"],
      ["negative layer", { type: "getAttention", requestId: 1, layer: -1, head: 0 }, "layer"],
      ["non-integer layer", { type: "getAttention", requestId: 1, layer: 0.5, head: 0 }, "layer"],
      ["head above the maximum", { type: "getAttention", requestId: 1, layer: 0, head: 1_000_001 }, "head"],
      ["negative requestId", { type: "getAttention", requestId: -1, layer: 0, head: 0 }, "requestId"],
      ["non-integer requestId", { type: "getAttention", requestId: 1.5, layer: 0, head: 0 }, "requestId"],
      ["topK above 100", { type: "getNextToken", requestId: 1, position: 0, topK: 1000, temperature: 1 }, "topK"],
      ["topK 0", { type: "getNextToken", requestId: 1, position: 0, topK: 0, temperature: 1 }, "topK"],
      ["non-integer topK", { type: "getNextToken", requestId: 1, position: 0, topK: 2.5, temperature: 1 }, "topK"],
      ["temperature 0", { type: "getNextToken", requestId: 1, position: 0, topK: 5, temperature: 0 }, "temperature"],
      ["temperature above 10", { type: "getNextToken", requestId: 1, position: 0, topK: 5, temperature: 10.5 }, "temperature"],
      ["negative position", { type: "getNextToken", requestId: 1, position: -3, topK: 5, temperature: 1 }, "position"],
      ["fill-mask without topK", { type: "getFillMask", requestId: 1, position: 2, temperature: 1 }, "topK"],
      ["an attention kind that does not exist", { type: "getSeq2seqAttention", requestId: 1, kind: "self", layer: 0, head: 0 }, "kind"],
      ["a negative layer of cross-attention", { type: "getSeq2seqAttention", requestId: 1, kind: "cross", layer: -1, head: 0 }, "layer"],
      ["fill-mask at a fractional position", { type: "getFillMask", requestId: 1, position: 2.5, topK: 5, temperature: 1 }, "position"],
      ["non-integer index", { type: "revealToken", index: 1.5 }, "index"],
      ["a negative layer of patched heads", { type: "getPatchHeads", requestId: 1, layer: -1 }, "layer"],
      ["a patching metric token given as text", { type: "setPatchMetric", requestId: 1, target: "foo", foil: 2 }, "target"],
      ["a patching metric without its foil", { type: "setPatchMetric", requestId: 1, target: 3 }, "foil"],
      ["a model riding along with a patching metric", { type: "setPatchMetric", requestId: 1, target: 3, foil: 4, model: "/etc/passwd" }, "model"],
      ["a path riding along", { type: "revealToken", index: 1, model: "/etc/passwd" }, "model"],
      ["unknown format", { type: "exportData", format: "xml" }, "format"],
      ["format in capitals", { type: "exportData", format: "JSON" }, "format"],
      ["a file URL for a PNG", { type: "exportPng", dataUrl: "file:///etc/passwd" }, "dataUrl"],
      ["a JPEG data URL", { type: "exportPng", dataUrl: "data:image/jpeg;base64,/9j/4AAQ" }, "dataUrl"],
      ["an SVG data URL", { type: "exportPng", dataUrl: "data:image/svg+xml;base64,PHN2Zz4=" }, "dataUrl"],
      ["a PNG data URL that is not base64", { type: "exportPng", dataUrl: "data:image/png;base64,!!!<script>" }, "dataUrl"],
      ["a dataUrl over 50 MB", { type: "exportPng", dataUrl: HUGE_PNG }, "dataUrl"],
      ["an ablation mode that does not exist", { type: "ablateHeads", heads: [], mode: "noise" }, "mode"],
      ["heads switched off without a mode", { type: "ablateHeads", heads: [{ layer: 0, head: 0 }] }, "mode"],
      ["a negative head", { type: "ablateHeads", heads: [{ layer: 0, head: -1 }], mode: "zero" }, "heads.0.head"],
      ["a fractional layer", { type: "ablateHeads", heads: [{ layer: 0, head: 1 }, { layer: 1.5, head: 0 }], mode: "zero" }, "heads.1.layer"],
      ["a head given as a string", { type: "ablateHeads", heads: ["1.2"], mode: "zero" }, "heads.0"],
      ["a head with a model riding along", { type: "ablateHeads", heads: [{ layer: 0, head: 0, model: "/etc/passwd" }], mode: "zero" }, "heads.0.model"],
      ["4097 heads", { type: "ablateHeads", heads: Array.from({ length: 4097 }, () => ({ layer: 0, head: 0 })), mode: "zero" }, "heads"],
      ["heads not a list", { type: "ablateHeads", heads: { layer: 0, head: 0 }, mode: "zero" }, "heads"],
      ["a target given as text", { type: "getDla", requestId: 1, position: 2, target: "foo" }, "target"],
      ["a negative foil", { type: "getDla", requestId: 1, position: 2, foil: -1 }, "foil"],
      ["logit attribution at a fractional position", { type: "getDla", requestId: 1, position: 2.5 }, "position"],
      ["logit attribution with a text riding along", { type: "getDla", requestId: 1, position: 2, text: "other text" }, "text"],
      ["why at a negative token", { type: "whyToken", index: -1 }, "index"],
      ["why with a range of its own", { type: "whyToken", index: 2, start: 0, end: 10 }, "start"],
    ],
  },
  {
    name: "Gates",
    parse: parseGatesMessage,
    union: GatesPanelMessage,
    valid: [
      { type: "ready" },
      { type: "getSlice", requestId: 1, index: 0, name: "forget" },
      { type: "getSlice", requestId: 1, index: 2, name: "x" },
      { type: "getSlice", requestId: 0, index: 0, name: "abcdefghijklmnop" },
      { type: "revealStep", step: 10 },
      { type: "revealSpan", from: 3, to: 9 },
      { type: "exportCsv", index: 1 },
      { type: "getGradients", requestId: 4, step: 20 },
      { type: "findInDocument", requestId: 5, index: 0, name: "hidden", units: [3, 17], threshold: 0.5 },
      { type: "findInDocument", requestId: 5, index: 0, name: "cell", units: range(64), threshold: -100 },
      { type: "findInDocument", requestId: 5, index: 0, name: "cell", units: [0], threshold: 100 },
      { type: "revealOffsets", from: 100, to: 140 },
      { type: "exportPng", dataUrl: PNG },
      { type: "readAs", kind: "text" },
      { type: "readAs", kind: "series" },
      { type: "showWindow", window: 0 },
      { type: "showWindow", window: 99 },
    ],
    bad: [
      ["unknown type", { type: "nope" }, "type"],
      ["another panel's type", { type: "getAttention", requestId: 1, layer: 0, head: 0 }, "type"],
      ["a reading that does not exist", { type: "readAs", kind: "json" }, "kind"],
      ["a negative window", { type: "showWindow", window: -1 }, "window"],
      ["a window as a string", { type: "showWindow", window: "1" }, "window"],
      ["a path for a gate name", { type: "getSlice", requestId: 1, index: 0, name: "../../etc/passwd" }, "name"],
      ["a gate name in capitals", { type: "getSlice", requestId: 1, index: 0, name: "Forget" }, "name"],
      ["an empty gate name", { type: "getSlice", requestId: 1, index: 0, name: "" }, "name"],
      ["a gate name over 16 letters", { type: "getSlice", requestId: 1, index: 0, name: "abcdefghijklmnopq" }, "name"],
      ["negative index", { type: "getSlice", requestId: 1, index: -1, name: "forget" }, "index"],
      ["non-integer requestId", { type: "getSlice", requestId: 0.5, index: 0, name: "forget" }, "requestId"],
      ["negative step", { type: "revealStep", step: -1 }, "step"],
      ["step above the maximum", { type: "revealStep", step: 1_000_001 }, "step"],
      ["negative from", { type: "revealSpan", from: -1, to: 3 }, "from"],
      ["non-integer to", { type: "revealSpan", from: 1, to: 3.5 }, "to"],
      ["negative index", { type: "exportCsv", index: -2 }, "index"],
      ["non-integer step", { type: "getGradients", requestId: 1, step: 2.5 }, "step"],
      ["no units", { type: "findInDocument", requestId: 5, index: 0, name: "hidden", units: [], threshold: 0.5 }, "units"],
      ["65 units", { type: "findInDocument", requestId: 5, index: 0, name: "hidden", units: range(65), threshold: 0.5 }, "units"],
      ["a negative unit", { type: "findInDocument", requestId: 5, index: 0, name: "hidden", units: [1, -1], threshold: 0.5 }, "units.1"],
      ["a non-integer unit", { type: "findInDocument", requestId: 5, index: 0, name: "hidden", units: [1.5], threshold: 0.5 }, "units.0"],
      ["a unit as a string", { type: "findInDocument", requestId: 5, index: 0, name: "hidden", units: ["1"], threshold: 0.5 }, "units.0"],
      ["threshold as a string", { type: "findInDocument", requestId: 5, index: 0, name: "hidden", units: [1], threshold: "0.5" }, "threshold"],
      ["threshold below -100", { type: "findInDocument", requestId: 5, index: 0, name: "hidden", units: [1], threshold: -101 }, "threshold"],
      ["threshold above 100", { type: "findInDocument", requestId: 5, index: 0, name: "hidden", units: [1], threshold: 100.5 }, "threshold"],
      ["a document riding along", { type: "revealOffsets", from: 1, to: 2, uri: "file:///etc/passwd" }, "uri"],
      ["a script URL for a PNG", { type: "exportPng", dataUrl: "javascript:alert(1)" }, "dataUrl"],
      ["a dataUrl over 50 MB", { type: "exportPng", dataUrl: HUGE_PNG }, "dataUrl"],
    ],
  },
  {
    name: "Embeddings",
    parse: parseEmbeddingsMessage,
    union: EmbeddingsPanelMessage,
    valid: [
      { type: "ready" },
      { type: "project", requestId: 1, source: "vocabulary", method: "pca", dims: 2 },
      { type: "project", requestId: 2, source: "vocabulary", method: "umap", dims: 3, matrix: "output" },
      { type: "project", requestId: 3, source: "selection", method: "tsne", dims: 2, layer: 4, matrix: "input" },
      { type: "project", requestId: 4, source: "recurrent", method: "pca", dims: 3, layer: 0 },
      { type: "cancel", requestId: 2 },
      { type: "neighbours", requestId: 5, plus: [17], minus: [], k: 10, metric: "cosine" },
      { type: "neighbours", requestId: 6, plus: range(32), minus: range(32), k: 1, metric: "euclidean", matrix: "output" },
      { type: "neighbours", requestId: 7, plus: [0], minus: [3], k: 200, metric: "cosine", matrix: "input" },
      { type: "hoverPosition", index: 5 },
      { type: "hoverPosition", index: -1, of: "steps" },
      { type: "hoverPosition", index: 1_000_000, of: "tokens" },
      { type: "hoverToken", id: 42 },
      { type: "hoverToken", id: -1 },
      { type: "hoverToken", id: 10_000_000 },
      { type: "revealPosition", index: 3 },
      { type: "revealPosition", index: 0, of: "steps" },
      { type: "exportPng", dataUrl: PNG },
    ],
    bad: [
      ["unknown type", { type: "nope" }, "type"],
      ["another panel's type", { type: "revealStep", step: 1 }, "type"],
      ["unknown source", { type: "project", requestId: 1, source: "document", method: "pca", dims: 2 }, "source"],
      ["unknown method", { type: "project", requestId: 1, source: "vocabulary", method: "isomap", dims: 2 }, "method"],
      ["dims 4", { type: "project", requestId: 1, source: "vocabulary", method: "pca", dims: 4 }, "dims"],
      ["dims as a string", { type: "project", requestId: 1, source: "vocabulary", method: "pca", dims: "2" }, "dims"],
      ["negative layer", { type: "project", requestId: 1, source: "selection", method: "pca", dims: 2, layer: -1 }, "layer"],
      ["non-integer layer", { type: "project", requestId: 1, source: "selection", method: "pca", dims: 2, layer: 0.5 }, "layer"],
      ["unknown matrix", { type: "project", requestId: 1, source: "vocabulary", method: "pca", dims: 2, matrix: "hidden" }, "matrix"],
      ["a model riding along", { type: "project", requestId: 1, source: "vocabulary", method: "pca", dims: 2, model: "../../evil-model" }, "model"],
      ["negative requestId", { type: "cancel", requestId: -1 }, "requestId"],
      ["no ids in plus", { type: "neighbours", requestId: 1, plus: [], minus: [], k: 5, metric: "cosine" }, "plus"],
      ["33 ids in plus", { type: "neighbours", requestId: 1, plus: range(33), minus: [], k: 5, metric: "cosine" }, "plus"],
      ["33 ids in minus", { type: "neighbours", requestId: 1, plus: [1], minus: range(33), k: 5, metric: "cosine" }, "minus"],
      ["a negative id", { type: "neighbours", requestId: 1, plus: [1, -1], minus: [], k: 5, metric: "cosine" }, "plus.1"],
      ["a non-integer id", { type: "neighbours", requestId: 1, plus: [1], minus: [2.5], k: 5, metric: "cosine" }, "minus.0"],
      ["an id as a string", { type: "neighbours", requestId: 1, plus: ["7"], minus: [], k: 5, metric: "cosine" }, "plus.0"],
      ["k 0", { type: "neighbours", requestId: 1, plus: [1], minus: [], k: 0, metric: "cosine" }, "k"],
      ["k above 200", { type: "neighbours", requestId: 1, plus: [1], minus: [], k: 201, metric: "cosine" }, "k"],
      ["non-integer k", { type: "neighbours", requestId: 1, plus: [1], minus: [], k: 2.5, metric: "cosine" }, "k"],
      ["unknown metric", { type: "neighbours", requestId: 1, plus: [1], minus: [], k: 5, metric: "manhattan" }, "metric"],
      ["unknown matrix", { type: "neighbours", requestId: 1, plus: [1], minus: [], k: 5, metric: "cosine", matrix: "both" }, "matrix"],
      ["index below -1", { type: "hoverPosition", index: -2 }, "index"],
      ["index above the maximum", { type: "hoverPosition", index: 1_000_001 }, "index"],
      ["non-integer index", { type: "hoverPosition", index: 0.5 }, "index"],
      ["unknown of", { type: "hoverPosition", index: 0, of: "chars" }, "of"],
      ["id below -1", { type: "hoverToken", id: -2 }, "id"],
      ["id above the maximum", { type: "hoverToken", id: 10_000_001 }, "id"],
      ["non-integer id", { type: "hoverToken", id: 1.5 }, "id"],
      ["negative index", { type: "revealPosition", index: -1 }, "index"],
      ["unknown of", { type: "revealPosition", index: 0, of: "lines" }, "of"],
      ["a GIF data URL", { type: "exportPng", dataUrl: "data:image/gif;base64,R0lGODlh" }, "dataUrl"],
      ["a PNG URL, not a data URL", { type: "exportPng", dataUrl: "https://example.com/a.png" }, "dataUrl"],
      ["a dataUrl over 50 MB", { type: "exportPng", dataUrl: HUGE_PNG }, "dataUrl"],
    ],
  },
  {
    name: "Compare",
    parse: parseCompareMessage,
    union: ComparePanelMessage,
    valid: [
      { type: "ready" },
      { type: "getNextToken", requestId: 1, side: 0, position: 4, topK: 10 },
      { type: "getNextToken", requestId: 1, side: 0, position: 4, topK: 10, temperature: 2 },
      { type: "getNextToken", requestId: 0, side: 1, position: 0, topK: 1 },
      { type: "getNextToken", requestId: 1_000_000, side: 1, position: 1_000_000, topK: 100 },
      { type: "getAttention", requestId: 2, side: 0, layer: 1, head: 3 },
      { type: "getAttention", requestId: 2, side: 1, layer: 0, head: 0 },
      { type: "getGate", requestId: 3, side: 0, index: 0, name: "forget" },
      { type: "getGate", requestId: 3, side: 1, index: 2, name: "x" },
      { type: "revealToken", index: 7 },
    ],
    bad: [
      ["unknown type", { type: "nope" }, "type"],
      ["a type of another panel (Compare exports no PNG)", { type: "exportPng", dataUrl: PNG }, "type"],
      ["side 2", { type: "getNextToken", requestId: 1, side: 2, position: 0, topK: 5 }, "side"],
      ["side -1", { type: "getAttention", requestId: 1, side: -1, layer: 0, head: 0 }, "side"],
      ["side as a string", { type: "getAttention", requestId: 1, side: "0", layer: 0, head: 0 }, "side"],
      ["non-integer side", { type: "getGate", requestId: 1, side: 0.5, index: 0, name: "forget" }, "side"],
      ["topK 0", { type: "getNextToken", requestId: 1, side: 0, position: 0, topK: 0 }, "topK"],
      ["temperature 0", { type: "getNextToken", requestId: 1, side: 0, position: 0, topK: 5, temperature: 0 }, "temperature"],
      ["topK above 100", { type: "getNextToken", requestId: 1, side: 0, position: 0, topK: 101 }, "topK"],
      ["negative position", { type: "getNextToken", requestId: 1, side: 0, position: -1, topK: 5 }, "position"],
      ["position above the maximum", { type: "getNextToken", requestId: 1, side: 0, position: 1_000_001, topK: 5 }, "position"],
      ["negative layer", { type: "getAttention", requestId: 1, side: 0, layer: -1, head: 0 }, "layer"],
      ["non-integer head", { type: "getAttention", requestId: 1, side: 0, layer: 0, head: 1.5 }, "head"],
      ["negative index", { type: "getGate", requestId: 1, side: 0, index: -1, name: "forget" }, "index"],
      ["a path for a gate name", { type: "getGate", requestId: 1, side: 0, index: 0, name: "../x" }, "name"],
      ["a handle riding along", { type: "getAttention", requestId: 1, side: 0, layer: 0, head: 0, handle: "h1" }, "handle"],
      ["negative index", { type: "revealToken", index: -1 }, "index"],
      ["non-integer index", { type: "revealToken", index: 0.25 }, "index"],
    ],
  },
];

/** Refused, and every problem in the reason is about `field` (or an item of it: `field.3`). */
function assertRefused(parse: Panel["parse"], m: unknown, field: string, what: string): void {
  const r = parse(m);
  const shown = JSON.stringify(m)?.slice(0, 160);
  assert.equal(r.ok, false, `${what}: ${shown} was accepted`);
  if (r.ok) return;
  for (const issue of r.reason.split("; ")) assert.ok(issue.startsWith(`${field}: `), `${what}: ${shown} -> "${r.reason}", which does not name ${field}`);
}

/** A value of another kind than `x`: what a confused or hostile panel might send. */
function wrongKind(x: unknown): unknown {
  if (typeof x === "number") return String(x);
  if (typeof x === "string") return x.length;
  if (typeof x === "boolean") return String(x);
  if (Array.isArray(x)) return x.join(",");
  return [x];
}

for (const panel of panels) {
  const types = panel.union.options.map((o) => o.entries.type.literal);
  const schemaOf = (type: string) => panel.union.options.find((o) => o.entries.type.literal === type)!;

  test(`${panel.name}: every message type is accepted in a well-formed message, as sent`, () => {
    assert.deepEqual([...new Set(panel.valid.map((m) => m.type))].sort(), [...types].sort(), "the examples cover exactly the types the protocol declares");
    for (const m of panel.valid) {
      const r = panel.parse(m);
      assert.ok(r.ok, `${JSON.stringify(m)} -> ${r.ok ? "" : r.reason}`);
      if (r.ok) assert.deepEqual(r.message, m);
    }
  });

  test(`${panel.name}: a missing field, a field of the wrong kind, an extra key are refused, naming the field`, () => {
    for (const type of types) {
      const examples = panel.valid.filter((m) => m.type === type);
      // Every field of the message is in some example; one in every example is taken as required.
      const fields = [...new Set(examples.flatMap((m) => Object.keys(m)))].sort();
      assert.deepEqual(fields, Object.keys(schemaOf(type).entries).sort(), `${type}: the examples hold every field the protocol declares`);
      for (const m of examples) {
        for (const key of Object.keys(m)) {
          if (key === "type") continue;
          if (examples.every((e) => key in e)) {
            const { [key]: _dropped, ...without } = m;
            assertRefused(panel.parse, without, key, `${type} without ${key}`);
          }
          assertRefused(panel.parse, { ...m, [key]: wrongKind(m[key]) }, key, `${type} with ${key} of the wrong kind`);
          assertRefused(panel.parse, { ...m, [key]: null }, key, `${type} with ${key} null`);
        }
        assertRefused(panel.parse, { ...m, extra: 1 }, "extra", `${type} with an extra key`);
        assertRefused(panel.parse, { ...m, type: type === "ready" ? "Ready" : `${type}s` }, "type", `${type} misspelled`);
      }
    }
  });

  test(`${panel.name}: out of range, wrong choices, oversized, foreign and unknown messages are refused, naming the field`, () => {
    for (const [what, m, field] of panel.bad) assertRefused(panel.parse, m, field, what);
  });
}

// ---------------------------------------------------------------------------------------------
// The engine's check of request parameters

test("checkParams returns the parameters, typed, when they fit the method's schema", () => {
  const inspect = checkParams("inspect", { model: "m", ids: [1, 2, 3], topK: 5, slice: { layer: 0, head: 1 } });
  const ids: number[] | undefined = inspect.ids; // typed: a wrong field type would not compile
  assert.deepEqual(ids, [1, 2, 3]);
  assert.deepEqual(inspect, { model: "m", ids: [1, 2, 3], topK: 5, slice: { layer: 0, head: 1 } });
  const project = checkParams("project", { model: "m", method: "umap", dims: 3, values: [[1, 2], [3, 4]] });
  const method: "pca" | "umap" | "tsne" = project.method;
  assert.equal(method, "umap");
  assert.deepEqual(project.values, [[1, 2], [3, 4]]);
  for (const [m, params] of [
    ["gates", { model: "m", values: [[1], [2.5]], runtime: "tfjs" }],
    ["forecast", { model: "m", values: [], horizon: 12 }],
    ["parseSeries", { text: "1\n2", lineOffset: 3, column: 0 }],
    ["attention", { handle: "h1", layer: 0, head: 0 }],
    ["nextToken", { handle: "h1", position: 3, topK: 5, temperature: 0.7 }],
    ["embeddings", { handle: "h1", kind: "hidden" }],
    ["compare", { modelA: "a", modelB: "b", text: "x" }],
    ["neighbours", { model: "m", plus: [1], minus: [2], metric: "euclidean", matrix: "output" }],
    ["lens", { model: "m", ids: [], topK: 3 }],
  ] as [Method, object][])
    assert.deepEqual(checkParams(m, params), params, m);
});

test("checkParams refuses bad parameters with a BAD_INPUT error naming the method and the field", () => {
  const bad: [string, unknown, RegExp][] = [
    // unknown method
    ["nope", {}, /^unknown method "nope"$/],
    ["__proto__", {}, /^unknown method "__proto__"$/],
    // params not an object
    ["inspect", null, /^inspect: params must be an object$/],
    ["inspect", undefined, /^inspect: params must be an object$/],
    ["inspect", [{ model: "m" }], /^inspect: params must be an object$/],
    ["parseSeries", "1\n2", /^parseSeries: params must be an object$/],
    // a required field missing
    ["project", { method: "pca" }, /^project: model: /],
    ["attention", { handle: "h1", head: 0 }, /^attention: layer: /],
    ["parseSeries", {}, /^parseSeries: text: /],
    ["compare", { modelA: "a", text: "x" }, /^compare: modelB: /],
    ["forecast", { model: "m" }, /^forecast: values: /],
    // a wrong type
    ["inspect", { model: "m", topK: "5" }, /^inspect: topK: /],
    ["inspect", { model: "m", slice: { layer: 0, head: "1" } }, /^inspect: slice\.head: /],
    ["project", { model: 5, method: "pca" }, /^project: model: model must be a non-empty string$/],
    ["project", { model: "", method: "pca" }, /^project: model: model must be a non-empty string$/],
    ["attention", { handle: "h1", layer: "0", head: 0 }, /^attention: layer: /],
    ["release", { handle: 7 }, /^release: handle: /],
    ["nextToken", { handle: "h1", position: "3" }, /^nextToken: position: /],
    ["surprisal", { handle: "h1", topK: [5] }, /^surprisal: topK: /],
    ["parseSeries", { text: 5 }, /^parseSeries: text: parseSeries needs text$/],
    // a wrong picklist value
    ["project", { model: "m", method: "isomap" }, /^project: method: projection method must be "pca", "umap" or "tsne"$/],
    ["project", { model: "m", method: "pca", dims: 4 }, /^project: dims: dims must be 2 or 3$/],
    ["project", { model: "m", method: "pca", matrix: "hidden" }, /^project: matrix: matrix must be "input" or "output"$/],
    ["embeddings", { handle: "h1", kind: "output" }, /^embeddings: kind: embeddings kind must be "input" or "hidden"$/],
    ["gates", { model: "m", text: "x", runtime: "torch" }, /^gates: runtime: runtime must be "onnx" or "tfjs"$/],
    ["neighbours", { model: "m", plus: [1], metric: "manhattan" }, /^neighbours: metric: metric must be "cosine" or "euclidean"$/],
    // a non-numeric entry in ids
    ["inspect", { model: "m", ids: [1, "2"] }, /^inspect: ids: ids must be an array of numbers$/],
    ["compare", { modelA: "a", modelB: "b", ids: [1, null] }, /^compare: ids: ids must be an array of numbers$/],
    ["lens", { model: "m", ids: "1,2" }, /^lens: ids: ids must be an array of numbers$/],
    ["neighbours", { model: "m", plus: [1, "x"] }, /^neighbours: plus: plus must be an array of numbers$/],
    ["neighbours", { model: "m", plus: [] }, /^neighbours: plus: neighbours needs at least one token id in plus$/],
    // a non-numeric entry in values rows
    ["gates", { model: "m", values: [[1], [2, "x"]] }, /^gates: values: values must be an array of rows of numbers$/],
    ["forecast", { model: "m", values: [1, 2] }, /^forecast: values: values must be an array of rows of numbers$/],
    ["project", { model: "m", method: "pca", values: [[1], [null]] }, /^project: values: values must be an array of rows of numbers$/],
    ["gradients", { model: "m", values: [[1], "2"] }, /^gradients: values: values must be an array of rows of numbers$/],
  ];
  for (const [method, params, message] of bad) {
    assert.throws(
      () => checkParams(method as Method, params),
      (e: unknown) => {
        assert.ok(e instanceof EngineError, `${method}: threw ${String(e)}`);
        assert.equal(e.code, "BAD_INPUT", `${method}: ${e.message}`);
        assert.match(e.message, message, `${method} ${JSON.stringify(params)}`);
        return true;
      },
      `${method} ${JSON.stringify(params)} was accepted`,
    );
  }
});
