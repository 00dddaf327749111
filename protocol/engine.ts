// The engine's RPC: every method with the schema of its parameters (from the feature files) and
// its result type, the envelope of requests, responses, progress and cancellation, and the one
// check the engine runs on every request's parameters.
import * as v from "valibot";
import { attributionParams, type AttributionResults } from "./attribution";
import { compareParams, type CompareResults } from "./compare";
import { completionParams, type CompletionResults, type GeneratedToken } from "./completion";
import { embeddingsParams, type EmbeddingsResults } from "./embeddings";
import { EngineError, type EngineErrorData } from "./errors";
import { gatesParams, type GatesResults } from "./gates";
import { inspectorParams, type InspectorResults } from "./inspector";
import { interventionsParams, type InterventionsResults } from "./interventions";
import { issuesText } from "./schema";
import { modelsParams, type ModelsResults } from "./models";
import { seq2seqParams, type Seq2SeqResults } from "./seq2seq";

/** Every engine method's parameter schema, by method name. */
export const paramSchemas = { ...modelsParams, ...inspectorParams, ...gatesParams, ...embeddingsParams, ...compareParams, ...completionParams, ...seq2seqParams, ...attributionParams, ...interventionsParams };

type Results = ModelsResults & InspectorResults & GatesResults & EmbeddingsResults & CompareResults & CompletionResults & Seq2SeqResults & AttributionResults & InterventionsResults;

export type Method = keyof typeof paramSchemas & keyof Results;
export type Params<M extends Method> = v.InferInput<(typeof paramSchemas)[M]>;
export type Result<M extends Method> = Results[M];
/** Every method the engine serves, with its params and result. */
export type Methods = { [M in Method]: { params: Params<M>; result: Result<M> } };

export function isMethod(name: unknown): name is Method {
  return typeof name === "string" && Object.hasOwn(paramSchemas, name);
}

/**
 * A request's parameters checked against its method's schema: the typed parameters, or a
 * BAD_INPUT error naming the method, each wrong field and what was wrong with it.
 */
export function checkParams<M extends Method>(method: M, raw: unknown): Params<M> {
  if (!isMethod(method)) throw new EngineError("BAD_INPUT", `unknown method ${JSON.stringify(method)}`);
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) throw new EngineError("BAD_INPUT", `${method}: params must be an object`);
  const r = v.safeParse(paramSchemas[method], raw);
  if (r.success) return r.output as Params<M>;
  throw new EngineError("BAD_INPUT", `${method}: ${issuesText(r.issues, "params")}`);
}

/** Progress events: generation streams its tokens; loading reports its phase. */
/** `delta` is the text the token completes: characters split over several byte tokens appear once whole. */
/** `steps`: a long computation (UMAP epochs, t-SNE iterations) at `done` of `total`. */
export type Progress = { kind: "token"; token: GeneratedToken; index: number; delta: string } | { kind: "phase"; message: string } | { kind: "steps"; done: number; total: number; message: string };

export type ToEngine =
  | { type: "request"; id: number; method: Method; params: unknown }
  | { type: "cancel"; id: number };

export type FromEngine =
  | { type: "response"; id: number; ok: true; result: unknown }
  | { type: "response"; id: number; ok: false; error: EngineErrorData }
  | { type: "progress"; id: number; progress: Progress }
  | { type: "log"; level: "info" | "warn" | "error"; message: string }
  | { type: "ready"; pid: number };
