// "Why this token?" in the real host: with the cursor after a line of samples/workspace/shapes.ts,
// SeqLens: Why This Token? explains the bundled model's next-token prediction there. The tokens
// before it are underlined in the editor (two hues, three widths), the prediction is written after
// the cursor with its probability, the status bar carries the legend, and hovering a marked token
// gives its number. Escape clears the marks. A selection explains its own last token, outlined.
// Screenshots in dark, light and high contrast.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import * as path from "node:path";
import type { Page } from "playwright-core";
import { ARTIFACTS, Host, openFile, runCommand, setTheme, startHost, VSIX } from "./host";
import { ROOT } from "../helpers";

let host: Host;
const WORKSPACE = path.join(ROOT, "samples", "workspace");

before(async () => {
  host = await startHost(WORKSPACE, { "workbench.colorTheme": "Default Dark Modern" }, VSIX);
});

after(async () => {
  await host?.close();
});

/** The marks in the editor: spans whose bottom border is drawn (the underlines), with their text and style. */
function marks(page: Page) {
  return page.evaluate(() =>
    // border decorations are drawn as overlay boxes under the text, not on the text's spans
    [...document.querySelectorAll(".monaco-editor .view-overlays div")]
      .map((e) => ({ e, s: getComputedStyle(e) }))
      .filter(({ e, s }) => e.children.length === 0 && s.borderBottomStyle !== "none" && parseFloat(s.borderBottomWidth) > 0 && s.borderTopStyle === "none")
      .map(({ e, s }) => {
        const r = e.getBoundingClientRect();
        return { style: s.borderBottomStyle, width: parseFloat(s.borderBottomWidth), colour: s.borderBottomColor, x: r.x + r.width / 2, y: r.y + r.height / 2 };
      }),
  );
}

/** The text written after the cursor by the prediction's decoration (a ::after pseudo-element). */
function afterText(page: Page) {
  return page.evaluate(() => {
    for (const e of document.querySelectorAll(".monaco-editor .view-lines span")) {
      const c = getComputedStyle(e, "::after").content;
      if (c && c !== "none" && c.includes("→")) return c;
    }
    return "";
  });
}

const legend = (page: Page) => page.locator(".statusbar-item", { hasText: /why / }).first();

test("the cursor's next-token prediction explained: marks on the tokens before it, the prediction after the cursor, a legend and a hover", async () => {
  const { page } = host;
  await openFile(page, "shapes.ts");
  await page.locator(".monaco-editor .view-lines").first().click();
  // the end of line 11, "return Math.PI * this.radius ** 2;"
  await page.keyboard.press("Control+G");
  await page.keyboard.type("11");
  await page.keyboard.press("Enter");
  await page.keyboard.press("End");
  await runCommand(page, "SeqLens: Why This Token?");
  await legend(page).waitFor({ timeout: 60_000 });
  assert.match(await legend(page).innerText(), /why .+: raised · lowered/);
  await page.waitForFunction(() => document.querySelectorAll(".monaco-editor .view-lines span").length > 0);
  const m = await marks(page);
  assert.ok(m.length >= 3, `marked tokens: ${JSON.stringify(m)}`);
  assert.ok(new Set(m.map((x) => x.colour)).size >= 2, `marks in more than one colour: ${JSON.stringify(m.map((x) => x.colour))}`);
  assert.ok(m.some((x) => x.width === 3), "the strongest effect has the thickest underline");
  assert.match(await afterText(page), /→ .+ \d+\.\d%/);
  await page.screenshot({ path: path.join(ARTIFACTS, "why-dark.png") });

  // hovering the most strongly marked token gives its number
  const strongest = m.find((x) => x.width === 3)!;
  await page.mouse.move(strongest.x, strongest.y);
  const hover = page.locator(".monaco-hover", { hasText: "SeqLens · why" }).first();
  await hover.waitFor({ timeout: 15_000 });
  assert.match(await hover.innerText(), /replacing it by .+ (raises|lowers) log p\(.+\) by [\d.]+ nats[\s\S]*Rank \d+ of \d+ tokens/);
  await page.screenshot({ path: path.join(ARTIFACTS, "why-hover-dark.png") });

  for (const [theme, name] of [["Light Modern", "why-light"], ["Dark High Contrast", "why-high-contrast"]] as const) {
    await setTheme(page, theme);
    await page.waitForFunction((t) => document.querySelector(".monaco-workbench")?.classList.contains(t === "Light Modern" ? "vs" : "hc-black"), theme, { timeout: 15_000 });
    const again = await marks(page);
    // the same marks (high contrast draws one more underlined box of its own)
    assert.ok(Math.abs(again.length - m.length) <= 2, `${theme}: ${again.length} marks, ${m.length} in dark`);
    await page.screenshot({ path: path.join(ARTIFACTS, `${name}.png`) });
  }
  await setTheme(page, "Dark Modern");

  // Escape clears the marks and the legend
  await page.locator(".monaco-editor .view-lines").first().click();
  await page.keyboard.press("End");
  await page.keyboard.press("Escape");
  await legend(page).waitFor({ state: "hidden", timeout: 10_000 });
  assert.equal((await marks(page)).length, 0);
});

test("a selection explains its own last token from the ones before it; typing clears the marks", async () => {
  const { page } = host;
  await openFile(page, "shapes.ts");
  await page.locator(".monaco-editor .view-lines").first().click();
  // marks an earlier run left are cleared first (Escape), so the legend that appears is this run's
  await page.keyboard.press("Escape");
  await legend(page).waitFor({ state: "hidden", timeout: 10_000 });
  await page.keyboard.press("Control+G");
  await page.keyboard.type("16");
  await page.keyboard.press("Enter");
  await page.keyboard.press("Home");
  await page.keyboard.press("Home");
  await page.keyboard.press("Shift+End");
  await runCommand(page, "SeqLens: Why This Token?");
  await legend(page).waitFor({ timeout: 60_000 });
  // the explained token is outlined (a full border), the ones before it underlined
  const outlined = await page.evaluate(() => [...document.querySelectorAll(".monaco-editor .view-overlays div")].filter((e) => getComputedStyle(e).borderTopStyle === "solid" && getComputedStyle(e).borderLeftStyle === "solid" && parseFloat(getComputedStyle(e).borderTopWidth) > 0).length);
  assert.ok(outlined >= 1, "the explained token is outlined");
  assert.ok((await marks(page)).length >= 2);
  await page.screenshot({ path: path.join(ARTIFACTS, "why-selection-dark.png") });
  // an edit makes the offsets stale: the marks go
  await page.keyboard.press("End");
  await page.keyboard.type(" ");
  await legend(page).waitFor({ state: "hidden", timeout: 10_000 });
  await page.keyboard.press("Control+Z");
});
