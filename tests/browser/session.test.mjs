// A whole session travels (src/lab/session.rs, src/ui/session.rs): "Share session" gives a link
// that opens the same runs and experiment in a fresh browser; the session file and an exported
// run JSON open again; a file cut short is refused next to its control and changes nothing. An
// experiment training before a reload comes back paused (src/lab/kept_experiment.rs) and play
// restarts it. On the CPU engine, a tiny model.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { fill, launch, openPage, screenshot, TINY, until, url } from "./browser.mjs";

/** Each run's name and step count, and the experiment's banner and lanes' steps. */
const shown = (s) => ({
  runs: s.runs.map((r) => [r.name, r.steps]),
  banner: s.experiment?.banner,
  lanes: s.experiment?.lanes.map((l) => l.steps),
});

/** Clicks `testid` and returns the downloaded file's bytes. */
async function downloaded(page, testid) {
  const [download] = await Promise.all([page.waitForEvent("download"), page.getByTestId(testid).click()]);
  return readFile(await download.path());
}

/** The experiment's lanes' history lengths in the copy the page keeps in IndexedDB. */
const keptLanes = (page) =>
  page.evaluate(
    () =>
      new Promise((resolve, reject) => {
        const open = indexedDB.open("archlab", 1);
        open.onerror = () => reject(open.error);
        open.onsuccess = () => {
          const request = open.result.transaction("saved").objectStore("saved").get("runs");
          request.onsuccess = () => {
            open.result.close();
            const lanes = request.result ? JSON.parse(request.result).experiment?.lanes : null;
            resolve(lanes ? lanes.map((l) => l.history.length) : null);
          };
        };
      }),
  );

const outcome = (page) => page.getByTestId("session-outcome").innerText();

test("a shared session opens the same runs and experiment; a run JSON opens as an imported run", async () => {
  const browser = await launch({ webgpu: false });
  try {
    const { page, errors } = await openPage(browser);
    await page.goto(`${url}${TINY}&train.steps=6`);
    await until(page, (s) => s.runs[0]?.status === "finished, 6 steps");
    await fill(page, "train.lr", "0.02");
    // The first run's end paused the page.
    await page.getByTestId("play").click();
    await until(page, (s) => s.runs[1]?.status === "finished, 6 steps");
    await page.getByTestId("experiments").locator("summary", { hasText: "final-norm" }).click();
    await page.getByTestId("experiment-final-norm").click();
    const first = await until(page, (s) => s.experiment && !s.experiment.training);
    const before = shown(first);
    assert.equal(before.banner, "experiment final-norm: finished, 2 variants × 2 seeds");

    await page.getByTestId("share-session").click();
    const link = await page.getByTestId("session-link").inputValue();
    assert.ok(link.length <= 8192, `${link.length} bytes`);
    assert.match(await page.getByTestId("session-link-note").innerText(), /with their histories/);
    const session = await downloaded(page, "save-session");
    const run = await downloaded(page, "export-json-2");

    // The link in a fresh browser: the same runs, step for step, and the same experiment.
    const shared = await openPage(browser);
    await shared.page.goto(link);
    const opened = await until(shared.page, (s) => s.runs.length === 2 && s.experiment);
    assert.deepEqual(shown(opened), before);
    assert.equal(opened.playing, false);
    assert.match(
      await shared.page.getByTestId("saved-notice").innerText(),
      /^Restored 2 runs from the shared link; run 2: .* parameters do not travel in a shared session/,
    );
    assert.ok(!shared.page.url().includes("session="), "the link has done its work");
    await screenshot(shared.page, "session-link-opened");

    // A fresh page: a run JSON cut short is refused and changes nothing; the whole one opens.
    const fresh = await openPage(browser);
    await fresh.page.goto(`${url}${TINY}&train.steps=6`);
    await until(fresh.page, (s) => s.runs[0]?.status === "finished, 6 steps");
    const input = fresh.page.getByTestId("open-run-json");
    const cut = { name: "cut.json", mimeType: "application/json", buffer: run.subarray(0, run.length >> 1) };
    await input.setInputFiles(cut);
    await fresh.page.locator('[data-testid="session-outcome"][role="alert"]').waitFor();
    assert.match(await outcome(fresh.page), /^the run JSON: it does not fit the format/);
    assert.equal((await until(fresh.page, () => true)).runs.length, 1, "nothing added");
    await input.setInputFiles({ name: "run.json", mimeType: "application/json", buffer: run });
    const imported = await until(fresh.page, (s) => s.runs.length === 2);
    assert.deepEqual(imported.runs[1].loss, first.runs[1].loss, "every step's loss");
    assert.match(imported.runs[1].name, /^run 2: imported run 2: /);
    assert.match(await outcome(fresh.page), /holds no parameters, so it trains no further/);

    // The session file in place of that page's runs.
    await fresh.page.getByTestId("open-session").setInputFiles({
      name: "archlab-session.json",
      mimeType: "application/json",
      buffer: session,
    });
    const reopened = await until(fresh.page, (s) => s.experiment && s.runs[1]?.name === before.runs[1][0]);
    assert.deepEqual(shown(reopened), before);
    assert.match(await outcome(fresh.page), /^Restored 2 runs from the session file/);
    assert.deepEqual([...errors, ...shared.errors, ...fresh.errors], []);
  } finally {
    await browser.close();
  }
});

test("an experiment training before a reload comes back paused, and play restarts it", async () => {
  const browser = await launch({ webgpu: false });
  try {
    const { page, errors } = await openPage(browser);
    await page.goto(`${url}${TINY}&train.steps=100000`);
    await until(page, (s) => s.runs.length === 1);
    await page.getByTestId("experiments").locator("summary", { hasText: "final-norm" }).click();
    await page.getByTestId("experiment-final-norm").click();
    await until(page, (s) => s.experiment?.lanes.every((l) => l.steps >= 100));
    await page.getByTestId("play").click();
    const paused = shown(await until(page, (s) => !s.playing));
    const step = Math.min(...paused.lanes);
    // A pause is kept at once.
    for (let tries = 0; JSON.stringify(await keptLanes(page)) !== JSON.stringify(paused.lanes); tries++) {
      assert.ok(tries < 100, "the paused experiment is kept");
      await page.waitForTimeout(100);
    }

    await page.reload();
    const back = await until(page, (s) => s.experiment?.lanes.length === 4);
    assert.deepEqual(back.experiment.lanes.map((l) => l.steps), paused.lanes);
    assert.equal(
      back.experiment.banner,
      `experiment final-norm: step ${step} of 100000 (play restarts it from step 0), 2 variants × 2 seeds`,
    );
    assert.equal(back.playing, false);
    assert.match(
      await page.getByTestId("saved-notice").innerText(),
      new RegExp(`experiment final-norm comes back at step ${step}; its lanes' parameters were not kept, so play restarts it from step 0\\.$`),
    );
    await page.getByTestId("play").click();
    // Started again from step 0: seen below the step it stood at.
    const again = await until(page, (s) => s.experiment.lanes.every((l) => l.steps >= 1 && l.steps < step));
    assert.match(again.experiment.banner, /^experiment final-norm: step \d+ of 100000, 2 variants/);
    assert.deepEqual(errors, []);
  } finally {
    await browser.close();
  }
});
