// The VS Code extension host entry: the features, each registering its own commands, views,
// providers and panel serializers. Activation loads nothing heavy: the engine process starts on the
// first request.
import * as vscode from "vscode";
import { compareFeature } from "./comparePanel";
import { completionFeature } from "./completion/inlineCompletions";
import { embeddingsFeature } from "./embeddingsPanel";
import { gatesFeature } from "./gatesPanel";
import { inspectorFeature } from "./inspectorPanel";
import { modelsFeature } from "./modelCommands";
import { createServices, Feature, Services } from "./services";
import { whyFeature } from "./why";

const moduleLoadedAt = performance.now();

/** What SeqLens contributes, one module a feature. A new panel is one more line here. */
const FEATURES: Feature[] = [modelsFeature, inspectorFeature, gatesFeature, embeddingsFeature, compareFeature, completionFeature, whyFeature];

let services: Services | undefined;

export function activate(context: vscode.ExtensionContext): void {
  const activateStart = performance.now();
  services = createServices(context);
  for (const feature of FEATURES) context.subscriptions.push(...feature.register(services));
  services.log.info(`activated in ${(performance.now() - activateStart).toFixed(1)} ms (module loaded ${(activateStart - moduleLoadedAt).toFixed(1)} ms before activate was called)`);
}

export function deactivate(): void {
  services?.host.dispose();
}
