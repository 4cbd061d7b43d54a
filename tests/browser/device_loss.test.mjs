// A lost GPU device (a projector plugged in, a driver reset): the page says so, makes a new
// device and resumes the run from its last resume point (every 50 steps, `lab::resume`), with
// its history before that point intact and the steps after it trained again. The test loses
// the device as a browser would report it, by destroying the page's own GPUDevice: an init
// script keeps every device the page asks for, so the page needs no debugging hook.
import { test } from "node:test";
import assert from "node:assert/strict";
import { launch, openPage, screenshot, TINY, url } from "./browser.mjs";

/** Waits until `predicate(window.__archlab)` holds (evaluated here, in node: the page's
 * Content-Security-Policy forbids evaluating strings in the page) and returns the snapshot. */
async function until(page, predicate, timeout = 120_000) {
  const deadline = Date.now() + timeout;
  for (;;) {
    const snapshot = await page.evaluate(() => window.__archlab);
    if (snapshot && predicate(snapshot)) return snapshot;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${predicate}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

test("a lost GPU device: a notice, a new device, the run resumes from its resume point", async () => {
  const browser = await launch();
  try {
    const { page, errors } = await openPage(browser);
    await page.addInitScript(() => {
      window.__devices = [];
      const requestDevice = GPUAdapter.prototype.requestDevice;
      GPUAdapter.prototype.requestDevice = async function (...args) {
        const device = await requestDevice.apply(this, args);
        window.__devices.push(device);
        return device;
      };
    });
    await page.goto(url + TINY + "&train.steps=400");
    const before = await until(page, (s) => s.runs[0]?.steps >= 60 && s.runs[0].resume_step === 50);
    const t0 = Date.now();
    await page.evaluate(() => window.__devices[0].destroy());
    const notice = page.getByTestId("engine-notice");
    await notice.waitFor({ timeout: 30_000 });
    const text = await notice.innerText();
    console.log(`notice after ${Date.now() - t0} ms: ${text}`);
    assert.match(text, /^The GPU was reset \(destroyed.*\); training goes on with a new WebGPU device\./);
    assert.match(text, / Resumed run 1 from step 50\.$/);
    const after = await until(page, (s) => s.runs[0].steps >= before.runs[0].steps + 10);
    assert.equal(await page.evaluate(() => window.__devices.length), 2, "a new device");
    const [old, now] = [before.runs[0], after.runs[0]];
    assert.match(now.status, /^step \d+ of 400$/, "still training");
    assert.deepEqual(now.loss.slice(0, 50), old.loss.slice(0, 50), "the history before step 50 is intact");
    // The steps after the resume point are trained again from the same state and batches on the
    // same kernels: the same losses (a wrong state or batch position would change them).
    for (let step = 50; step < old.steps; step++) {
      assert.ok(Math.abs(now.loss[step] - old.loss[step]) <= 1e-4 * Math.abs(old.loss[step]),
        `step ${step}: ${now.loss[step]} after the loss, ${old.loss[step]} before`);
    }
    assert.equal(after.engine_notice, text);
    await screenshot(page, "device-loss");
    assert.deepEqual(errors, []);
  } finally {
    await browser.close();
  }
});
