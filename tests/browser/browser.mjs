// Shared by the browser tests: launching Debian's Chromium and watching a page for errors.
// `cargo xtask test` sets ARCHLAB_URL (the served dist/), ARCHLAB_OUTPUT and CHROMIUM.
import assert from "node:assert/strict";
import { chromium } from "playwright-core";
import path from "node:path";

export const url = process.env.ARCHLAB_URL;
const output = process.env.ARCHLAB_OUTPUT;

// SwiftShader's WebGPU, for compute and canvas alike (see docs/toolchain notes in the README).
const WEBGPU_FLAGS = [
  "--enable-unsafe-webgpu",
  "--enable-features=Vulkan",
  "--use-vulkan=swiftshader",
  "--use-angle=swiftshader",
  "--use-webgpu-adapter=swiftshader",
];
const QUIET_FLAGS = [
  "--disable-gpu-sandbox",
  "--disable-quic",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--no-first-run",
  "--no-sandbox",
];

/** A tiny model for pages that train on WebGPU: SwiftShader runs WebGPU on the CPU, about a
 * step per second at the CPU engine's default size on two loaded cores. */
export const TINY =
  "?model.d_model=16&model.n_layers=1&model.n_heads=2&model.n_kv_heads=2&model.context_len=16" +
  "&train.batch_size=4&train.seq_len=16&train.lr=0.01&train.eval_interval=10";

/** The screens issue 14 names: a projector's, a tablet's and a phone's, [width, height] in CSS px. */
export const SCREENS = [
  [1280, 720],
  [768, 1024],
  [390, 844],
];

/** The WebGPU engine asked for: on SwiftShader, a software adapter, the page would choose the
 * CPU engine (src/lab/engine_choice.rs). For tests of the GPU engine itself. */
export const ON_GPU = "&engine=gpu";

/** Launches headless Chromium, with WebGPU unless `webgpu` is false. */
export async function launch({ webgpu = true } = {}) {
  if (!url) throw new Error("ARCHLAB_URL is not set: run the browser tests through `cargo xtask test`");
  return chromium.launch({
    executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
    headless: true,
    args: webgpu ? [...WEBGPU_FLAGS, ...QUIET_FLAGS] : QUIET_FLAGS,
  });
}

/** Opens a page at a 1280x720 projector size (at `deviceScaleFactor` device pixels per CSS
 * pixel), or with `emulated` false at the window's own size and ratio, and records uncaught
 * errors and console errors. */
export async function openPage(browser, { deviceScaleFactor = 1, emulated = true } = {}) {
  const page = await browser.newPage(
    emulated ? { viewport: { width: 1280, height: 720 }, deviceScaleFactor } : { viewport: null },
  );
  const errors = [];
  page.on("pageerror", (error) => errors.push(`page error: ${error.message}`));
  page.on("console", (message) => {
    if (message.type() === "error") errors.push(`console error: ${message.text()}`);
    // Chromium reports WebGPU validation errors (an invalid shader, command or buffer) as
    // warnings only; each means wrong results.
    if (message.type() === "warning" && /WGSL|Invalid|\[Device|\[Queue/.test(message.text())) {
      errors.push(`WebGPU warning: ${message.text().slice(0, 500)}`);
    }
  });
  // Only the page's own files may be fetched: a classroom may have no internet.
  page.on("request", (request) => {
    const own = [url, `blob:${url}`, "data:"];
    if (!own.some((prefix) => request.url().startsWith(prefix))) {
      errors.push(`request outside the page: ${request.url()}`);
    }
  });
  return { page, errors };
}

/** Saves a screenshot of the whole page (or with `fullPage` false, of the window) into the
 * test output folder and prints where. */
export async function screenshot(page, name, { fullPage = true } = {}) {
  const file = path.join(output, `${name}.png`);
  await page.screenshot({ path: file, fullPage });
  console.log(`screenshot: ${file}`);
  return file;
}

/** Waits until `predicate(window.__archlab, arg)` holds and returns the snapshot. The predicate
 * runs here, in node, on each polled snapshot: the page's Content-Security-Policy forbids
 * evaluating strings as code in the page. */
export async function until(page, predicate, arg, timeout = 60_000) {
  const deadline = Date.now() + timeout;
  for (;;) {
    const snapshot = await page.evaluate(() => window.__archlab);
    if (snapshot && predicate(snapshot, arg)) {
      return snapshot;
    }
    if (Date.now() > deadline) {
      // Where the page stood, to tell a slow page from a stuck one.
      const runs = (snapshot?.runs ?? []).map((r) => ({ steps: r.steps, status: r.status, resume_step: r.resume_step }));
      const lanes = snapshot?.experiment?.lanes.map((l) => l.steps);
      const stood = JSON.stringify({ runs, lanes, notice: snapshot?.engine_notice });
      throw new Error(`timed out after ${timeout} ms waiting for ${predicate}; the page: ${stood}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** Sets a text control to `value` and commits it (the page reacts to `change`). */
export async function fill(page, key, value) {
  const input = page.getByTestId(`control-${key}`);
  await input.fill(value);
  await input.press("Enter");
}

/** Fails when the page scrolls sideways. */
export async function assertNoSidewaysScroll(page, where) {
  const [scroll, inner] = await page.evaluate(() => [
    document.scrollingElement.scrollWidth,
    window.innerWidth,
  ]);
  assert.ok(scroll <= inner, `${where}: the page is ${scroll} px wide in a ${inner} px window`);
}
