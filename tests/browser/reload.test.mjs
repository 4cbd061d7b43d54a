// Runs survive a reload: the page keeps its runs and the newest run's checkpoint in IndexedDB
// (database "archlab", store "saved", keys "runs" and "checkpoint"), brings them back paused,
// and play continues the newest from its checkpoint. A corrupted copy is cleared with a
// notice; "Forget saved runs" empties the store. On the CPU engine (no WebGPU), a tiny model.
// The test reads and corrupts the store itself, from node through Playwright (the page's
// Content-Security-Policy forbids evaluating strings in the page).
import { test } from "node:test";
import assert from "node:assert/strict";
import { launch, ON_GPU, openPage, screenshot, TINY, until, url } from "./browser.mjs";

/** The kept copy in the page's IndexedDB: the runs' JSON (parsed; null when absent, the text
 * when it does not parse) and the checkpoint's length in bytes (0 when absent). `change`
 * corrupts it first: "cut-checkpoint" (its first half), "bad-json", "version" (99). */
async function stored(page, change = null) {
  return page.evaluate(
    (change) =>
      new Promise((resolve, reject) => {
        const open = indexedDB.open("archlab", 1);
        open.onupgradeneeded = () => open.result.createObjectStore("saved");
        open.onerror = () => reject(open.error);
        open.onsuccess = () => {
          const db = open.result;
          const tx = db.transaction("saved", "readwrite");
          const store = tx.objectStore("saved");
          const runs = store.get("runs");
          const checkpoint = store.get("checkpoint");
          checkpoint.onsuccess = () => {
            if (change === "cut-checkpoint") {
              const bytes = checkpoint.result;
              store.put(bytes.slice(0, bytes.length >> 1), "checkpoint");
            } else if (change === "bad-json") {
              store.put("{not json", "runs");
            } else if (change === "version") {
              store.put(runs.result.replace('"version":1', '"version":99'), "runs");
            }
          };
          tx.oncomplete = () => {
            db.close();
            let parsed = runs.result ?? null;
            try {
              parsed = parsed === null ? null : JSON.parse(parsed);
            } catch {}
            resolve({ runs: parsed, checkpoint: checkpoint.result?.length ?? 0 });
          };
          tx.onerror = () => reject(tx.error);
        };
      }),
    change,
  );
}

/** Waits until the kept copy satisfies `predicate`, and returns it. */
async function untilStored(page, predicate, timeout = 30_000) {
  const deadline = Date.now() + timeout;
  for (;;) {
    const copy = await stored(page);
    if (predicate(copy)) return copy;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${predicate}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

const notice = (page) => page.getByTestId("saved-notice").innerText();

test("runs come back after a reload, and play continues the newest from its checkpoint", async () => {
  const browser = await launch({ webgpu: false });
  try {
    const { page, errors } = await openPage(browser);
    await page.goto(`${url}${TINY}&train.steps=100000`);
    await until(page, (s) => s.runs[0]?.steps >= 20);
    await page.getByTestId("play").click();
    const paused = await until(page, (s) => !s.playing);
    const steps = paused.runs[0].steps;
    assert.ok(steps >= 20, `${steps}`);
    // A pause is kept at once, with the checkpoint.
    const copy = await untilStored(page, (c) => c.runs?.runs[0]?.history.length === steps);
    assert.ok(copy.checkpoint > 0, "the newest run's checkpoint is kept");

    await page.reload();
    const back = await until(page, (s) => s.runs.length === 1 && s.runs[0].steps === steps);
    assert.equal(back.runs[0].name, paused.runs[0].name);
    assert.deepEqual(back.runs[0].loss, paused.runs[0].loss, "every point, the last loss too");
    assert.deepEqual(back.runs[0].val_loss, paused.runs[0].val_loss);
    assert.equal(back.playing, false, "restored runs wait for play");
    assert.match(
      await notice(page),
      new RegExp(`^Restored 1 run kept in this browser; run 1: .* continues from step ${steps} when you press play\\.$`),
    );
    await screenshot(page, "reload-restored");
    await page.getByTestId("play").click();
    const more = await until(page, (s) => s.runs[0].steps >= steps + 20);
    assert.match(more.runs[0].status, /^step \d+ of 100000$/);
    assert.deepEqual(more.runs[0].loss.slice(0, steps), paused.runs[0].loss, "the history kept");
    assert.deepEqual(errors, []);
  } finally {
    await browser.close();
  }
});

test("a corrupted copy is cleared with a notice; forgetting empties the store", async () => {
  const browser = await launch({ webgpu: false });
  try {
    const { page, errors } = await openPage(browser);
    const finished = (c) => c.runs?.runs?.[0]?.status === "finished";
    await page.goto(`${url}${TINY}&train.steps=12`);
    for (const [change, reason] of [
      ["cut-checkpoint", /the newest run's checkpoint: /],
      ["bad-json", /the saved runs are not readable JSON/],
      ["version", /they were saved in version 99 of the format, and this page reads version 1/],
    ]) {
      await untilStored(page, finished);
      await stored(page, change);
      await page.reload();
      const text = await notice(page);
      assert.match(text, /^Saved runs could not be restored: .*; they were cleared\.$/, change);
      assert.match(text, reason, change);
      // The page works: a fresh run 1 trains to its end, and is kept again.
      const fresh = await until(page, (s) => s.runs[0]?.status === "finished, 12 steps");
      assert.equal(fresh.runs.length, 1, change);
    }
    await untilStored(page, finished);
    await page.getByTestId("forget-saved").click();
    await untilStored(page, (c) => c.runs === null && c.checkpoint === 0);
    assert.match(await notice(page), /^Saved runs forgotten/);
    // Nothing is kept again on this page, even after a run trains again.
    await page.getByTestId("reset").click();
    await page.getByTestId("play").click();
    await until(page, (s) => s.runs[0]?.status === "finished, 12 steps");
    assert.deepEqual(await stored(page), { runs: null, checkpoint: 0 });
    await page.reload();
    await until(page, (s) => s.runs[0]?.steps > 0);
    assert.equal(await page.getByTestId("saved-notice").count(), 0, "a fresh start, no notice");
    assert.deepEqual(errors, []);
  } finally {
    await browser.close();
  }
});

test("a write over the browser's quota is refused with a notice, and nothing is kept", async () => {
  const browser = await launch({ webgpu: false });
  try {
    const { page, errors } = await openPage(browser);
    // Chromium's DevTools protocol shrinks this origin's quota to 1 KB: the first save fails.
    const cdp = await page.context().newCDPSession(page);
    await cdp.send("Storage.overrideQuotaForOrigin", { origin: new URL(url).origin, quotaSize: 1024 });
    await page.goto(`${url}${TINY}&train.steps=12`);
    await page.getByTestId("saved-notice").waitFor({ timeout: 30_000 });
    assert.match(
      await notice(page),
      /^Runs could not be kept in this browser: QuotaExceededError.*; the saved runs were cleared, and this page keeps none until it is reloaded\.$/,
    );
    // The page goes on: its run trains to the end.
    await until(page, (s) => s.runs[0]?.status === "finished, 12 steps");
    assert.deepEqual(await stored(page), { runs: null, checkpoint: 0 });
    assert.deepEqual(errors, []);
  } finally {
    await browser.close();
  }
});

test("on WebGPU, a run kept while training comes back at its resume point and continues on the GPU", async () => {
  const browser = await launch();
  try {
    const { page, errors } = await openPage(browser);
    await page.goto(`${url}${TINY}${ON_GPU}&train.steps=100000`);
    // Reading a checkpoint would pause the run, so while it trains the copy holds its newest
    // resume point (lab::resume): one is kept once 50 steps were submitted since the last, at
    // step 50 or a step or two later when a WebGPU turn submitted several (GPU_AHEAD).
    await until(page, (s) => s.runs[0]?.steps >= 52, null, 240_000);
    await untilStored(page, (c) => c.checkpoint > 0 && c.runs?.runs[0]?.history.length >= 52);
    const shown = await until(page, () => true);
    await page.reload();
    const back = await until(page, (s) => s.runs[0]?.steps >= 50, null, 120_000);
    const point = back.runs[0].steps;
    assert.ok(point % 50 < 3 && point <= shown.runs[0].steps, `resumed at step ${point}`);
    assert.deepEqual(back.runs[0].loss, shown.runs[0].loss.slice(0, point));
    assert.match(await notice(page), new RegExp(`continues from step ${point} when you press play`));
    assert.match(await page.getByTestId("engine").innerText(), /WebGPU engine on /);
    await page.getByTestId("play").click();
    const more = await until(page, (s) => s.runs[0].steps >= point + 3, null, 120_000);
    assert.deepEqual(more.runs[0].loss.slice(0, point), back.runs[0].loss);
    assert.deepEqual(errors, []);
  } finally {
    await browser.close();
  }
});
