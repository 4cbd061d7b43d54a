// The page by keyboard (issue 14 item 8): a skip link reaches the run controls in one Tab, and
// arrowing through a dropdown starts no run until the choice is committed with Enter.
import { test } from "node:test";
import assert from "node:assert/strict";
import { launch, openPage, TINY, until, url } from "./browser.mjs";

test("a skip link reaches Play; a dropdown starts one run when its choice is committed", async () => {
  const browser = await launch({ webgpu: false });
  try {
    const { page, errors } = await openPage(browser);
    await page.goto(`${url}${TINY}&train.steps=5`);
    await until(page, (s) => s.runs.length === 1 && s.runs[0].status === "finished, 5 steps");

    await page.keyboard.press("Tab");
    const focused = () => page.evaluate(() => document.activeElement?.dataset.testid);
    assert.equal(await focused(), "skip-link", "the first Tab stop");
    await page.keyboard.press("Enter");
    await page.keyboard.press("Tab");
    assert.equal(await focused(), "play", "one Tab after the skip link");

    const select = page.getByTestId("control-model.norm");
    const before = await select.inputValue();
    await select.focus();
    for (let i = 0; i < 2; i++) await page.keyboard.press("ArrowDown");
    await page.waitForTimeout(500);
    assert.notEqual(await select.inputValue(), before, "the arrows moved the choice");
    assert.equal((await page.evaluate(() => window.__archlab)).runs.length, 1, "no run while arrowing");
    await page.keyboard.press("Enter");
    const after = await until(page, (s) => s.runs.length === 2);
    await page.waitForTimeout(500);
    assert.equal((await page.evaluate(() => window.__archlab)).runs.length, 2, "one run for the choice");
    assert.notEqual(after.runs[1].name, after.runs[0].name);
    assert.deepEqual(errors, []);
  } finally {
    await browser.close();
  }
});
