// The learning-rate sweep in the page: pre- and post-norm at each learning rate typed, trained
// in one lockstep; final loss against learning rate, a rate that surely diverges marked
// (src/lab/sweep.rs, src/ui/sweep.rs).
import { test } from "node:test";
import assert from "node:assert/strict";
import { launch, openPage, screenshot, TINY, until, url } from "./browser.mjs";

test("the sweep trains every rate, marks the one that diverges, and refuses a bad list", async () => {
  const browser = await launch();
  try {
    const { page, errors } = await openPage(browser);
    // The tiny model and four steps apply to every lane.
    await page.goto(`${url}${TINY}&train.steps=4`);
    await until(page, (s) => s.runs.length === 1);
    await page.getByTestId("sweep-controls").locator("summary").click();
    const lrs = page.getByTestId("sweep-lrs");
    assert.equal(await lrs.inputValue(), "5e-4, 2.5e-3, 1.2e-2, 6e-2, 3e-1");

    // A list that is not learning rates is refused by name; nothing starts.
    await lrs.fill("1e-3, fast");
    await page.getByTestId("sweep-run").click();
    await page.getByTestId("problems").getByText('lrs: "fast" is not a number').waitFor();
    assert.equal(await page.evaluate(() => window.__archlab.experiment), null);

    // 1e30: AdamW moves each weight by about the rate at the first step, so the loss leaves
    // the finite floats at once.
    await lrs.fill("1e-3, 1e30");
    await page.getByTestId("sweep-run").click();
    const done = await until(
      page,
      (s) => s.experiment?.name === "lr-sweep" && !s.experiment.training,
      undefined,
      120_000,
    );
    const { experiment } = done;
    assert.equal(await page.getByTestId("problems").count(), 0, "the refusal cleared by the start");
    assert.deepEqual(
      experiment.lanes.map((l) => l.variant),
      ["pre-norm", "post-norm", "pre-norm", "post-norm"],
    );
    assert.match(experiment.banner, /finished, 2 variants × 2 learning rates \(pre-norm at lr 1e30 diverged at step \d/);
    const { sweep } = experiment;
    assert.deepEqual(sweep.header, ["variant", "lr 1e-3", "lr 1e30"]);
    for (const row of sweep.rows) {
      assert.match(row[1], /^\d+\.\d{4}$/, `a final loss at 1e-3: ${row}`);
      assert.match(row[2], /^diverged at step \d+$/, `1e30 diverged: ${row}`);
    }
    assert.deepEqual(sweep.points, [1, 1]);
    assert.equal(sweep.diverged, 2);
    const table = page.getByTestId("sweep-results");
    assert.equal(await table.locator("tbody tr").count(), 2);
    assert.match(await table.innerText(), /diverged at step/);
    await page.getByTestId("chart-sweep").waitFor();
    assert.match(await page.getByTestId("experiment-panel").innerText(), /triangle along the top/);
    await screenshot(page, "sweep");
    assert.deepEqual(errors, []);
  } finally {
    await browser.close();
  }
});
