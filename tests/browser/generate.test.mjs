// The Generate box: the newest run continues a prompt with its KV cache at temperature 0 (the
// same text twice), shows tokens/s and the cache's measured size, and that size halves with
// MQA; a prompt outside the vocabulary and a negative temperature are refused next to their
// controls. On the CPU engine; then a WebGPU run decodes on its own engine.
import { test } from "node:test";
import assert from "node:assert/strict";
import { fill, launch, ON_GPU, openPage, screenshot, TINY, until, url } from "./browser.mjs";

/** Clicks Generate and returns the text and readout once it is done. The click clears the
 * readout, so the next one is this Generate's (two can read alike: 64 tokens in 1.6 ms). */
async function generate(page) {
  const readout = page.getByTestId("generate-readout");
  await page.getByTestId("generate-button").click();
  await page.waitForFunction(
    () => {
      const text = document.querySelector("[data-testid=generate-readout]")?.innerText;
      return text && !document.querySelector("[data-testid=generate-button]").disabled;
    },
    null,
    { timeout: 30_000 },
  );
  return { text: await page.getByTestId("generate-text").innerText(), readout: await readout.innerText() };
}

test("generate with a KV cache: greedy text, tokens/s, the cache's bytes by KV heads", async () => {
  const browser = await launch({ webgpu: false });
  try {
    const { page, errors } = await openPage(browser);
    // A finished run, so both Generates read the same parameters.
    await page.goto(url + TINY + "&train.steps=20");
    await until(page, (s) => s.runs.length === 1 && s.runs[0].steps >= 20);
    await page.getByTestId("generate-temperature").fill("0");
    const first = await generate(page);
    assert.ok(first.text.startsWith("The "), first.text);
    // TINY: 1 layer, 2 KV heads of d_head 8, 16 positions, K and V in f32: 2 KiB.
    assert.match(first.readout, /^64 tokens in [\d.]+ m?s, [\d.]+( k)? tokens\/s on the CPU engine; KV cache 2\.00 KiB$/);
    // Greedy decoding is deterministic: the same text again (the readout's time changes).
    await page.getByTestId("generate-prompt").fill("The");
    await generate(page);
    await page.getByTestId("generate-prompt").fill("The ");
    assert.equal((await generate(page)).text, first.text);

    // MQA: one KV head, half the cache, measured. The new run waits for play: the page
    // paused when the first one finished.
    await fill(page, "model.n_kv_heads", "1");
    await until(page, (s) => s.runs.length === 2);
    await page.getByTestId("play").click();
    await until(page, (s) => s.runs.length === 2 && s.runs[1].steps >= 20);
    assert.match((await generate(page)).readout, /KV cache 1\.00 KiB$/);

    await page.getByTestId("generate-prompt").fill("The €");
    await page.getByTestId("generate-button").click();
    await page.getByTestId("generate-error-prompt").waitFor({ timeout: 10_000 });
    assert.match(await page.getByTestId("generate-error-prompt").innerText(), /€/);
    await page.getByTestId("generate-prompt").fill("The ");
    await page.getByTestId("generate-temperature").fill("-1");
    await page.getByTestId("generate-button").click();
    await page.getByTestId("generate-error-temperature").waitFor({ timeout: 10_000 });
    assert.equal(await page.getByTestId("generate-error-prompt").count(), 0);
    await screenshot(page, "generate");
    assert.deepEqual(errors, []);
  } finally {
    await browser.close();
  }
});

test("a WebGPU run generates on its own engine with its KV cache", async () => {
  const browser = await launch();
  try {
    const { page, errors } = await openPage(browser);
    // A finished run (5 steps: SwiftShader's steps are slow), so every Generate reads the same
    // parameters.
    await page.goto(url + TINY + ON_GPU + "&train.steps=5");
    await until(page, (s) => s.runs.length === 1 && s.runs[0].steps >= 5);
    await page.getByTestId("generate-temperature").fill("0");
    const first = await generate(page);
    assert.ok(first.text.startsWith("The "), first.text);
    // Decoded by the GPU engine itself (no CPU copy of its parameters); TINY's cache: 2 KiB.
    assert.match(first.readout, /^64 tokens in [\d.]+ m?s, [\d.]+( k)? tokens\/s on the WebGPU engine on .*; KV cache 2\.00 KiB$/);
    await page.getByTestId("generate-prompt").fill("The");
    await generate(page);
    await page.getByTestId("generate-prompt").fill("The ");
    assert.equal((await generate(page)).text, first.text);
    assert.deepEqual(errors, []);
  } finally {
    await browser.close();
  }
});
