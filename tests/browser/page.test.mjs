// The training page in a real browser: it trains on the WebGPU engine (SwiftShader) or, without
// WebGPU, on the CPU engine, and the views follow; the
// controls change the model (sliding window, KV heads), the URL keeps the configuration, and
// invalid values are flagged next to their control. Models stay tiny: SwiftShader is slow.
// The data behind the charts is read from `window.__archlab`, the page's own snapshot.
import { test } from "node:test";
import { readFile } from "node:fs/promises";
import assert from "node:assert/strict";
import {
  assertNoSidewaysScroll,
  fill,
  launch,
  ON_GPU,
  openPage,
  screenshot,
  TINY,
  until,
  url,
} from "./browser.mjs";

const newest = (snapshot) => snapshot.runs[snapshot.runs.length - 1];
const mean = (xs) => xs.reduce((a, b) => a + b, 0) / xs.length;

test("on WebGPU, training a few dozen steps lowers the loss", async () => {
  const browser = await launch();
  try {
    const { page, errors } = await openPage(browser);
    await page.goto(url + TINY + ON_GPU);
    const snapshot = await until(page, (s) => s.runs.length > 0 && s.runs[0].steps >= 31, null, 120_000);
    const run = snapshot.runs[0];
    assert.match(run.name, /^run 1: .*d_model 64 → 16/);
    assert.match(await page.getByTestId("engine").innerText(), /WebGPU engine on /);
    assert.match(await page.getByTestId("engine-note").innerText(), /WebGPU engine/);
    const [first, last] = [mean(run.loss.slice(0, 5)), mean(run.loss.slice(-5))];
    assert.ok(last < first - 0.3, `train loss ${first} -> ${last}`);
    const val = run.val_loss;
    assert.ok(val.length >= 3 && val.at(-1)[1] < val[0][1], `validation loss ${JSON.stringify(val)}`);

    // The page paints the views: the loss chart has pixels, the sample has text.
    // (A sample of a barely trained model has short words: count its characters, not a word.)
    const sample = await page.getByTestId("sample").innerText();
    assert.ok(sample.replace(/\s/g, "").length >= 8, `sample ${JSON.stringify(sample)}`);
    await screenshot(page, "page-training");
    assert.deepEqual(errors, []);
  } finally {
    await browser.close();
  }
});

test("a sliding window of 2 gives banded attention maps", async () => {
  const browser = await launch({ webgpu: false });
  try {
    const { page, errors } = await openPage(browser);
    await page.goto(url);
    await until(page, (s) => s.runs.length === 1);
    await page.getByTestId("control-model.attention").selectOption({ label: "sliding window" });
    await fill(page, "model.attention.sliding_window.window", "2");
    const snapshot = await until(
      page,
      (s) => s.runs.length === 3 && s.runs[2].steps >= 5 && s.attention.maps.length > 0,
    );
    assert.equal(newest(snapshot).name, "run 3: window 4 → 2");
    const { t, maps } = snapshot.attention;
    assert.equal(maps.length, 2 * 4, "layers x heads");
    for (const map of maps) {
      for (let q = 0; q < t; q++) {
        let row = 0;
        for (let k = 0; k < t; k++) {
          const p = map.probs[q * t + k];
          const inBand = k <= q && q - k < 2;
          assert.equal(map.masked[q * t + k], !inBand, `mask at ${q},${k}`);
          if (!inBand) assert.equal(p, 0, `layer ${map.layer} head ${map.head} attends ${q} -> ${k}`);
          row += p;
        }
        assert.ok(Math.abs(row - 1) < 1e-4, `row ${q} sums to ${row}`);
      }
    }
    await page.getByTestId("map-1-2").click();
    await screenshot(page, "page-sliding-window");
    assert.deepEqual(errors, []);
  } finally {
    await browser.close();
  }
});

test("KV heads change the KV-cache readout by n_heads / n_kv_heads", async () => {
  const browser = await launch({ webgpu: false });
  try {
    const { page, errors } = await openPage(browser);
    await page.goto(url);
    const kv = page.getByTestId("readout-kv");
    await until(page, (s) => s.runs.length === 1);
    const mha = Number(await kv.getAttribute("data-value"));
    for (const [heads, factor] of [["1", 4], ["2", 2]]) {
      await fill(page, "model.n_kv_heads", heads);
      await page.waitForFunction(
        ([expected]) => Number(document.querySelector("[data-testid=readout-kv]").dataset.value) === expected,
        [mha / factor],
        { timeout: 10_000 },
      );
    }
    // 3 does not divide 4 heads: flagged next to the control, the readout says nothing.
    await fill(page, "model.n_kv_heads", "3");
    await page.getByTestId("error-model.n_kv_heads").waitFor();
    assert.match(await page.getByTestId("error-model.n_kv_heads").innerText(), /does not divide/);
    assert.equal(await kv.getAttribute("data-value"), null);
    assert.deepEqual(errors, []);
  } finally {
    await browser.close();
  }
});

test("the URL restores the configuration, and an invalid value shows its error", async () => {
  const browser = await launch({ webgpu: false });
  try {
    const { page, errors } = await openPage(browser);
    await page.goto(url);
    await until(page, (s) => s.runs.length === 1);
    await page.getByTestId("control-model.qk_norm").check();
    await fill(page, "train.lr", "0.01");
    await page.getByTestId("preset-gpt2").click();
    const before = await until(page, (s) => s.runs.length === 4);
    assert.equal(before.runs[1].name, "run 2: +QK-norm");
    assert.equal(before.runs[2].name, "run 3: lr 0.003 → 0.01");
    assert.equal(before.runs[3].name, "run 4: GPT-2 preset");
    const shared = page.url();
    assert.match(shared, /train\.lr=0\.01/);

    const second = await openPage(browser);
    await second.page.goto(shared);
    const after = await until(second.page, (s) => s.runs.length === 1);
    assert.deepEqual(after.settings, before.settings);
    assert.equal(await second.page.getByTestId("control-train.lr").inputValue(), "0.01");
    assert.equal(await second.page.getByTestId("control-model.norm").inputValue(), "1", "LayerNorm");

    const broken = await openPage(browser);
    await broken.page.goto(`${url}?model.n_layers=two&model.attention.sliding_window.window=0`);
    const layers = broken.page.getByTestId("error-model.n_layers");
    await layers.waitFor();
    assert.match(await layers.innerText(), /"two" refused/);
    assert.equal(await broken.page.getByTestId("control-model.n_layers").inputValue(), "two");
    const window = broken.page.getByTestId("error-model.attention");
    assert.match(await window.innerText(), /window must be >= 1/);
    assert.equal(await broken.page.getByTestId("runs").locator("li").count(), 0);
    // The banner above the views lists both and leads to the controls.
    const problems = broken.page.getByTestId("problems");
    assert.equal(await problems.locator("li").count(), 2);
    await problems.getByRole("button", { name: "go to the control" }).first().click();
    assert.equal(
      await broken.page.evaluate(() => document.activeElement.dataset.testid),
      "control-model.n_layers",
    );
    await screenshot(broken.page, "page-invalid-url");
    assert.deepEqual([...errors, ...second.errors, ...broken.errors], []);
  } finally {
    await browser.close();
  }
});

test("without WebGPU the CPU engine trains and the page says so", async () => {
  const browser = await launch({ webgpu: false });
  try {
    const { page, errors } = await openPage(browser);
    await page.goto(url);
    await until(page, (s) => s.runs.length === 1 && s.runs[0].steps >= 5);
    assert.match(await page.getByTestId("engine-note").innerText(), /CPU engine.*small/s);
    assert.equal(
      await page.getByTestId("engine-why").innerText(),
      "Training on the CPU engine: this browser gave no WebGPU adapter.",
    );
    const engine = page.getByTestId("engine");
    await page.waitForFunction(
      () => /no WebGPU adapter/.test(document.querySelector("[data-testid=engine]").innerText),
    );
    assert.match(await engine.innerText(), /CPU engine/);
    // Pause, single step, reset.
    await page.getByTestId("play").click();
    const paused = await until(page, (s) => !s.playing);
    await page.getByTestId("step").click();
    await until(page, (s, n) => s.runs[0].steps === n + 1, paused.runs[0].steps);
    await page.getByTestId("reset").click();
    const reset = await until(page, (s) => s.runs[0].steps === 0);
    assert.equal(reset.runs.length, 1);
    // A second run; hide the first, then remove it.
    await page.getByTestId("control-model.bias").check();
    await until(page, (s) => s.runs.length === 2);
    await page.getByTestId("hide-1").click();
    await until(page, (s) => s.runs[0].hidden);
    assert.match(await page.getByTestId("run-1").innerText(), /Show/);
    await page.getByTestId("remove-1").click();
    const removed = await until(page, (s) => s.runs.length === 1);
    assert.equal(removed.runs[0].name, "run 2: +biases");
    await screenshot(page, "page-no-webgpu");
    assert.deepEqual(errors, []);
  } finally {
    await browser.close();
  }
});

/** Clicks `testid` and returns the download it starts: [file name, content as a Buffer]. */
async function download(page, testid) {
  const [file] = await Promise.all([page.waitForEvent("download"), page.getByTestId(testid).click()]);
  return [file.suggestedFilename(), await readFile(await file.path())];
}

test("a run exports as JSON and CSV, a chart as PNG; the enlarged map reads its cells", async () => {
  const browser = await launch({ webgpu: false });
  try {
    const { page, errors } = await openPage(browser);
    await page.goto(`${url}?train.steps=12`);
    const done = await until(page, (s) => s.runs.length === 1 && s.runs[0].status === "finished, 12 steps");

    const [csvName, csv] = await download(page, "export-csv-1");
    assert.equal(csvName, "archlab-run-1-metrics.csv");
    const rows = csv.toString().trim().split("\n");
    const layer = (l) => `max_logit_${l},residual_rms_${l},attn_rms_${l},mlp_rms_${l},grad_norm_${l}`;
    assert.equal(
      rows[0],
      `step,loss,z_loss,grad_norm,lr,log_z,param_norm,val_loss,val_accuracy,val_bpc,tokens_per_second,${layer(0)},${layer(1)}`,
      "the header metrics.csv of the command line has",
    );
    assert.equal(rows.length, 1 + 12, "one row per step");
    // The CSV writes each f32 in its shortest form; the snapshot holds the same f32 widened.
    assert.deepEqual(rows.slice(1).map((r) => Math.fround(Number(r.split(",")[1]))), done.runs[0].loss);

    const [jsonName, json] = await download(page, "export-json-1");
    assert.equal(jsonName, "archlab-run-1.json");
    const run = JSON.parse(json.toString());
    assert.equal(run.name, done.runs[0].name);
    assert.equal(run.config.train.steps, 12);
    assert.equal(run.config.model.d_model, 32);
    // The JSON, like the CSV, writes each f32 in its shortest form.
    assert.deepEqual(run.metrics.map((r) => Math.fround(r.loss)), done.runs[0].loss);
    assert.equal(run.config.train.lr, 0.003, "short decimals");
    // Text data: the first step evaluates, in nats per token and in bits per character.
    assert.equal(typeof run.metrics[0].val_bpc, "number");
    assert.equal(Math.fround(Number(rows[1].split(",")[9])), Math.fround(run.metrics[0].val_bpc));
    assert.equal(done.loss_axis, "nats per token", "one run, one tokenizer");

    const [pngName, png] = await download(page, "chart-loss-png");
    assert.equal(pngName, "archlab-chart-loss.png");
    assert.deepEqual([...png.subarray(1, 4)].map((c) => String.fromCharCode(c)).join(""), "PNG");

    // The enlarged map (layer 0, head 0): the keyboard walks its cells, the pointer reads one.
    const readout = page.getByTestId("attention-readout");
    await page.getByTestId("enlarged-map").focus();
    await page.keyboard.press("ArrowRight");
    assert.match(await readout.innerText(), /^query t=0 '.+' → key t=1 '.+': masked$/);
    await page.keyboard.press("ArrowDown");
    const p = done.attention.maps[0].probs[1 * done.attention.t + 1];
    assert.match(await readout.innerText(), new RegExp(`^query t=1 '.+' → key t=1 '.+': p = ${p.toFixed(2)}$`));
    const box = await page.getByTestId("enlarged-map").locator("canvas").boundingBox();
    await page.mouse.move(box.x + box.width * 0.3, box.y + box.height * 0.9);
    assert.match(await readout.innerText(), /^query t=\d+ '.+' → key t=\d+ '.+': p = \d\.\d\d$/);
    await screenshot(page, "page-export-and-readout");
    assert.deepEqual(errors, []);
  } finally {
    await browser.close();
  }
});

test("a run saves as one checkpoint file that opens again and trains on; bad files are refused", async () => {
  const browser = await launch({ webgpu: false });
  try {
    const { page, errors } = await openPage(browser);
    await page.goto(`${url}?train.steps=200`);
    await until(page, (s) => s.runs.length === 1 && s.runs[0].steps >= 10);
    const [file] = await Promise.all([
      page.waitForEvent("download"),
      page.getByTestId("save-checkpoint").click(),
    ]);
    const name = file.suggestedFilename();
    const match = name.match(/^archlab-run-1-step-(\d+)\.safetensors$/);
    assert.ok(match, name);
    const step = Number(match[1]);
    const outcome = page.getByTestId("checkpoint-outcome");
    await outcome.waitFor();
    assert.match(await outcome.innerText(), /^Saved /);

    // Opened again: a new run that starts at the saved step and trains to the end.
    const buffer = await readFile(await file.path());
    await page
      .getByTestId("open-files")
      .setInputFiles({ name, mimeType: "application/octet-stream", buffer });
    const opened = await until(page, (s) => s.runs.length === 2 && s.runs[1].status === "finished, 200 steps");
    assert.equal(opened.runs[1].name, `run 2: opened checkpoint at step ${step}`);
    assert.equal(opened.runs[1].loss.length, 200 - step, "only the steps after the checkpoint");
    assert.match(await outcome.innerText(), /^Opened as run 2/);

    // A Hugging Face folder whose vocabulary the page's data does not fit, and a lone config.
    const fixture = new URL("../fixtures/hf/llama/", import.meta.url).pathname;
    await page
      .getByTestId("open-files")
      .setInputFiles([`${fixture}config.json`, `${fixture}model.safetensors`]);
    await page.waitForFunction(() => /vocabulary of 48/.test(
      document.querySelector("[data-testid=checkpoint-outcome]")?.innerText ?? ""));
    await page.getByTestId("open-files").setInputFiles(`${fixture}config.json`);
    await page.waitForFunction(() => /model\.safetensors: missing/.test(
      document.querySelector("[data-testid=checkpoint-outcome]")?.innerText ?? ""));
    assert.equal((await page.evaluate(() => window.__archlab)).runs.length, 2, "nothing opened");
    await screenshot(page, "page-checkpoints");
    assert.deepEqual(errors, []);
  } finally {
    await browser.close();
  }
});

test("a pasted text trains, with its own characters as the vocabulary, shown as text, never as HTML", async () => {
  const browser = await launch({ webgpu: false });
  try {
    const { page, errors } = await openPage(browser);
    await page.goto(url);
    await until(page, (s) => s.runs.length === 1);
    const text = "abc cab bca ".repeat(100);
    await page.getByTestId("user-text").fill(text);
    await page.getByTestId("train-on-text").click();
    const snapshot = await until(page, (s) => s.runs.length === 2 && s.runs[1].steps >= 20);
    assert.equal(snapshot.runs[1].name, "run 2: your text (1200 characters)");
    const [first, last] = [mean(snapshot.runs[1].loss.slice(0, 3)), mean(snapshot.runs[1].loss.slice(-3))];
    assert.ok(last < first, `train loss ${first} -> ${last}`);
    // The data control shows the text source; the attention maps show the text's characters.
    assert.equal(
      await page.getByTestId("control-data.source").evaluate((s) => s.selectedOptions[0].label),
      "your text, characters",
    );
    const labels = new Set(snapshot.attention.tokens);
    assert.ok(labels.size >= 3 && labels.size <= 4, JSON.stringify([...labels]));
    assert.ok(["a", "b", "c"].every((c) => labels.has(c)), JSON.stringify([...labels]));

    // The maps and norms on an example of the visitor's; a character the text lacks is refused.
    await page.getByTestId("look-at").fill("cab");
    await page.getByTestId("look-at-button").click();
    const looked = await until(page, (s) => s.attention.tokens.join("") === "cab");
    assert.equal(looked.attention.t, 3);
    assert.equal(looked.attention.maps[0].probs.length, 9);
    assert.equal(looked.attention.norms.length, 2, "RMS per layer of this forward");
    assert.match(await page.getByTestId("example-norms").innerText(), /layer 1: \d\.\d{3}/);
    await page.getByTestId("look-at").fill("xyz");
    await page.getByTestId("look-at-button").click();
    await page.getByTestId("look-at-error").waitFor();

    // Text from users is shown as text, never parsed as HTML: markup pasted as training data,
    // looked at, and in a file's name shows its characters and creates no element.
    const markup = `<img src=x onerror="window.__pwned=1"><b>bold</b> `;
    await page.getByTestId("user-text").fill(markup.repeat(40));
    await page.getByTestId("train-on-text").click();
    await until(page, (s) => s.runs.length === 3 && s.runs[2].steps >= 10);
    await page.waitForFunction(() => /[<>]/.test(document.querySelector("[data-testid=sample]").innerText));
    await page.getByTestId("look-at").fill("<b>bold</b>");
    await page.getByTestId("look-at-button").click();
    await until(page, (s) => s.attention.tokens.join("") === "<b>bold</b>");
    await page.getByTestId("enlarged-map").focus();
    await page.keyboard.press("ArrowDown");
    assert.match(await page.getByTestId("attention-readout").innerText(), /^query t=1 'b' → key t=0 '<'/);
    const fileName = `<img src=x onerror="window.__pwned=1">.safetensors`;
    await page
      .getByTestId("open-files")
      .setInputFiles({ name: fileName, mimeType: "application/octet-stream", buffer: Buffer.from("<b>bold</b>") });
    const outcome = page.getByTestId("checkpoint-outcome");
    await outcome.waitFor();
    assert.match(await outcome.innerText(), /not a valid safetensors file/);
    const made = await page.evaluate(() => ({
      pwned: window.__pwned,
      images: document.querySelectorAll("img").length,
      bold: [...document.querySelectorAll("b")].filter((b) => b.textContent === "bold").length,
    }));
    assert.deepEqual(made, { pwned: undefined, images: 0, bold: 0 });
    assert.deepEqual(errors, []);
  } finally {
    await browser.close();
  }
});

test("the loss smooths on request, and the attention maps scrub back through training", async () => {
  const browser = await launch({ webgpu: false });
  try {
    const { page, errors } = await openPage(browser);
    await page.goto(`${url}?train.steps=400`);
    const trained = await until(page, (s) => s.runs[0].status === "finished, 400 steps" && s.attention.snapshots > 2);
    await page.getByTestId("smoothing").selectOption("0.9");
    // The chart redraws from the lab; its data is the page's, smoothed in `views::smooth`
    // (unit-tested); here the control must not disturb the run.
    await page.waitForTimeout(300);
    const scrub = page.getByTestId("scrub");
    assert.equal(await page.getByTestId("scrub-step").innerText(), "live");
    await scrub.fill("0");
    const back = await until(page, (s) => s.attention.step !== null);
    assert.equal(back.attention.step, 0, "the first snapshot: the untrained model");
    assert.notDeepEqual(back.attention.maps[0].probs, trained.attention.maps[0].probs);
    assert.equal(await page.getByTestId("scrub-step").innerText(), "step 0");
    await page.getByTestId("scrub-live").click();
    await until(page, (s) => s.attention.step === null);
    await screenshot(page, "page-scrub");
    assert.deepEqual(errors, []);
  } finally {
    await browser.close();
  }
});

test("on WebGPU, a run saves as a checkpoint and the maps look at a text of the visitor's", async () => {
  const browser = await launch();
  try {
    const { page, errors } = await openPage(browser);
    await page.goto(url + TINY + ON_GPU);
    await until(page, (s) => s.runs.length === 1 && s.runs[0].steps >= 3, null, 120_000);
    // Saving pauses the run, records its steps in flight, then reads the GPU's buffers.
    const [file] = await Promise.all([
      page.waitForEvent("download", { timeout: 60_000 }),
      page.getByTestId("save-checkpoint").click(),
    ]);
    assert.match(file.suggestedFilename(), /^archlab-run-1-step-\d+\.safetensors$/);
    const bytes = await readFile(await file.path());
    const header = JSON.parse(bytes.subarray(8, 8 + Number(bytes.readBigUInt64LE(0))).toString());
    const manifest = JSON.parse(header.__metadata__["archlab.json"]);
    assert.equal(manifest.run.model.d_model, 16);
    assert.equal(`archlab-run-1-step-${manifest.step}.safetensors`, file.suggestedFilename());
    assert.ok(Object.keys(header).some((k) => k.startsWith("optimizer.m.")), "AdamW moments saved");

    await page.getByTestId("look-at").fill("to be");
    await page.getByTestId("look-at-button").click();
    const looked = await until(page, (s) => s.attention.tokens.length === 5, null, 60_000);
    assert.equal(looked.attention.maps[0].probs.length, 25);
    assert.equal(looked.attention.norms.length, 1);
    assert.deepEqual(errors, []);
  } finally {
    await browser.close();
  }
});

test("on a tablet's screen the page is one column, no wider than the screen", async () => {
  const browser = await launch({ webgpu: false });
  try {
    const { page, errors } = await openPage(browser);
    await page.setViewportSize({ width: 768, height: 1024 });
    await page.goto(url);
    await until(page, (s) => s.runs.length === 1 && s.runs[0].steps >= 5);
    await assertNoSidewaysScroll(page, "768x1024");
    // The training views come first, the controls below them.
    const toolbar = await page.getByTestId("play").boundingBox();
    const control = await page.getByTestId("control-model.norm").boundingBox();
    assert.ok(toolbar.y < control.y, "Play above the controls");
    assert.ok(toolbar.y < 1024, "Play on the first screen");
    await screenshot(page, "page-tablet");
    assert.deepEqual(errors, []);
  } finally {
    await browser.close();
  }
});
