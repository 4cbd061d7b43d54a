// The engine choice (src/lab/engine_choice.rs): on SwiftShader, a software WebGPU adapter, the
// page trains on the CPU engine and says why; the WebGPU button moves the run to the GPU
// engine, which trains it on, and the URL keeps the choice.
import { test } from "node:test";
import assert from "node:assert/strict";
import { launch, openPage, screenshot, TINY, until, url } from "./browser.mjs";

test("on SwiftShader the page picks the CPU engine and says why; switching to WebGPU trains there", async () => {
  const browser = await launch();
  try {
    const { page, errors } = await openPage(browser);
    await page.goto(`${url}${TINY}&train.steps=100000`);
    // Past its first resume point (every 50 steps), from which the switch continues.
    await until(page, (s) => s.runs.length === 1 && s.runs[0].steps >= 55, null, 60_000);
    assert.match(
      await page.getByTestId("engine-why").innerText(),
      /^Training on the CPU engine: this browser's WebGPU is a software renderer \(SwiftShader\), slower than the CPU engine here\.$/,
    );
    assert.match(await page.getByTestId("engine").innerText(), /^Engine: CPU engine/);
    assert.equal(await page.getByTestId("engine-auto").getAttribute("aria-pressed"), "true");

    await page.getByTestId("engine-gpu").click();
    await page.waitForFunction(
      () => /^Engine: WebGPU engine on /.test(document.querySelector("[data-testid=engine]").innerText),
      null,
      { timeout: 60_000 },
    );
    assert.match(await page.getByTestId("engine-why").innerText(), /^Training on the WebGPU engine, as chosen/);
    const notice = await page.getByTestId("engine-notice").innerText();
    const [, step] = notice.match(/^Switched to the WebGPU engine\. Resumed run 1 from step (\d+)\.$/) ?? [];
    assert.ok(step > 0 && step % 50 === 0, `a resume point: ${notice}`);
    assert.equal(await page.getByTestId("engine-gpu").getAttribute("aria-pressed"), "true");
    assert.match(page.url(), /[?&]engine=gpu(&|$)/);
    const resumed = await until(page, (s) => s.runs.length === 1, null);
    const from = resumed.runs[0].steps;
    // The same run goes on, on the GPU engine.
    const later = await until(page, (s, from) => s.runs.length === 1 && s.runs[0].steps >= from + 3, from, 120_000);
    assert.ok(later.runs[0].steps >= from + 3);
    await screenshot(page, "engine-choice-gpu");
    assert.deepEqual(errors, []);
  } finally {
    await browser.close();
  }
});
