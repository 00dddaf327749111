// The engine killed or stopped in the real host (code-server + chromium), one host for every case:
// SIGKILL during an inspection, a gates run, a UMAP projection and a completion, and SIGSTOP during
// an inspection. Each time the panel (or the completions' status bar item) says what was lost, the
// status bar stops spinning, the next command works without a reload in a new engine, and the
// extension host is the same process throughout.
//
// To land a kill inside a request that the small sample models answer in milliseconds, the engine
// is stopped (SIGSTOP) first, the command is run, and the engine is killed once the request is
// waiting on it (its progress notification is up); SEQLENS_ENGINE_HANG_MS holds the hang watch off
// meanwhile, and is what the SIGSTOP case waits for.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import type { Frame } from "playwright-core";
import { ARTIFACTS, Host, inspectorContentFrame, openFile, runCommand, selectLines, seqLensLog, startHost, VSIX, webviewFrame } from "./host";
import { ROOT, SAMPLE_MODEL, tempDir } from "../helpers";

const HANG_MS = 20_000;
let host: Host;
let workspace: string;
/** The extension host: the first engine's parent, which every later engine must share. */
let extensionHostPid: number | undefined;

before(async () => {
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  workspace = tempDir("crash-e2e");
  fs.cpSync(path.join(ROOT, "samples", "workspace"), workspace, { recursive: true });
  fs.writeFileSync(path.join(workspace, "typing.ts"), "interface Array<T> {\n    /**\n     * Gets or sets the");
  process.env.SEQLENS_ENGINE_HANG_MS = String(HANG_MS); // code-server passes its environment on to the extension host
  host = await startHost(workspace, { "seqlens.activeModel": SAMPLE_MODEL, "workbench.colorTheme": "Default Dark Modern", "seqlens.completion.debounceMs": 40 }, VSIX);
});

after(async () => {
  await host?.close();
});

const shot = (name: string) => host.page.screenshot({ path: path.join(ARTIFACTS, `${name}.png`) });

/** The engine processes of this host (dist/engine.js under its extensions folder), with their parents. */
function engines(): { pid: number; ppid: number }[] {
  const out: { pid: number; ppid: number }[] = [];
  const prefix = path.join(host.dir, "extensions");
  for (const e of fs.readdirSync("/proc")) {
    if (!/^\d+$/.test(e)) continue;
    try {
      const argv = fs.readFileSync(`/proc/${e}/cmdline`, "utf8").split("\0");
      if (!argv.some((a) => a.startsWith(prefix) && a.endsWith(path.join("dist", "engine.js")))) continue;
      const stat = fs.readFileSync(`/proc/${e}/stat`, "utf8");
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      if (fields[0] === "Z") continue; // exited, not yet reaped
      out.push({ pid: Number(e), ppid: Number(fields[1]) });
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

/** The one engine of this host, waiting up to `ms` for it to be started. */
async function engine(ms = 60_000): Promise<number> {
  const deadline = Date.now() + ms;
  for (;;) {
    const e = engines();
    if (e.length === 1) {
      extensionHostPid ??= e[0].ppid;
      assert.equal(e[0].ppid, extensionHostPid, "the engine's parent is the same extension host as before");
      return e[0].pid;
    }
    if (Date.now() > deadline) throw new Error(`expected one engine, found ${JSON.stringify(e)}`);
    await host.page.waitForTimeout(100);
  }
}

/** Whether `pid` is gone (or a zombie), waiting up to 10 s. */
async function exited(pid: number): Promise<boolean> {
  for (let i = 0; i < 100; i++) {
    try {
      const state = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
      if (state.slice(state.lastIndexOf(")") + 2).startsWith("Z")) return true;
    } catch {
      return true;
    }
    await host.page.waitForTimeout(100);
  }
  return false;
}

/** Stops the engine, runs `start` (a command whose request then waits on it), waits for `waiting`, and kills the engine. */
async function killDuring(start: () => Promise<unknown>, waiting: () => Promise<unknown>): Promise<number> {
  const pid = await engine();
  process.kill(pid, "SIGSTOP");
  try {
    await start();
    await waiting();
  } finally {
    process.kill(pid, "SIGKILL");
  }
  assert.ok(await exited(pid), "the engine was killed");
  return pid;
}

/** The main status bar item (the active model): it shows the model, and does not spin. */
async function statusRecovered(): Promise<void> {
  const item = host.page.locator(".statusbar-item", { hasText: "tiny-gpt" }).first();
  await item.locator(".codicon-telescope").waitFor({ timeout: 15_000 });
  assert.equal(await item.locator(".codicon-modifier-spin").count(), 0, "the status bar stopped spinning");
}

async function clearNotifications(): Promise<void> {
  await runCommand(host.page, "Notifications: Clear All Notifications");
  await host.page.locator(".notification-toast").first().waitFor({ state: "hidden", timeout: 10_000 }).catch(() => undefined);
}

/** An error notification with `text`, and its whole message. */
async function errorToast(text: RegExp): Promise<string> {
  const toast = host.page.locator(".notification-toast", { hasText: text }).first();
  await toast.waitFor({ timeout: 30_000 });
  return (await toast.innerText()).replace(/\s+/g, " ");
}

/** Lines of shapes.ts to inspect, and a word only they hold. */
const INTERFACE = { from: 2, to: 5, word: "Shape" };
const CIRCLE = { from: 7, to: 9, word: "Circle" };

/** Resolves once the Inspector's chips spell `word` (tokens may split it). */
async function chipsSpell(frame: Frame, word: string): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (!(await frame.locator("seqlens-token-strip button").allTextContents()).join("").includes(word)) {
    if (Date.now() > deadline) throw new Error(`the Inspector never showed "${word}"`);
    await host.page.waitForTimeout(100);
  }
}

/** Inspect `lines` of shapes.ts; resolves with the Inspector's frame once its chips show them. */
async function inspect(lines: { from: number; to: number; word: string }): Promise<Frame> {
  const { page } = host;
  await openFile(page, "shapes.ts");
  await selectLines(page, lines.from, lines.to);
  await runCommand(page, "SeqLens: Inspect Selection");
  const frame = await inspectorContentFrame(page);
  await chipsSpell(frame, lines.word);
  await page.locator(".notification-toast", { hasText: "inspecting" }).waitFor({ state: "hidden", timeout: 30_000 });
  return frame;
}

test("SIGKILL during an inspection: the panel and a notification say it was lost; the next Inspect works in a new engine", async () => {
  const { page } = host;
  let frame = await inspect(CIRCLE);
  await clearNotifications();
  const killed = await killDuring(
    async () => {
      await selectLines(page, INTERFACE.from, INTERFACE.to);
      await runCommand(page, "SeqLens: Inspect Selection");
    },
    () => page.locator(".notification-toast", { hasText: "SeqLens: inspecting" }).waitFor({ timeout: 30_000 }),
  );
  const toast = await errorToast(/inspecting stopped/);
  assert.match(toast, /inspecting stopped: the engine was killed by SIGKILL; the request was lost: run it again \(a new engine starts\)/);
  const banner = frame.locator(".stale");
  await banner.waitFor({ timeout: 15_000 });
  assert.match(await banner.innerText(), /Inspect failed: the engine was killed by SIGKILL; the request was lost: run it again \(a new engine starts\)\. What is shown is the previous result\./);
  await shot("crash-inspect-lost");
  await statusRecovered();
  await clearNotifications();
  frame = await inspect(INTERFACE);
  // the new inspection is not stale (its message clears the banner; say what a banner left says)
  await frame
    .locator(".stale")
    .waitFor({ state: "detached", timeout: 15_000 })
    .catch(async () => assert.fail(`the new inspection is marked stale: ${await frame.locator(".stale").innerText()}`));
  assert.notEqual(await engine(), killed);
  await statusRecovered();
});

test("SIGKILL during a gates run: the Gates panel says what was lost; Show Gates works again", async () => {
  const { page } = host;
  await clearNotifications();
  await openFile(page, "shapes.ts");
  await killDuring(
    async () => {
      await selectLines(page, 7, 9);
      await runCommand(page, "SeqLens: Show Gates");
    },
    () => page.locator(".notification-toast", { hasText: "SeqLens: computing gates" }).waitFor({ timeout: 30_000 }),
  );
  assert.match(await errorToast(/computing gates stopped/), /computing gates stopped: the engine was killed by SIGKILL; the request was lost/);
  const frame = await webviewFrame(page, "seqlens-gates");
  const alert = frame.locator("seqlens-gates [role=alert]");
  await alert.waitFor({ timeout: 15_000 });
  assert.match(await alert.innerText(), /computing gates stopped: the engine was killed by SIGKILL; the request was lost: run it again/);
  await shot("crash-gates-lost");
  await statusRecovered();
  await clearNotifications();
  await selectLines(page, 7, 9);
  await runCommand(page, "SeqLens: Show Gates");
  await frame.waitForFunction(() => /char-lstm/.test(document.querySelector("seqlens-gates")?.shadowRoot?.querySelector("header")?.textContent ?? ""), undefined, { timeout: 60_000 });
  assert.equal(await alert.count(), 0, "the error went with the new run");
  await statusRecovered();
});

test("SIGKILL during a UMAP projection: the Embeddings panel says what was lost; the next run works", async () => {
  const { page } = host;
  await clearNotifications();
  await openFile(page, "shapes.ts");
  await selectLines(page, 1, 4);
  await runCommand(page, "SeqLens: Show Embeddings & Logit Lens");
  const frame = await webviewFrame(page, "seqlens-embeddings");
  const app = frame.locator("seqlens-embeddings");
  const summary = app.locator("#summary");
  const vocabulary = app.locator("button[role=tab]", { hasText: "Vocabulary" });
  await vocabulary.waitFor({ timeout: 90_000 });
  if ((await vocabulary.getAttribute("aria-selected")) !== "true") await vocabulary.click();
  await summary.filter({ hasText: /4096 tokens, PCA 2-D/ }).waitFor({ timeout: 90_000 });
  const pid = await engine();
  await app.locator('select[aria-label="Projection method"]').selectOption("umap");
  // the projection is under way in the engine: the panel shows the engine's own progress
  await app.locator(".progress", { hasText: /UMAP: (nearest neighbours|optimising the layout)/ }).waitFor({ timeout: 60_000 });
  process.kill(pid, "SIGKILL");
  assert.ok(await exited(pid));
  const alert = app.locator("[role=alert]");
  await alert.waitFor({ timeout: 15_000 });
  assert.match(await alert.innerText(), /the UMAP projection stopped: the engine was killed by SIGKILL; the request was lost: run it again \(a new engine starts\)/);
  assert.equal(await app.locator(".progress").count(), 0, "the progress went with the run");
  await shot("crash-umap-lost");
  // the next run: UMAP again (by way of PCA: the method shown is UMAP still), all of it, in a new engine
  await app.locator('select[aria-label="Projection method"]').selectOption("pca");
  await app.locator('select[aria-label="Projection method"]').selectOption("umap");
  await summary.filter({ hasText: /4096 tokens, UMAP 2-D/ }).waitFor({ timeout: 180_000 });
  assert.equal(await alert.count(), 0, "the error went with the new run");
  assert.notEqual(await engine(), pid);
  await statusRecovered();
});

test("SIGKILL during a completion: the completions' status says it was lost; typing on completes again", async () => {
  const { page } = host;
  const log = seqLensLog(host.dir);
  const completions = () => (log().match(/completion: \d+ tokens/g) ?? []).length;
  await clearNotifications();
  await openFile(page, "typing.ts");
  await page.locator(".monaco-editor .view-lines").first().click();
  await page.keyboard.press("Control+End");
  const status = page.locator(".statusbar-item", { hasText: /^\s*SeqLens/ }).first();
  const ghost = page.locator(".monaco-editor .ghost-text-decoration, .monaco-editor .ghost-text").first();
  // the model loads at the first keystroke; typing on, a completion shows
  for (let i = 0; i < 30 && (await ghost.count()) === 0; i++) {
    // an edit asks for a completion (none is offered while the model loads)
    await page.keyboard.type(" ");
    await page.keyboard.press("Backspace");
    await ghost.waitFor({ timeout: 2000 }).catch(() => undefined);
  }
  await ghost.waitFor({ timeout: 1000 });
  // text the completion shown cannot continue (so it is not served from the cache): a request to the engine
  await killDuring(
    () => page.keyboard.type(" xyz", { delay: 30 }),
    () => status.filter({ hasText: /completing/ }).waitFor({ timeout: 30_000 }),
  );
  await status.filter({ hasText: /completion lost/ }).waitFor({ timeout: 15_000 });
  await shot("crash-completion-lost");
  // typing on: a completion from a new engine, and the status is itself again
  const before = completions();
  await page.keyboard.type(" ");
  for (let i = 0; i < 300 && completions() === before; i++) await page.waitForTimeout(100);
  assert.ok(completions() > before, "a completion came from the new engine");
  await status.filter({ hasNotText: /lost|completing/ }).waitFor({ timeout: 15_000 });
  await engine();
});

test("SIGSTOP during an inspection: the hang is found, the engine killed and replaced, and the message says so", async () => {
  const { page } = host;
  await inspect(CIRCLE);
  await clearNotifications();
  const pid = await engine();
  process.kill(pid, "SIGSTOP");
  let killedByHost: boolean;
  try {
    await selectLines(page, INTERFACE.from, INTERFACE.to);
    const t0 = await runCommand(page, "SeqLens: Inspect Selection");
    const toast = await errorToast(/inspecting stopped/);
    const found = Date.now() - t0;
    assert.match(toast, /inspecting stopped: the engine stopped responding \(no sign of life for 2\d(\.\d)? s\) and was restarted; the request was lost: run it again/);
    assert.ok(found >= HANG_MS - 1000 && found < HANG_MS + 15_000, `found after ${found} ms`);
  } finally {
    killedByHost = await exited(pid);
    if (!killedByHost) process.kill(pid, "SIGKILL"); // the test failed: leave nothing stopped behind
  }
  assert.ok(killedByHost, "the host killed the stopped engine");
  const banner = (await inspectorContentFrame(page)).locator(".stale");
  assert.match(await banner.innerText(), /Inspect failed: the engine stopped responding/);
  await shot("crash-hang-found");
  await statusRecovered();
  await clearNotifications();
  await inspect(INTERFACE);
  assert.notEqual(await engine(), pid);
});
