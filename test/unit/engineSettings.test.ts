// The engine's limits as VS Code settings (seqlens.memoryBudget, seqlens.maxSteps,
// seqlens.requestDeadlineSeconds, seqlens.engineHangSeconds), with `vscode` stood in for
// (test/unit/vscodeMock.ts) and the real engine process: a value that cannot be used falls back to
// its default with a sentence; the engine is started with the values (its ping reports them) and a
// gates run reads the steps the setting allows; changing a setting restarts the engine with the new
// values at the next request.
import { test } from "node:test";
import assert from "node:assert/strict";
import * as path from "node:path";
import { installVscodeMock, state, vscode } from "./vscodeMock";

installVscodeMock();
const warnings: string[] = [];
Object.assign(vscode.window, { showWarningMessage: (m: string) => (warnings.push(m), Promise.resolve(undefined)) });
/* eslint-disable @typescript-eslint/no-require-imports */
const { EngineHost, engineSettings } = require("../../extension/engineHost") as typeof import("../../extension/engineHost");
/* eslint-enable @typescript-eslint/no-require-imports */

const ROOT = path.resolve(__dirname, "..", "..");
const log = { info() {}, warn() {}, error() {} } as unknown as import("vscode").LogOutputChannel;
const config = (values: Record<string, unknown>) => ({ get: <T>(key: string, dflt: T): T => (key in values ? (values[key] as T) : dflt) }) as never;

test("settings: defaults, sizes in any unit, and a bad value falls back with a sentence naming it", () => {
  const d = engineSettings(config({}), {});
  assert.deepEqual({ ...d, problems: d.problems.length }, { providers: "auto", memoryBudget: 2 * 2 ** 30, maxSteps: 20_000, deadlineMs: 120_000, hangMs: 10_000, problems: 0 });
  const s = engineSettings(config({ memoryBudget: "512 MB", maxSteps: 500, requestDeadlineSeconds: 0, engineHangSeconds: 30 }), {});
  assert.deepEqual([s.memoryBudget, s.maxSteps, s.deadlineMs, s.hangMs, s.problems], [512 * 2 ** 20, 500, 0, 30_000, []]);
  assert.equal(engineSettings(config({ memoryBudget: "1.5g" }), {}).memoryBudget, 1.5 * 2 ** 30);
  const bad = engineSettings(config({ memoryBudget: "lots", maxSteps: 0, requestDeadlineSeconds: -1, engineHangSeconds: "x" }), {});
  assert.deepEqual([bad.memoryBudget, bad.maxSteps, bad.deadlineMs, bad.hangMs], [2 * 2 ** 30, 20_000, 120_000, 10_000]);
  assert.equal(bad.problems.length, 4);
  assert.match(bad.problems[0], /seqlens\.memoryBudget "lots" is not a size .*using 2 GB/);
  assert.match(bad.problems[1], /seqlens\.maxSteps 0 is not a whole number of at least 1; using 20000/);
  // below what any model needs to load: refused, not passed on
  assert.equal(engineSettings(config({ memoryBudget: "1KB" }), {}).problems.length, 1);
  // the environment's hang watch (kept for tests of the host) stands in for the setting
  assert.equal(engineSettings(config({ engineHangSeconds: 30 }), { SEQLENS_ENGINE_HANG_MS: "20000" }).hangMs, 20_000);
});

/** Resolves once process `pid` has ended (polled: a process that is not our child has no exit event). */
async function exited(pid: number): Promise<void> {
  for (;;) {
    try {
      process.kill(pid, 0);
    } catch {
      return;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

test("settings reach the engine, and a change restarts it with the new values", { timeout: 120_000 }, async () => {
  state.settings.clear();
  state.settings.set("seqlens.executionProviders", "cpu");
  state.settings.set("seqlens.memoryBudget", "768MB");
  state.settings.set("seqlens.maxSteps", 300);
  state.settings.set("seqlens.requestDeadlineSeconds", 45);
  const host = new EngineHost(ROOT, log);
  try {
    const first = host.get();
    const ping = await first.request("ping", {});
    assert.deepEqual(ping.limits, { memoryBudget: 768 * 2 ** 20, maxSteps: 300, deadlineMs: 45_000 });
    // a 1,000-step series is read 300 steps at a time: the last 300 first
    const values = Array.from({ length: 1000 }, (_, i) => [315 + Math.sin(i / 10)]);
    const g = await first.request("gates", { model: path.join(ROOT, "samples", "models", "co2-lstm"), values });
    assert.equal(g.steps, 299); // the CO2 model reads differences: N rows are N - 1 steps
    assert.deepEqual([g.window?.from, g.window?.to, g.window?.total, g.window?.count], [700, 1000, 1000, 4]);
    assert.equal(host.get(), first, "the same settings keep the same engine");

    state.settings.set("seqlens.maxSteps", 600);
    const second = host.get();
    assert.notEqual(second, first, "a changed setting starts a new engine");
    const again = await second.request("ping", {});
    assert.notEqual(again.pid, ping.pid);
    assert.equal(again.limits.maxSteps, 600);
    assert.equal((await second.request("gates", { model: path.join(ROOT, "samples", "models", "co2-lstm"), values })).steps, 599);
    await exited(ping.pid); // the old engine is gone

    // a bad value warns once and the engine still starts with the default
    warnings.length = 0;
    state.settings.set("seqlens.memoryBudget", "plenty");
    const third = host.get();
    host.get();
    assert.equal(warnings.length, 1);
    assert.match(warnings[0], /seqlens\.memoryBudget "plenty"/);
    assert.equal((await third.request("ping", {})).limits.memoryBudget, 2 * 2 ** 30);
  } finally {
    host.dispose();
    state.settings.clear();
  }
});
