// What a model that declares a capability offers the engine's methods, and the check that refuses
// a method a model cannot serve: UNSUPPORTED, naming the model, its family and what it has.
import { EngineError } from "../../protocol/errors";
import type { Capability } from "../../protocol/models";
import type { Decoder, DecoderModel } from "../models/decoder";
import type { RecurrentModel } from "../models/recurrent";
import type { LoadedModel } from "./family";

/**
 * The API behind each capability: a family's model that declares one implements what this table
 * names for it (a capability with LoadedModel here is shown by the panels but has no method of its
 * own in the engine yet).
 */
export interface CapabilityApi {
  tokens: Decoder;
  selfAttention: Decoder;
  crossAttention: LoadedModel;
  nextToken: LoadedModel;
  fillMask: LoadedModel;
  generate: DecoderModel;
  kvCache: DecoderModel;
  gates: RecurrentModel;
  forecast: RecurrentModel;
  gradients: RecurrentModel;
  embeddings: DecoderModel;
  lens: DecoderModel;
  completion: DecoderModel;
}

/** Whether `m` declares `c`. */
export function can(m: LoadedModel, c: Capability): boolean {
  return m.capabilities.includes(c);
}

/** The error for a model asked to `what` (e.g. "run the gate probe") without declaring `c`. */
export function unsupported(m: LoadedModel, what: string, c?: Capability): EngineError {
  const why = c === undefined ? undefined : m.lacks?.(c);
  return new EngineError("UNSUPPORTED", `${m.name} (${m.family}) cannot ${what}: it has ${m.capabilities.join(", ")}${why ? ` (${why})` : ""}`);
}

/** `m` as what capability `c` offers; UNSUPPORTED when `m` does not declare it. */
export function serving<C extends Capability>(m: LoadedModel, c: C, what: string): LoadedModel & CapabilityApi[C] {
  if (!m.capabilities.includes(c)) throw unsupported(m, what, c);
  return m as LoadedModel & CapabilityApi[C];
}
