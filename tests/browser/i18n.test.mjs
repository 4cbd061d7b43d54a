// English and Chinese (issue 14 item 3) at a projector's, a tablet's and a phone's size: a link
// with lang=zh opens in Chinese (the tour's first stops, presenter mode, the controls), the
// switch changes the visible words and keeps the runs, the URL follows, no sideways overflow,
// no console errors. A Chinese browser opens in Chinese without lang. On the CPU engine.
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  assertNoSidewaysScroll,
  launch,
  openPage,
  screenshot,
  TINY,
  until,
  url,
} from "./browser.mjs";

const SIZES = [
  [1280, 720],
  [768, 1024],
  [390, 844],
];


const text = (page, testid) => page.getByTestId(testid).innerText();
const lang = (page) => new URL(page.url()).searchParams.get("lang");

for (const [width, height] of SIZES) {
  test(`lang=zh and the switch at ${width}x${height}`, async () => {
    const browser = await launch({ webgpu: false });
    try {
      const { page, errors } = await openPage(browser);
      await page.setViewportSize({ width, height });
      await page.goto(`${url}${TINY}&train.steps=2000&lang=zh`);
      const where = `${width}x${height}`;
      await until(page, (s) => s.runs.length === 1 && s.runs[0].steps > 0 && s.lang === "zh");
      assert.equal(await page.evaluate(() => document.documentElement.lang), "zh-CN");

      // The tour's first two stops in Chinese.
      assert.match(await text(page, "tour-counter"), /第 1 站，共 8 站/);
      assert.match(await text(page, "tour-title"), /归一化/);
      assert.match(await text(page, "tour-body"), /残差流/);
      await page.getByTestId("tour-next").click();
      assert.match(await text(page, "tour-title"), /激活函数/);
      assert.match(await text(page, "tour-run"), /配置并运行 activation 实验/);
      // The controls, toolbar and a chart's name.
      assert.match(await text(page, "play"), /暂停|播放/);
      assert.match(await page.locator("legend").first().innerText(), /归一化/);
      assert.match(await page.locator('[data-field="model.norm_position"] label').innerText(), /归一化位置/);
      assert.match(await page.getByTestId("chart-loss").getAttribute("aria-label"), /损失/);
      assert.match(await text(page, "share-session"), /分享会话/);
      assert.match(await text(page, "compare-marked"), /同步比较/);
      await assertNoSidewaysScroll(page, `${where}, Chinese`);
      await screenshot(page, `i18n-zh-${where}`);

      // Presenter mode in Chinese.
      await page.getByTestId("tour-title").click();
      await page.keyboard.press("p");
      await page.getByTestId("presenter").waitFor();
      assert.match(await text(page, "presenter-stop"), /第 2 站，共 8 站/);
      assert.match(await text(page, "presenter-variant"), /下一个变体/);
      assert.match(await text(page, "presenter-leave"), /退出/);
      await assertNoSidewaysScroll(page, `${where}, presenter`);
      await page.keyboard.press("Escape");

      // A refusal next to its control, in Chinese.
      const heads = page.getByTestId("control-model.n_kv_heads");
      await heads.fill("9");
      await heads.press("Enter");
      assert.match(await text(page, "error-model.n_kv_heads"), /超过了注意力头数/);
      await heads.fill("2");
      await heads.press("Enter");

      // The switch: English words, the same runs, the URL says so.
      const before = await until(page, (s) => s.runs.length >= 1);
      await page.getByTestId("lang-en").click();
      await until(page, (s) => s.lang === "en");
      assert.match(await text(page, "tour-title"), /Activations/);
      assert.match(await page.locator("legend").first().innerText(), /Normalization/);
      assert.match(await text(page, "play"), /Pause|Play/);
      assert.equal(lang(page), "en", "English chosen is kept in the URL");
      const after = await until(page, () => true);
      assert.deepEqual(after.runs.map((r) => r.id), before.runs.map((r) => r.id), "runs kept");
      await page.getByTestId("lang-zh").click();
      await until(page, (s) => s.lang === "zh");
      assert.equal(lang(page), "zh");
      assert.match(await text(page, "tour-title"), /激活函数/);
      await assertNoSidewaysScroll(page, `${where}, switched`);
      assert.deepEqual(errors, []);
    } finally {
      await browser.close();
    }
  });
}

test("a Chinese browser opens in Chinese, and the link names it", async () => {
  const browser = await launch({ webgpu: false });
  try {
    const page = await browser.newPage({ locale: "zh-CN" });
    await page.goto(`${url}${TINY}&train.steps=3`);
    await until(page, (s) => s.runs.length === 1 && s.lang === "zh");
    assert.match(await text(page, "tour-counter"), /第 1 站/);
    assert.equal(lang(page), "zh");
  } finally {
    await browser.close();
  }
});
