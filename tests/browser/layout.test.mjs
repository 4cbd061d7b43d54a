// The page's layout (issue 14 item 6) at a projector's, a tablet's and a phone's size: at
// 1280x720 the first screen holds the tour stop's group of controls, the loss chart and the
// attention maps; every chart canvas's bitmap is its box at the screen's pixel ratio (also at
// twice as many device pixels, and drawn again when the ratio changes); no sideways overflow; no
// console errors. On the CPU engine.
import { test } from "node:test";
import assert from "node:assert/strict";
import { assertNoSidewaysScroll, launch, openPage, screenshot, TINY, until, url } from "./browser.mjs";

const SIZES = [
  [1280, 720, 1],
  [1280, 720, 2],
  [768, 1024, 1],
  [390, 844, 1],
];

/** Every canvas on the page with a box: its bitmap's and its box's size, and the pixel ratio. */
function canvases(page) {
  return page.evaluate(() =>
    [...document.querySelectorAll("canvas")]
      .map((canvas) => {
        const box = canvas.getBoundingClientRect();
        const name = canvas.dataset.testid ?? canvas.closest("[data-testid]")?.dataset.testid;
        return { name, bitmap: [canvas.width, canvas.height], box: [box.width, box.height] };
      })
      .filter((c) => c.box[0] > 0 && c.box[1] > 0)
      .map((c) => ({ ...c, ratio: window.devicePixelRatio })),
  );
}

for (const [width, height, scale] of SIZES) {
  const where = `${width}x${height}${scale === 1 ? "" : ` at ${scale}x`}`;
  test(`the layout at ${where}`, async () => {
    const browser = await launch({ webgpu: false });
    try {
      const { page, errors } = await openPage(browser, { deviceScaleFactor: scale });
      await page.setViewportSize({ width, height });
      await page.goto(`${url}${TINY}&train.steps=8`);
      await until(page, (s) => s.runs[0]?.status === "finished, 8 steps" && s.attention?.maps.length > 0);
      // The attention maps are redrawn at most once a second: after the last, nothing moves.
      await page.waitForTimeout(1500);

      if (width === 1280) {
        // The tour's first stop is about normalization: its group is the current one.
        const group = page.locator("fieldset.current");
        assert.equal(await group.count(), 1);
        assert.match(await group.locator("legend").innerText(), /^Normalization$/);
        const boxes = {
          "the group's controls": await group.boundingBox(),
          "the loss chart": await page.getByTestId("chart-loss").boundingBox(),
          "the attention maps": await page.getByTestId("attention-grid").boundingBox(),
          "the enlarged map": await page.getByTestId("enlarged-map").boundingBox(),
          "the play button": await page.getByTestId("play").boundingBox(),
        };
        for (const [name, box] of Object.entries(boxes)) {
          const inside =
            box.x >= 0 && box.y >= 0 && box.x + box.width <= width && box.y + box.height <= height;
          assert.ok(inside, `${where}: ${name} at ${JSON.stringify(box)} is not on the first screen`);
        }
        // Big enough to read from the back of a room, not a thumbnail.
        assert.ok(boxes["the loss chart"].width >= 400, `loss chart ${boxes["the loss chart"].width} px wide`);
      }

      const drawn = await canvases(page);
      const names = drawn.map((c) => c.name);
      for (const chart of ["chart-loss", "chart-profile", "chart-logit", "map-0-0", "map-0-1", "enlarged-map"]) {
        assert.ok(names.includes(chart), `${where}: no ${chart} canvas among ${names}`);
      }
      for (const { name, bitmap, box, ratio } of drawn) {
        assert.equal(ratio, scale);
        const expected = box.map((side) => Math.round(side * ratio));
        assert.deepEqual(bitmap, expected, `${where}: ${name}'s bitmap for a ${box} CSS px box`);
      }

      await assertNoSidewaysScroll(page, where);
      await screenshot(page, `layout-${width}x${height}-${scale}x`, { fullPage: false });
      assert.deepEqual(errors, []);
    } finally {
      await browser.close();
    }
  });
}

// The pixel ratio changing under a page that stays (the window moved to a screen with twice as
// many device pixels, and back): every chart is drawn again at the new ratio. Playwright's own
// viewport emulation sets the ratio without the media-query events a screen change brings, so
// this page has the window's own metrics, and Chromium's DevTools emulation changes the ratio:
// overriding it reports the change to `matchMedia` listeners with no resize (which the test
// checks), as a screen change does; clearing it reports the change back (with a resize).
test("every chart is drawn again when the pixel ratio changes", async () => {
  const browser = await launch({ webgpu: false });
  try {
    const { page, errors } = await openPage(browser, { emulated: false });
    const devtools = await page.context().newCDPSession(page);
    const { windowId } = await devtools.send("Browser.getWindowForTarget");
    await devtools.send("Browser.setWindowBounds", { windowId, bounds: { width: 1280, height: 720 } });
    await page.goto(`${url}${TINY}&train.steps=8`);
    await until(page, (s) => s.runs[0]?.status === "finished, 8 steps" && s.attention?.maps.length > 0);
    // The attention maps are redrawn at most once a second: after the last, nothing moves.
    await page.waitForTimeout(1500);
    await page.evaluate(() => {
      window.resizes = 0;
      addEventListener("resize", () => (window.resizes += 1));
    });

    /** Waits a second, checks every chart's bitmap is its box at `ratio`, and gives how many
     * colours each has (up to 3: a drawn chart has its background, axes and data). */
    async function drawnAt(ratio, when) {
      await page.waitForTimeout(1000);
      const drawn = await canvases(page);
      for (const { name, bitmap, box, ratio: now } of drawn) {
        assert.equal(now, ratio, when);
        const expected = box.map((side) => Math.round(side * ratio));
        assert.deepEqual(bitmap, expected, `${when}: ${name}'s bitmap for a ${box} CSS px box`);
      }
      return page.evaluate(() =>
        [...document.querySelectorAll("canvas")]
          .filter((canvas) => canvas.getBoundingClientRect().width > 0)
          .map((canvas) => {
            const { data } = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height);
            const seen = new Set();
            for (let i = 0; i < data.length && seen.size < 3; i += 4) seen.add(data.slice(i, i + 4).join());
            return `${canvas.dataset.testid ?? canvas.closest("[data-testid]")?.dataset.testid}: ${seen.size}`;
          }),
      );
    }

    const first = await drawnAt(1, "at first");
    assert.ok(first.filter((chart) => chart.endsWith(": 3")).length >= 6, `drawn at first: ${first}`);
    await devtools.send("Emulation.setDeviceMetricsOverride", { width: 0, height: 0, deviceScaleFactor: 2, mobile: false });
    // Setting a bitmap's size clears it: each chart must have been drawn again, not left blank.
    assert.deepEqual(await drawnAt(2, "moved to a 2x screen"), first);
    assert.equal(await page.evaluate(() => window.resizes), 0, "the ratio changed without a resize");
    await devtools.send("Emulation.clearDeviceMetricsOverride");
    assert.deepEqual(await drawnAt(1, "moved back"), first);
    assert.deepEqual(errors, []);
  } finally {
    await browser.close();
  }
});

// Every tour stop and the legend of its group of controls, which stands first in the controls
// column (the rules of thumb follow Shape's group, outside it).
const STOPS = [
  ["normalization", "Normalization"],
  ["activations", "Feed-forward"],
  ["block-layout", "Block layout"],
  ["position", "Position"],
  ["regularization", "Regularization"],
  ["stability", "Stability"],
  ["attention", "Attention"],
  ["shapes", "Shape"],
];

test("at 1280x720 each tour stop's group of controls is on the first screen", async () => {
  const browser = await launch({ webgpu: false });
  try {
    const { page, errors } = await openPage(browser);
    for (const [stop, legend] of STOPS) {
      await page.goto(`${url}${TINY}&train.steps=4#tour=${stop}`);
      const group = page.locator("fieldset.current");
      await group.waitFor({ timeout: 30_000 });
      assert.equal(await group.locator("legend").innerText(), legend);
      const box = await group.boundingBox();
      assert.ok(box.y >= 0 && box.y + box.height <= 720, `${stop}: the group at ${JSON.stringify(box)}`);
    }
    assert.deepEqual(errors, []);
  } finally {
    await browser.close();
  }
});
