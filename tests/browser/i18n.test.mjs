// English and Chinese (issue 14 item 3) at a projector's, a tablet's and a phone's size: a link
// with lang=zh opens in Chinese (the tour's first stops, presenter mode, the controls), the
// switch changes the visible words and keeps the runs, the URL follows, no sideways overflow,
// no console errors. A Chinese browser opens in Chinese without lang. On the CPU engine.
import { test } from "node:test";
import { readFile } from "node:fs/promises";
import assert from "node:assert/strict";
import {
  assertNoSidewaysScroll,
  fill,
  launch,
  openPage,
  screenshot,
  SCREENS,
  TINY,
  until,
  url,
} from "./browser.mjs";

const text = (page, testid) => page.getByTestId(testid).innerText();
const lang = (page) => new URL(page.url()).searchParams.get("lang");

for (const [width, height] of SCREENS) {
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

// Technical names that read the same in a Chinese text (issue 14 item 3). Anything else in
// Latin letters outside <cite> (paper names), <code> (commands, keys) and translate="no"
// (the data, the model's own text) is an untranslated string.
const SAME_IN_CHINESE = new Set(
  `RMSNorm LayerNorm SwiGLU GeGLU ReGLU GeLU GELU ReLU SiLU RoPE ALiBi NoPE QK-norm QK MQA GQA MHA
  KV MLP RMS FLOPs FLOPs/token tokens/s token tokens nats nats/token PNG CSV JSON WebGPU WGSL CPU GPU
  WebAssembly AdamW Adam LLaMA Mistral Qwen OLMo GPT GPT-NeoX NeoX Gemma Grok BPE WSD logit logits
  softmax log erf z-loss Z Transformer Stanford CS lr act max min Hugging Face
  safetensors archlab Top-k Esc Chrome Edge Safari Firefox Windows Linux ms KiB MiB GiB KB B
  epsilon dropout Pre-norm Post-norm Swish PaLM GPT-J NaN Token id Rust Norm tanh vocab xW xV d_model`
    .split(/\s+/),
);

/** Has `page` keep every text drawn on a canvas (chart titles, axes, ticks, legends) in
 * `window.__drawnTexts`, from the next document on. */
function keepDrawnTexts(page) {
  return page.addInitScript(() => {
    const drawn = (window.__drawnTexts = new Set());
    const fillText = CanvasRenderingContext2D.prototype.fillText;
    CanvasRenderingContext2D.prototype.fillText = function (text, ...at) {
      drawn.add(String(text));
      return fillText.call(this, text, ...at);
    };
  });
}

/** The visible words in Latin letters not on the list (nor in `names`: values a refusal quotes)
 * under `root` (a selector; the whole page by default, with the texts drawn on its charts where
 * [keepDrawnTexts] keeps them), with where they were seen. */
async function untranslated(page, root = "body", names = []) {
  // The experiments' names are the command line's (archlab experiment NAME).
  const experiments = await page.evaluate(() =>
    [...document.querySelectorAll("details.experiment button[data-testid^=experiment-]")]
      .map((button) => button.dataset.testid.replace(/^experiment-/, "")),
  );
  const same = new Set([...SAME_IN_CHINESE, ...experiments, "lr-sweep", ...names]);
  const texts = await page.evaluate((root) => {
    // A text marked as another language (the switch's "English") is that language's.
    const skip = "cite, code, [translate=no], [lang]:not([lang^=zh]), script, style, noscript";
    const visible = (el) => el.checkVisibility({ checkOpacity: false, checkVisibilityCSS: true });
    const out = [];
    const walker = document.createTreeWalker(document.querySelector(root), NodeFilter.SHOW_TEXT);
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
      const el = node.parentElement;
      const owner = el.closest("option") ? el.closest("select") : el;
      if (!el.closest(skip) && visible(owner) && node.textContent.trim()) {
        out.push(node.textContent);
      }
    }
    for (const el of document.querySelector(root).querySelectorAll("[aria-label], [title], [placeholder]")) {
      if (el.closest(skip) || !visible(el)) continue;
      for (const name of ["aria-label", "title", "placeholder"]) {
        if (el.getAttribute(name)) out.push(el.getAttribute(name));
      }
    }
    if (root === "body") out.push(...(window.__drawnTexts ?? []));
    return out;
  }, root);
  const found = new Map();
  for (const text of texts) {
    // Words: Latin letters, with hyphens and slashes inside; a file name, key or number
    // (a dot, an underscore or a digit in it) is not a word.
    // Addresses (chrome://gpu, about:support) are not words.
    // Chinese characters and punctuation separate words as spaces do.
    // Commands in backquotes and citations ("Kaplan et al. 2020") are not words either, nor is
    // a word a chart's legend cut short ("GeL…").
    const words = text
      .replace(/[A-Za-z]+…/g, " ")
      .replace(/\b[a-z]+:\/\/\S+|\babout:\w+/g, " ")
      .replace(/`[^`]*`/g, " ")
      .replace(/\b[A-Z][A-Za-z]+( et al\.)? (19|20)\d\d\b/g, " ")
      .replace(/[\u3000-\u303f\u4e00-\u9fff\uff00-\uffef]/g, " ");
    for (const token of words.split(/[\s,;:()（）[\]{}"“”'‘’，。：；、·=<>…!?！？]+/)) {
      // A file's extension (".txt") is no word; a single letter is a formula's symbol.
      if (token.startsWith(".")) continue;
      const word = token.replace(/^[-–—+−/.±|]+|[-–—/.|]+$/g, "");
      if (!/[A-Za-z]{2}/.test(word) || /[\d_.@#]/.test(word)) continue;
      if (same.has(word)) continue;
      if (!found.has(word)) found.set(word, text.trim().slice(0, 120));
    }
  }
  return [...found].map(([word, text]) => `${word}  ← ${text}`);
}

/** Opens every closed panel (`<details>`) that shows, and those inside them. */
async function openEveryPanel(page) {
  for (let depth = 0; depth < 3; depth++) {
    for (const summary of await page.locator("details:not([open]) > summary").all()) {
      if (await summary.isVisible()) await summary.click();
    }
  }
}

test("in Chinese, no English is left on the page after a run, an experiment, a sweep, Generate", async () => {
  const browser = await launch({ webgpu: false });
  try {
    const { page, errors } = await openPage(browser);
    await keepDrawnTexts(page);
    await page.goto(`${url}${TINY}&train.steps=4&lang=zh`);
    await until(page, (s) => s.runs.length === 1 && s.runs[0].steps >= 4 && s.lang === "zh");
    // A second run named by its change.
    await fill(page, "model.n_kv_heads", "1");
    await until(page, (s) => s.runs.length === 2);
    await page.getByTestId("play").click();
    await until(page, (s) => s.runs.length === 2 && s.runs[1].steps >= 4);

    // Generate, and a refusal of Generate and of Look at.
    await page.getByTestId("generate-temperature").fill("0");
    await page.getByTestId("generate-button").click();
    await page.getByTestId("generate-readout").waitFor({ timeout: 30_000 });
    await page.getByTestId("generate-top-k").fill("-1");
    await page.getByTestId("generate-button").click();
    await page.locator("[data-testid^=generate-error-]").first().waitFor({ timeout: 10_000 });
    await page.getByTestId("look-at").fill("€");
    await page.getByTestId("look-at-button").click();
    await page.getByTestId("look-at-error").waitFor({ timeout: 10_000 });

    // An experiment, then the sweep (one rate that diverges), each to its end.
    await openEveryPanel(page);
    await page.getByTestId("experiment-final-norm").click();
    await until(page, (s) => s.experiment?.name === "final-norm" && !s.experiment.training, undefined, 120_000);
    await page.getByTestId("experiment-verdicts").waitFor();
    let words = await untranslated(page);
    await page.getByTestId("sweep-lrs").fill("1e-3, 1e30");
    await page.getByTestId("sweep-run").click();
    await until(page, (s) => s.experiment?.name === "lr-sweep" && !s.experiment.training, undefined, 120_000);
    await page.getByTestId("chart-sweep").waitFor();

    await openEveryPanel(page);
    await screenshot(page, "i18n-zh-everything");
    words = [...new Set([...words, ...(await untranslated(page))])];
    // Presenter mode's charts, in large type, name the runs in their legends; "n" trains the
    // stop's first variant, which the status line names.
    await page.getByTestId("tour-title").click();
    await page.keyboard.press("p");
    await page.keyboard.press("n");
    await page.getByTestId("presenter-status").filter({ hasText: "第 1 个" }).waitFor();
    const logit = page.getByTestId("presenter-chart-logit");
    await logit.waitFor();
    // Fitted to its box (from the canvas's 300x150 at first), then drawn in the same task.
    const fitted = (canvas) => canvas.width === Math.round(canvas.getBoundingClientRect().width);
    while (!(await logit.evaluate(fitted))) await page.waitForTimeout(100);
    words = [...new Set([...words, ...(await untranslated(page))])];
    assert.deepEqual(words, [], `English left in Chinese mode:\n${words.join("\n")}`);
    assert.deepEqual(errors, []);
  } finally {
    await browser.close();
  }
});

test("in Chinese, a broken checkpoint, Hugging Face config or run JSON is refused in Chinese", async () => {
  const browser = await launch({ webgpu: false });
  try {
    const { page, errors } = await openPage(browser);
    await page.goto(`${url}${TINY}&train.steps=3&lang=zh`);
    await until(page, (s) => s.runs.length === 1 && s.lang === "zh");
    await openEveryPanel(page);
    /** The refusal shown in `testid` once it matches `pattern`, with no English word in it
     * but `names` (values it quotes from the file). */
    const refusal = async (testid, pattern, names = []) => {
      const shown = page.getByTestId(testid);
      await page.waitForFunction(
        ([testid, source]) => new RegExp(source).test(
          document.querySelector(`[data-testid=${testid}]`)?.innerText ?? ""),
        [testid, pattern.source],
      );
      assert.equal(await shown.getAttribute("role"), "alert", "shown as a refusal");
      const words = await untranslated(page, `[data-testid=${testid}]`, names);
      assert.deepEqual(words, [], await shown.innerText());
    };

    // A checkpoint that is no safetensors file.
    const files = page.getByTestId("open-files");
    await files.setInputFiles({
      name: "run.safetensors",
      mimeType: "application/octet-stream",
      buffer: Buffer.from("<b>bold</b>"),
    });
    await refusal("checkpoint-outcome", /^检查点：model\.safetensors：不是有效的 safetensors 文件/);

    // A Hugging Face folder whose config.json names a family archlab does not read.
    const fixture = new URL("../fixtures/hf/llama/", import.meta.url).pathname;
    const config = (await readFile(`${fixture}config.json`, "utf8"))
      .replace('"model_type": "llama"', '"model_type": "mamba"');
    await files.setInputFiles([
      { name: "config.json", mimeType: "application/json", buffer: Buffer.from(config) },
      {
        name: "model.safetensors",
        mimeType: "application/octet-stream",
        buffer: await readFile(`${fixture}model.safetensors`),
      },
    ]);
    await refusal(
      "checkpoint-outcome",
      /^检查点：config\.json：model_type："mamba" 不受支持；archlab 读取 llama, mistral/,
      ["mamba", "llama", "mistral"],
    );

    // A run JSON cut short.
    await page.getByTestId("open-run-json").setInputFiles({
      name: "run.json",
      mimeType: "application/json",
      buffer: Buffer.from('{"name": "run 1"'),
    });
    await refusal("session-outcome", /^运行 JSON：它不符合页面运行 JSON 的格式/);
    await screenshot(page, "i18n-zh-refusals");

    assert.equal((await until(page, () => true)).runs.length, 1, "nothing opened");
    assert.deepEqual(errors, []);
  } finally {
    await browser.close();
  }
});
