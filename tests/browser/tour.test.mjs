// The guided tour and presenter mode (issue 14 items 1 and 2) at a projector's, a tablet's and a
// phone's size: the first two stops (words, diagram, one-click experiment, the stop in the URL),
// presenter mode in and out by its keys with large type and charts filling the screen, no key
// while typing, no sideways overflow, no console errors. On the CPU engine, to stay short.
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  assertNoSidewaysScroll,
  launch,
  openPage,
  screenshot,
  SCREENS,
  TINY,
  until,
  url,
} from "./browser.mjs";

const stop = (page) => page.getByTestId("tour").getAttribute("data-stop");

for (const [width, height] of SCREENS) {
  test(`the tour's first stops and presenter mode at ${width}x${height}`, async () => {
    const browser = await launch({ webgpu: false });
    try {
      const { page, errors } = await openPage(browser);
      await page.setViewportSize({ width, height });
      // Long enough that the experiment still trains when presenter mode pauses it.
      await page.goto(`${url}${TINY}&train.steps=2000`);
      await until(page, (s) => s.runs.length === 1);
      const where = `${width}x${height}`;

      // Stop 1: normalization, the norm's place drawn pre and post.
      assert.equal(await stop(page), "normalization");
      assert.match(await page.getByTestId("tour-title").innerText(), /Normalization/);
      assert.ok((await page.getByTestId("tour-body").innerText()).length > 200, "a few sentences");
      const diagram = page.getByTestId("tour-diagram");
      assert.equal(await diagram.getAttribute("data-diagram"), "NormPlace");
      assert.match(await diagram.locator("svg").getAttribute("aria-label"), /pre-norm · post-norm/);
      assert.equal(await diagram.locator("rect.norm").count(), 4, "two norms in each block");
      await assertNoSidewaysScroll(page, `${where}, tour stop 1`);

      // Stop 2: activations, with the engine's curves; the stop is in the URL.
      await page.getByTestId("tour-next").click();
      assert.equal(await stop(page), "activations");
      assert.match(await page.getByTestId("tour-title").innerText(), /Activations/);
      assert.equal(await diagram.getAttribute("data-diagram"), "Activations");
      assert.equal(await diagram.locator("polyline.curve").count(), 4);
      assert.equal(new URL(page.url()).hash, "#tour=activations");
      await assertNoSidewaysScroll(page, `${where}, tour stop 2`);
      await screenshot(page, `tour-${where}`);

      // One click sets up and starts the stop's experiment.
      await page.getByTestId("tour-run").click();
      await until(page, (s) => s.experiment?.name === "activation" && s.experiment.lanes.length > 0);

      // No key acts while typing in a field.
      await page.getByTestId("user-text").focus();
      await page.keyboard.press("p");
      assert.equal(await page.getByTestId("presenter").count(), 0, "p typed into a field");

      // "p": presenter mode, large type, the running experiment's claim, two charts filling
      // the screen below it.
      await page.getByTestId("tour-title").click();
      await page.keyboard.press("p");
      const presenter = page.getByTestId("presenter");
      await presenter.waitFor();
      const size = await presenter.evaluate((el) => parseFloat(getComputedStyle(el).fontSize));
      // Large type for a room; a phone, held close, gets 18 px and more room for the chart.
      assert.ok(size >= (width >= 768 ? 24 : 18), `presenter type ${size} px`);
      assert.match(await page.getByTestId("presenter-stop").innerText(), /Stop 2 of 8/);
      assert.match(await page.getByTestId("presenter-claim").innerText(), /gat/i);
      assert.match(await page.getByTestId("presenter-status").innerText(), /activation/);
      const titles = { "presenter-chart-loss": "loss", "presenter-chart-logit": "largest attention logit" };
      for (const [chart, title] of Object.entries(titles)) {
        const canvas = page.getByTestId(chart);
        // A screen reader reads the chart's title.
        assert.equal(await canvas.getAttribute("aria-label"), title);
        const box = await canvas.boundingBox();
        assert.ok(box.height >= 200 && box.width >= 0.4 * width, `${where} ${chart}: ${JSON.stringify(box)}`);
        // Drawn at its box's size and the pixel ratio (ui::chart_canvas), not a fixed bitmap.
        const drawn = await canvas.evaluate((c) => [c.width, c.height, window.devicePixelRatio]);
        const expected = [box.width, box.height].map((side) => Math.round(side * drawn[2]));
        assert.deepEqual(drawn.slice(0, 2), expected, `${chart} drawn for ${JSON.stringify(box)}`);
      }
      await assertNoSidewaysScroll(page, `${where}, presenter`);
      await screenshot(page, `presenter-${where}`);

      // Space pauses and plays; the arrows walk the tour and the URL follows.
      const playing = (pressed) => until(page, () => true).then(() =>
        page.getByTestId("play").getAttribute("aria-pressed")).then((now) => now === pressed);
      assert.ok(await playing("true"), "the experiment trains");
      await page.keyboard.press(" ");
      await page.waitForTimeout(300);
      assert.ok(await playing("false"), "space paused");
      await page.keyboard.press(" ");
      await page.waitForTimeout(300);
      assert.ok(await playing("true"), "space played");
      await page.keyboard.press("ArrowLeft");
      assert.match(await page.getByTestId("presenter-stop").innerText(), /Stop 1 of 8/);
      assert.equal(new URL(page.url()).hash, "#tour=normalization");
      await page.keyboard.press("ArrowRight");
      assert.equal(await stop(page), "activations");

      // "n": the stop's first variant as the page's run.
      await page.keyboard.press("n");
      await until(page, (s) => s.runs.some((r) => r.name.endsWith(": activation: ReLU")));

      // Escape leaves, even from the view select, the focus back on the Present button.
      await page.getByTestId("presenter-view").focus();
      await page.keyboard.press("Escape");
      assert.equal(await presenter.count(), 0);
      assert.equal(await page.evaluate(() => document.activeElement?.dataset.testid), "present");

      // A link with the stop opens the tour there.
      await page.goto(`${url}${TINY}&train.steps=3#tour=attention`);
      assert.equal(await stop(page), "attention");
      assert.equal(await diagram.locator("[data-mask]").count(), 3, "causal, window, sparse");
      assert.deepEqual(errors, []);
    } finally {
      await browser.close();
    }
  });
}
