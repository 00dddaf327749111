// The fuzz targets, in the order a campaign runs them.
import type { Target } from "../target";
import { cliArgsTarget, cliTarget } from "./cli";
import { inspectTextTarget } from "./inspectText";
import { messagesTarget } from "./messages";
import { modelsTarget } from "./models";
import { selectionsTarget } from "./selections";
import { seriesTarget } from "./series";

export const TARGETS: readonly Target[] = [messagesTarget, cliArgsTarget, selectionsTarget, seriesTarget, inspectTextTarget, modelsTarget, cliTarget];
