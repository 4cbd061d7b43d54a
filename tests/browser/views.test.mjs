// The views for the lecture's claims, across runs: after two short runs on the CPU engine the
// per-layer residual RMS and gradient norms, log Z and the parameter norm show both runs in their
// colours; the two runs' attention maps show side by side; the activation functions and the
// receptive field are drawn; once an experiment starts, the across-runs charts show its lanes.
import { test } from "node:test";
import assert from "node:assert/strict";
import { fill, launch, openPage, screenshot, TINY, until, url } from "./browser.mjs";

/** Pixels of a canvas within 40 of an RGB colour, per colour; and whether it has any pixel
 * that is not white. */
async function pixels(page, selector, colors) {
  return page.evaluate(
    ([selector, colors]) => {
      const canvas = document.querySelector(selector);
      const data = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height).data;
      const counts = colors.map(() => 0);
      let drawn = 0;
      for (let i = 0; i < data.length; i += 4) {
        if (data[i] < 250 || data[i + 1] < 250 || data[i + 2] < 250) drawn++;
        colors.forEach(([r, g, b], c) => {
          if (Math.abs(data[i] - r) + Math.abs(data[i + 1] - g) + Math.abs(data[i + 2] - b) < 40) counts[c]++;
        });
      }
      return { counts, drawn, url: canvas.toDataURL() };
    },
    [selector, colors],
  );
}

// Runs 1 and 2 in the palette's first two colours (charts::PALETTE).
const RUN_COLORS = [[0, 114, 178], [213, 94, 0]];

test("two runs on the claim charts and their maps side by side", async () => {
  const browser = await launch({ webgpu: false });
  try {
    const { page, errors } = await openPage(browser);
    await page.goto(url + TINY + "&train.steps=12");
    const finished = (n) => (s) => s.runs.length === n && s.runs[n - 1].status === "finished, 12 steps";
    await until(page, finished(1));
    await fill(page, "train.lr", "0.003");
    await until(page, (s) => s.runs.length === 2);
    await page.getByTestId("play").click();
    await until(page, finished(2));

    for (const chart of ["chart-norms", "chart-layer-grad", "chart-log-z", "chart-param-norm"]) {
      const canvas = page.getByTestId(chart);
      await page.waitForFunction((id) => document.querySelector(`[data-testid=${id}]`).dataset.lines === "2", chart);
      const { counts } = await pixels(page, `[data-testid=${chart}]`, RUN_COLORS);
      // More than the legend's two short strokes in each run's colour: the lines themselves.
      assert.ok(counts.every((n) => n > 100), `${chart}: run colour pixels ${counts}`);
      assert.equal(await canvas.getAttribute("role"), "img");
    }
    // All layers of one run: one line for the one layer of the tiny model.
    await page.getByTestId("chart-norms-layer").selectOption("run-2");
    await page.waitForFunction(() => document.querySelector("[data-testid=chart-norms]").dataset.lines === "1");

    // The newest run beside the one before it, each its own map.
    assert.equal(await page.getByTestId("compare-a").getAttribute("data-run"), "2");
    assert.equal(await page.getByTestId("compare-b").getAttribute("data-run"), "1");
    const blue = [[0, 114, 178]];
    const a = await pixels(page, "[data-testid=compare-a] canvas", blue);
    const b = await pixels(page, "[data-testid=compare-b] canvas", blue);
    assert.ok(a.counts[0] > 0 && b.counts[0] > 0, `attention drawn: ${a.counts} ${b.counts}`);
    assert.notEqual(a.url, b.url, "two runs, two different maps");
    assert.match(await page.getByTestId("compare-a").innerText(), /run 2: .*layer 0, head 0/);
    await page.getByTestId("compare-head").selectOption("1");
    await page.waitForFunction(() =>
      document.querySelector("[data-testid=compare-b]").innerText.includes("layer 0, head 1"),
    );

    await page.waitForFunction(() => document.querySelector("[data-testid=chart-activation]").dataset.lines === "4");
    const activation = await pixels(page, "[data-testid=chart-activation]", []);
    assert.ok(activation.drawn > 1000, `activation chart drawn: ${activation.drawn}`);
    assert.equal(await page.getByTestId("chart-receptive").getAttribute("data-lines"), "2");
    assert.equal(
      await page.getByTestId("receptive-readout").innerText(),
      "After layer 0: the last position sees 16 of 16 positions.",
    );
    await screenshot(page, "views-across-runs");

    // Issue 14: during an experiment the across-runs charts hold its variants, as the loss
    // chart does, not the visitor's two runs beside them.
    await page.getByTestId("experiments").locator("summary", { hasText: "final-norm" }).click();
    await page.getByTestId("experiment-final-norm").click();
    const lanes = ["final norm seed 1", "final norm seed 2", "no final norm seed 1", "no final norm seed 2"];
    const started = await until(page, (s) => s.experiment?.lanes.every((l) => l.steps > 0));
    assert.deepEqual(started.chart_series, lanes);
    assert.deepEqual(started.layer_charts, { norms: lanes, layer_grad: lanes });
    // Every across-runs chart draws the four lanes; the picked "all layers of run 2" is gone
    // from the picker, so chart-norms shows each lane's last layer.
    for (const chart of ["chart-norms", "chart-layer-grad", "chart-log-z", "chart-param-norm"]) {
      await page.waitForFunction((id) => document.querySelector(`[data-testid=${id}]`).dataset.lines === "4", chart);
    }
    const options = await page.getByTestId("chart-norms-layer").locator("option").allInnerTexts();
    assert.deepEqual(options, ["last layer (each run's)", "layer 0", ...lanes.map((l) => `all layers of ${l}`)]);
    // The picker shows what the chart draws, not the lane now at "all layers of run 2"'s place.
    assert.equal(await page.getByTestId("chart-norms-layer").inputValue(), "last");
    await screenshot(page, "views-across-runs-experiment");
    assert.deepEqual(errors, []);
  } finally {
    await browser.close();
  }
});
