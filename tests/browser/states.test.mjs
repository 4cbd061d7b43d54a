// Issue 14's "states that lie", each checked true in the page (CPU engine, tiny model): a
// superseded run, an invalid setting, the tokens/s readout, an ended experiment's banner, Play
// and charts (its own, and the step charts while it is on show). The logic behind each has its unit test in src/lab (play.rs, views.rs,
// lockstep.rs, memory.rs); here the page shows it.
import { test } from "node:test";
import { readFile } from "node:fs/promises";
import assert from "node:assert/strict";
import { fill, launch, openPage, screenshot, TINY, until, url } from "./browser.mjs";

/** The tokens/s readout's value, or null when it shows none. */
const tokensShown = (page) => page.getByTestId("readout-tokens").getAttribute("data-value");

test("a superseded run says where it stopped; an invalid setting names the run that goes on; tokens/s only while it trains", async () => {
  const browser = await launch({ webgpu: false });
  try {
    const { page, errors } = await openPage(browser);
    await page.goto(`${url}${TINY}`);
    await until(page, (s) => s.runs[0]?.steps >= 3);
    await fill(page, "model.n_kv_heads", "1");
    const superseded = await until(page, (s) => s.runs.length === 2 && s.runs[1].steps >= 2);
    // Was "step 88 of 2000" and "training".
    const stopped = superseded.runs[0];
    assert.match(stopped.status, /^stopped at step \d+$/);
    assert.equal(stopped.status, `stopped at step ${stopped.steps}`);
    assert.match(await page.getByTestId("run-1").innerText(), new RegExp(`stopped at step ${stopped.steps}`));
    const [download] = await Promise.all([page.waitForEvent("download"), page.getByTestId("export-json-1").click()]);
    const exported = JSON.parse((await readFile(await download.path())).toString());
    assert.deepEqual(exported.status, { halted: { step: stopped.steps } });

    // 3 KV heads do not fit 2 heads: no new run, and run 2 goes on (was "This configuration
    // cannot train" while it trained on).
    await fill(page, "model.n_kv_heads", "3");
    const invalid = await until(page, (s) => s.problems_heading !== null);
    assert.equal(
      invalid.problems_heading,
      "These settings cannot start a new run (run 2 goes on with its own, earlier settings): ",
    );
    assert.match(await page.getByTestId("problems-heading").innerText(), /run 2 goes on with its own, earlier settings/);
    const goesOn = await until(page, (s, before) => s.runs[1].steps > before + 3, invalid.runs[1].steps);
    assert.equal(goesOn.runs.length, 2, "no new run");
    assert.match(goesOn.runs[1].status, /^step \d+ of 2000$/);

    // Training: tokens/s shows. Paused: it does not (it stayed on screen).
    assert.ok(goesOn.tokens_per_second > 0);
    assert.ok(Number(await tokensShown(page)) > 0, "tokens/s while run 2 trains");
    const tokensLabel = page.getByTestId("readout-tokens").locator(".readout-label");
    assert.equal(await tokensLabel.innerText(), "tokens/s, run 2", "the run it measures");
    await page.getByTestId("play").click();
    const paused = await until(page, (s) => !s.playing);
    assert.equal(paused.tokens_per_second, null);
    assert.equal(await tokensShown(page), null, "no tokens/s while paused");
    assert.equal(await tokensLabel.innerText(), "tokens/s");
    assert.equal(await page.getByTestId("play").getAttribute("title"), `Play trains run 2 on from step ${paused.runs[1].steps}`);
    await screenshot(page, "states-invalid-paused");
    assert.deepEqual(errors, []);
  } finally {
    await browser.close();
  }
});

test("an ended experiment says finished, Play trains what its title says, its charts hold its variants only", async () => {
  const browser = await launch({ webgpu: false });
  try {
    const { page, errors } = await openPage(browser);
    await page.goto(`${url}${TINY}&train.steps=4`);
    await until(page, (s) => s.runs[0]?.status === "finished, 4 steps" && !s.playing);
    // Run 1 again from step 0, waiting for play while the experiment trains.
    await page.getByTestId("reset").click();
    await until(page, (s) => s.runs[0].steps === 0);
    await page.getByTestId("experiments").locator("summary", { hasText: "final-norm" }).click();
    await page.getByTestId("experiment-final-norm").click();
    const ended = await until(page, (s) => s.experiment && !s.experiment.training && !s.playing, undefined, 120_000);
    assert.equal(ended.experiment.banner, "experiment final-norm: finished, 2 variants × 2 seeds");
    // The experiment's charts: its two variants, not run 1 (another model) among them.
    assert.deepEqual(ended.experiment.chart_lines, {
      loss: ["final norm", "no final norm"],
      difference: ["final norm", "no final norm"],
    });
    // The step charts (loss, gradient norm, ...) show its lanes until run 1 trains on.
    const lanes = ["final norm seed 1", "final norm seed 2", "no final norm seed 1", "no final norm seed 2"];
    assert.deepEqual(ended.chart_series, lanes);
    await page.waitForFunction(() => document.querySelector("[data-testid=chart-grad]").dataset.lines === "4");
    assert.equal(ended.tokens_per_second, null, "nothing trains");
    assert.equal(await tokensShown(page), null);

    // Play goes on with the run that waited, as its title says (it seemed to do nothing).
    const play = page.getByTestId("play");
    assert.equal(ended.play_title, "Play trains run 1 on from step 0");
    assert.equal(await play.getAttribute("title"), ended.play_title);
    assert.equal(await play.getAttribute("aria-disabled"), "false");
    await play.click();
    const trained = await until(page, (s) => s.runs[0].status === "finished, 4 steps" && !s.playing);
    assert.equal(trained.experiment.lanes.every((l) => l.steps === 4), true, "the lanes stay where they ended");
    assert.deepEqual(trained.chart_series, ["run 1"]);
    // Nothing left: Play is marked off (still one Tab away) and says why.
    const nothing = "Nothing left to train: run 1: finished, 4 steps. Reset trains it again from step 0; a changed setting starts a new run.";
    assert.equal(trained.play_title, nothing);
    assert.equal(await play.getAttribute("title"), nothing);
    assert.equal(await play.getAttribute("aria-disabled"), "true");

    // Presenter mode's status is the banner, not "Now running: … finished".
    await page.keyboard.press("p");
    assert.equal(await page.getByTestId("presenter-status").innerText(), ended.experiment.banner);
    await screenshot(page, "states-experiment-ended");
    assert.deepEqual(errors, []);
  } finally {
    await browser.close();
  }
});
