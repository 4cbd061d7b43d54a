// A lecture experiment in the page trains its variants together in lockstep, over seeds, with
// its own charts, a results table and a verdict (src/lab/lockstep.rs, src/ui/results.rs).
import { test } from "node:test";
import assert from "node:assert/strict";
import { fill, launch, ON_GPU, openPage, screenshot, TINY, until, url } from "./browser.mjs";

test("an experiment's variants step together; the band, the results table and the verdict fill", async () => {
  const browser = await launch();
  try {
    const { page, errors } = await openPage(browser);
    // The tiny model and four steps apply to every variant (the experiment sets neither).
    await page.goto(`${url}${TINY}${ON_GPU}&train.steps=4`);
    await until(page, (s) => s.runs.length === 1);
    await page.getByTestId("experiments").locator("summary", { hasText: "final-norm" }).click();
    await page.getByTestId("experiment-final-norm").click();

    // While it trains, every lane is within one step of every other, and the banner says so.
    const spreads = [];
    // The visitor's run may take steps before the click, and on the GPU finish steps it had in
    // flight; from a lane's first step until the last, its step count stays put.
    const visitorSteps = [];
    const done = await until(
      page,
      (s) => {
        const lanes = s.experiment?.lanes ?? [];
        if (s.experiment?.training && lanes.some((l) => l.steps > 0)) visitorSteps.push(s.runs[0].steps);
        const steps = lanes.map((l) => l.steps);
        if (s.experiment?.training && steps.some((n) => n > 0 && n < 4)) {
          spreads.push(Math.max(...steps) - Math.min(...steps));
        }
        return s.experiment && !s.experiment.training;
      },
      undefined,
      120_000,
    );
    assert.ok(spreads.length > 0, "seen while training");
    assert.ok(spreads.every((d) => d <= 1), `lanes apart by ${spreads}`);
    const { experiment } = done;
    assert.equal(experiment.seeds, 2);
    assert.deepEqual(
      experiment.lanes.map((l) => [l.variant, l.seed, l.steps]),
      [["final norm", 0, 4], ["final norm", 1, 4], ["no final norm", 0, 4], ["no final norm", 1, 4]],
    );
    assert.equal(experiment.banner, "experiment final-norm: finished, 2 variants × 2 seeds");
    assert.match(await page.getByTestId("experiment-banner").innerText(), /finished, 2 variants × 2 seeds/);

    // A band per variant over its evaluations (steps 0 and 3), the table's rows filled.
    assert.deepEqual(experiment.bands, [2, 2]);
    assert.equal(experiment.rows.length, 2);
    for (const row of experiment.rows) {
      assert.match(row[1], /^\d+\.\d{3}$/, `validation loss mean ${row[1]}`);
      assert.match(row[2], /^\d+\.\d{3}–\d+\.\d{3}$/, `spread ${row[2]}`);
      assert.equal(row[9], "0 of 2");
    }
    const table = page.getByTestId("experiment-results");
    assert.equal(await table.locator("tbody tr").count(), 2);
    assert.match(await table.innerText(), /final norm/);
    assert.ok(experiment.verdicts.length > 0);
    assert.match(experiment.verdicts[0], /Verdict: (held|not shown at this scale|contradicted|diverged) \(/);
    assert.match(await page.getByTestId("experiment-verdicts").innerText(), /Verdict: /);
    // The experiment's charts hold its variants only.
    await page.getByTestId("chart-experiment-loss").waitFor();
    await page.getByTestId("chart-experiment-difference").waitFor();
    assert.ok(visitorSteps.length > 0);
    assert.ok(visitorSteps.every((n) => n === visitorSteps[0]), `the visitor's run waited: ${visitorSteps}`);
    await screenshot(page, "lockstep");
    assert.deepEqual(errors, []);
  } finally {
    await browser.close();
  }
});

test("marked runs train again together in lockstep; their table has no verdict", async () => {
  // The CPU engine: marking and the lockstep are the same on either engine, and it is quick.
  const browser = await launch({ webgpu: false });
  try {
    const { page, errors } = await openPage(browser);
    await page.goto(`${url}${TINY}`);
    await until(page, (s) => s.runs.length === 1);
    await fill(page, "model.n_kv_heads", "1");
    const { runs } = await until(page, (s) => s.runs.length === 2);
    const compare = page.getByTestId("compare-marked");
    assert.ok(await compare.isDisabled(), "two runs or more to compare");
    await page.getByTestId("mark-1").check();
    await page.getByTestId("mark-2").check();
    await compare.click();

    // Every lane at the same step whenever the page is looked at (a round steps each lane).
    const going = await until(page, (s) => s.experiment?.training && s.experiment.lanes.every((l) => l.steps >= 5));
    const steps = going.experiment.lanes.map((l) => l.steps);
    assert.ok(Math.max(...steps) - Math.min(...steps) <= 1, `lanes at ${steps}`);
    assert.deepEqual(
      going.experiment.lanes.map((l) => [l.variant, l.seed]),
      [[runs[0].name, 0], [runs[0].name, 1], [runs[1].name, 0], [runs[1].name, 1]],
    );
    assert.match(going.experiment.banner, /^runs 1, 2 in lockstep: step \d+ of 2000, 2 runs × 2 seeds$/);
    await page.getByTestId("experiment-stop").click();
    const stopped = await until(page, (s) => !s.experiment.training);
    assert.match(stopped.experiment.banner, /^runs 1, 2 in lockstep: stopped at step \d+, 2 runs × 2 seeds$/);
    assert.equal(stopped.experiment.rows.length, 2);
    assert.deepEqual(stopped.experiment.verdicts, []);
    assert.match(await page.getByTestId("experiment-verdicts").innerText(), /make no claim/);
    await screenshot(page, "lockstep-marked");
    assert.deepEqual(errors, []);
  } finally {
    await browser.close();
  }
});
