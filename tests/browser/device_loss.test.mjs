// A lost GPU device (a projector plugged in, a driver reset): the page says so, makes a new
// device and resumes the run from its last resume point (every 50 steps, `lab::resume`), with
// its history before that point intact and the steps after it trained again; when no device
// comes back, the run goes on on the CPU engine. The test loses the device as a browser would
// report it, by destroying the page's own GPUDevice: an init script keeps every device the page
// asks for, so the page needs no debugging hook. One page loses its device twice, since each
// page load costs a minute of SwiftShader's pipeline compilation.
import { test } from "node:test";
import assert from "node:assert/strict";
import { launch, ON_GPU, openPage, screenshot, TINY, until, url } from "./browser.mjs";

/** Opens the page on TINY with an init script keeping every GPUDevice it asks for in
 * `window.__devices`; once the test sets `window.__refuse`, new devices are refused, as by a
 * GPU that does not come back. */
async function openKeepingDevices(browser) {
  const { page, errors } = await openPage(browser);
  await page.addInitScript(() => {
    window.__devices = [];
    const requestDevice = GPUAdapter.prototype.requestDevice;
    GPUAdapter.prototype.requestDevice = async function (...args) {
      if (window.__refuse) throw new Error("no device (test)");
      const device = await requestDevice.apply(this, args);
      window.__devices.push(device);
      return device;
    };
  });
  // Long enough that the run still trains after the second loss, on the faster CPU engine.
  await page.goto(url + TINY + ON_GPU + "&train.steps=100000");
  return { page, errors };
}

/** Loses the newest device once run 1 is 10 steps past a resume point at step `resume` or
 * later (a point is kept when 50 steps were submitted since the last, so it can land a step or
 * two past the multiple of 50 when a turn submits several); returns that point, the snapshot
 * before, the notice's text, and a snapshot 10 steps later. */
async function loseDevice(page, resume) {
  // The first call also waits for the page's load and SwiftShader's pipeline compilation (a
  // minute or more on a loaded 2-core machine).
  const past = (s) => s.runs[0]?.resume_step >= resume && s.runs[0].steps >= s.runs[0].resume_step + 10;
  const before = await until(page, past, null, 240_000);
  const point = before.runs[0].resume_step;
  console.log(`resume point: step ${point}`);
  const t0 = Date.now();
  const notice = page.getByTestId("engine-notice");
  const previous = (await notice.count()) ? await notice.innerText() : null;
  await page.evaluate(() => window.__devices.at(-1).destroy());
  await page.waitForFunction(
    (previous) => {
      const text = document.querySelector("[data-testid=engine-notice]")?.innerText;
      return text !== undefined && text !== previous;
    },
    previous,
    { timeout: 30_000 },
  );
  const text = await notice.innerText();
  console.log(`notice after ${Date.now() - t0} ms: ${text}`);
  const after = await until(page, (s) => s.runs[0].steps >= before.runs[0].steps + 10, null, 120_000);
  assert.equal(after.engine_notice, text);
  const [old, now] = [before.runs[0], after.runs[0]];
  assert.match(now.status, /^step \d+ of 100000$/, "still training");
  assert.deepEqual(now.loss.slice(0, point), old.loss.slice(0, point), `the history before step ${point} is intact`);
  return { point, old, now, text };
}

/** The losses of the steps trained again after the resume point are those of before, within
 * `relative` (a wrong state or batch position would change them). */
function sameLosses(old, now, resume, relative) {
  for (let step = resume; step < old.steps; step++) {
    assert.ok(Math.abs(now.loss[step] - old.loss[step]) <= relative * Math.abs(old.loss[step]),
      `step ${step}: ${now.loss[step]} after the loss, ${old.loss[step]} before`);
  }
}

test("a lost GPU device: a new device, the run resumes; lost again with none to be had: the CPU engine", async () => {
  const browser = await launch();
  try {
    const { page, errors } = await openKeepingDevices(browser);
    const first = await loseDevice(page, 50);
    assert.match(first.text, new RegExp(`^The GPU was reset \\(destroyed.*\\); training goes on with a new WebGPU device\\. Resumed run 1 from step ${first.point}\\.$`));
    assert.equal(await page.evaluate(() => window.__devices.length), 2, "a new device");
    // The same state, batches and kernels: the same losses.
    sameLosses(first.old, first.now, first.point, 1e-4);
    assert.match(await page.getByTestId("engine").innerText(), /WebGPU engine on .* · .*backend/);
    assert.match(await page.getByTestId("engine-note").innerText(), /WebGPU engine/);
    assert.equal(await page.getByTestId("kernel-check").getAttribute("data-status"), "ready", "a check of the new device");
    await screenshot(page, "device-loss");

    await page.evaluate(() => { window.__refuse = true; });
    const second = await loseDevice(page, first.point + 50);
    assert.match(second.text, new RegExp(`^The GPU was reset \\(destroyed.*\\); training goes on with the CPU engine \\(no new GPU device could be had\\)\\. Resumed run 1 from step ${second.point}\\.$`));
    // The CPU engine computes the same steps in another order of float operations.
    sameLosses(second.old, second.now, second.point, 1e-3);
    // Every readout names the engine in use now.
    assert.match(await page.getByTestId("engine").innerText(), /CPU engine.* · the GPU device was lost/);
    assert.match(await page.getByTestId("engine-note").innerText(), /CPU engine/);
    assert.equal(await page.getByTestId("kernel-check").getAttribute("data-status"), "skipped");
    assert.match(await page.getByTestId("gpu-panel").innerText(), /device was lost/);
    await screenshot(page, "device-loss-cpu");
    assert.deepEqual(errors, []);
  } finally {
    await browser.close();
  }
});

test("a lost GPU device mid-experiment: the lanes go on on a new device", async () => {
  const browser = await launch();
  try {
    const { page, errors } = await openKeepingDevices(browser);
    // The first step waits for SwiftShader's pipeline compilation.
    await until(page, (s) => s.runs[0]?.steps >= 1, null, 240_000);
    await page.getByTestId("experiments").locator("summary", { hasText: "final-norm" }).click();
    await page.getByTestId("experiment-final-norm").click();
    // A round of 4 lanes takes seconds on SwiftShader, so the loss comes before the first
    // resume point (step 50; tests/integration/gpu_page.rs resumes from one, on lavapipe): the lanes start
    // again from their seeds and find the same losses.
    const lanesAt = (s, steps) => s.experiment?.lanes.length === 4 && s.experiment.lanes.every((l) => l.steps >= steps);
    const before = await until(page, lanesAt, 2, 120_000);
    await page.evaluate(() => window.__devices.at(-1).destroy());
    const after = await until(page, (s) => s.engine_notice && lanesAt(s, 2), null, 120_000);
    console.log(`notice: ${after.engine_notice}`);
    const said = "The lanes started again from step 0 on the WebGPU engine: none had kept a state yet";
    assert.ok(after.engine_notice.endsWith(` ${said}.`), after.engine_notice);
    assert.ok(after.experiment.banner.endsWith(`. ${said}`), after.experiment.banner);
    assert.ok(after.experiment.training, "the lanes still train");
    for (const [i, lane] of after.experiment.lanes.entries()) {
      for (const step of [0, 1]) {
        const [now, old] = [lane.loss[step], before.experiment.lanes[i].loss[step]];
        assert.ok(Math.abs(now - old) <= 1e-4 * Math.abs(old), `lane ${i} step ${step}: ${now} after, ${old} before`);
      }
    }
    assert.equal(await page.evaluate(() => window.__devices.length), 2, "a new device");
    await screenshot(page, "device-loss-experiment");
    assert.deepEqual(errors, []);
  } finally {
    await browser.close();
  }
});
