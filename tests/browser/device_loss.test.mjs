// A lost GPU device (a projector plugged in, a driver reset): the page says so, makes a new
// device and resumes the run from its last resume point (every 50 steps, `lab::resume`), with
// its history before that point intact and the steps after it trained again. The test loses
// the device as a browser would report it, by destroying the page's own GPUDevice: an init
// script keeps every device the page asks for, so the page needs no debugging hook.
import { test } from "node:test";
import assert from "node:assert/strict";
import { launch, openPage, screenshot, TINY, until, url } from "./browser.mjs";

/** Opens the page on TINY with an init script keeping every GPUDevice it asks for in
 * `window.__devices`; with `refuse`, every device after the first is refused, as by a GPU that
 * does not come back. */
async function openKeepingDevices(browser, refuse) {
  const { page, errors } = await openPage(browser);
  await page.addInitScript((refuse) => {
    window.__devices = [];
    const requestDevice = GPUAdapter.prototype.requestDevice;
    GPUAdapter.prototype.requestDevice = async function (...args) {
      if (refuse && window.__devices.length > 0) throw new Error("no device (test)");
      const device = await requestDevice.apply(this, args);
      window.__devices.push(device);
      return device;
    };
  }, refuse);
  await page.goto(url + TINY + "&train.steps=400");
  return { page, errors };
}

/** Loses the device once run 1 is past its first resume point (step 50); returns the snapshot
 * before, the notice's text, and a snapshot 10 steps later. */
async function loseDevice(page) {
  const before = await until(page, (s) => s.runs[0]?.steps >= 60 && s.runs[0].resume_step === 50, null, 120_000);
  const t0 = Date.now();
  await page.evaluate(() => window.__devices[0].destroy());
  const notice = page.getByTestId("engine-notice");
  await notice.waitFor({ timeout: 30_000 });
  const text = await notice.innerText();
  console.log(`notice after ${Date.now() - t0} ms: ${text}`);
  const after = await until(page, (s) => s.runs[0].steps >= before.runs[0].steps + 10, null, 120_000);
  assert.equal(after.engine_notice, text);
  const [old, now] = [before.runs[0], after.runs[0]];
  assert.match(now.status, /^step \d+ of 400$/, "still training");
  assert.deepEqual(now.loss.slice(0, 50), old.loss.slice(0, 50), "the history before step 50 is intact");
  return { old, now, text };
}

/** The losses of the steps trained again after the resume point are those of before, within
 * `relative` (a wrong state or batch position would change them). */
function sameLosses(old, now, relative) {
  for (let step = 50; step < old.steps; step++) {
    assert.ok(Math.abs(now.loss[step] - old.loss[step]) <= relative * Math.abs(old.loss[step]),
      `step ${step}: ${now.loss[step]} after the loss, ${old.loss[step]} before`);
  }
}

test("a lost GPU device: a notice, a new device, the run resumes from its resume point", async () => {
  const browser = await launch();
  try {
    const { page, errors } = await openKeepingDevices(browser, false);
    const { old, now, text } = await loseDevice(page);
    assert.match(text, /^The GPU was reset \(destroyed.*\); training goes on with a new WebGPU device\. Resumed run 1 from step 50\.$/);
    assert.equal(await page.evaluate(() => window.__devices.length), 2, "a new device");
    // The same state, batches and kernels: the same losses.
    sameLosses(old, now, 1e-4);
    await screenshot(page, "device-loss");
    assert.deepEqual(errors, []);
  } finally {
    await browser.close();
  }
});

test("a lost GPU device and none to be had: the run resumes on the CPU engine", async () => {
  const browser = await launch();
  try {
    const { page, errors } = await openKeepingDevices(browser, true);
    const { old, now, text } = await loseDevice(page);
    assert.match(text, /^The GPU was reset \(destroyed.*\); training goes on with the CPU engine \(no new GPU device could be had\)\. Resumed run 1 from step 50\.$/);
    assert.match(await page.getByTestId("engine").innerText(), /CPU engine/);
    // The CPU engine computes the same steps in another order of float operations.
    sameLosses(old, now, 1e-3);
    assert.deepEqual(errors, []);
  } finally {
    await browser.close();
  }
});
