// The walking skeleton in a real browser: the page finds SwiftShader's WebGPU adapter and the
// kernel check (matmul shapes, GPU-engine training steps), run on request, passes; without
// WebGPU it says so in plain words.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { launch, openPage, screenshot, TINY, until, url } from "./browser.mjs";

test("with WebGPU the adapter is shown and the kernel check passes", async () => {
  const browser = await launch();
  try {
    const { page, errors } = await openPage(browser);
    // A tiny model trains alongside (on the CPU engine: auto prefers it over SwiftShader); the
    // check runs on the page's WebGPU device all the same.
    await page.goto(url + TINY);
    const check = page.getByTestId("kernel-check");
    // The check runs when asked (it pauses training meanwhile).
    await page.getByTestId("run-kernel-check").click();
    await page.waitForFunction(
      () => !["ready", "waiting"].includes(
        document.querySelector("[data-testid=kernel-check]")?.dataset.status,
      ),
      null,
      { timeout: 120_000 },
    );
    const adapter = await page.getByTestId("adapter").innerText();
    assert.match(adapter, /software \/ fallback adapter\s+yes/, "SwiftShader is a fallback adapter");
    assert.match(adapter, /BrowserWebGpu/);
    const rows = await check.locator("tr.pass").count();
    assert.equal(await check.getAttribute("data-status"), "passed", await check.innerText());
    assert.ok(rows >= 8, `expected 6 matmul shapes and 2 training checks, saw ${rows}`);
    // The GPU engine's training steps (every kernel family) ran in the browser's WebGPU.
    assert.match(await check.innerText(), /training, GPT-2 toggles/);
    assert.match(await check.innerText(), /training, Qwen3 toggles/);
    await screenshot(page, "skeleton-webgpu");
    assert.deepEqual(errors, []);
  } finally {
    await browser.close();
  }
});

test("without WebGPU the page explains how to get it, without errors", async () => {
  const browser = await launch({ webgpu: false });
  try {
    const { page, errors } = await openPage(browser);
    await page.goto(url);
    const message = page.getByTestId("no-webgpu");
    await message.waitFor({ timeout: 30_000 });
    const text = await message.innerText();
    assert.match(text, /gave no GPU adapter|does not offer WebGPU/);
    assert.match(text, /chrome:\/\/flags\/#enable-unsafe-webgpu/);
    const check = page.getByTestId("kernel-check");
    assert.equal(await check.getAttribute("data-status"), "skipped");
    assert.match(await check.innerText(), /Not run/);
    await screenshot(page, "skeleton-no-webgpu");
    assert.deepEqual(errors, []);
  } finally {
    await browser.close();
  }
});

test("without its built-in text file the page says why, and a pasted text still trains", async () => {
  const browser = await launch({ webgpu: false });
  try {
    const { page, errors } = await openPage(browser);
    await page.route("**/tinyshakespeare.txt.gz", (route) => route.fulfill({ status: 404, body: "" }));
    await page.goto(url + TINY);
    const problems = page.getByTestId("problems");
    await problems.waitFor({ timeout: 30_000 });
    assert.match(
      await problems.innerText(),
      /data\.source: the built-in text could not be loaded: tinyshakespeare\.txt\.gz: HTTP status 404/,
    );
    await screenshot(page, "skeleton-no-corpus");
    // The 404 itself is the browser's console error; nothing else may be.
    assert.deepEqual(errors.filter((e) => !/Failed to load resource.*404/.test(e)), []);
  } finally {
    await browser.close();
  }
});

test("a server that sends the built-in text already decoded (Content-Encoding: gzip) gives the same data", async () => {
  const browser = await launch({ webgpu: false });
  try {
    const first = await openPage(browser);
    await first.page.goto(url + TINY);
    const gzipped = await until(first.page, (s) => s.runs[0]?.steps >= 2);
    // A page of its own (no runs kept), handed the text itself, as the browser hands it on
    // for a gzip-encoded answer.
    const { page, errors } = await openPage(browser);
    const text = readFileSync(new URL("../../data/tinyshakespeare.txt", import.meta.url));
    await page.route("**/tinyshakespeare.txt.gz", (route) =>
      route.fulfill({ status: 200, body: text, contentType: "application/gzip" }),
    );
    await page.goto(url + TINY);
    const decoded = await until(page, (s) => s.runs[0]?.steps >= 2);
    // The same vocabulary (65 characters) makes the same model, and the same batches the same
    // first loss.
    assert.deepEqual(decoded.readouts, gzipped.readouts);
    assert.equal(decoded.runs[0].loss[0], gzipped.runs[0].loss[0]);
    assert.equal(await page.getByTestId("problems").count(), 0);
    assert.deepEqual([...first.errors, ...errors], []);
  } finally {
    await browser.close();
  }
});
