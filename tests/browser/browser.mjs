// Shared by the browser tests: launching Debian's Chromium and watching a page for errors.
// `cargo xtask test` sets ARCHLAB_URL (the served dist/), ARCHLAB_OUTPUT and CHROMIUM.
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

/** Launches headless Chromium, with WebGPU unless `webgpu` is false. */
export async function launch({ webgpu = true } = {}) {
  if (!url) throw new Error("ARCHLAB_URL is not set: run the browser tests through `cargo xtask test`");
  return chromium.launch({
    executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
    headless: true,
    args: webgpu ? [...WEBGPU_FLAGS, ...QUIET_FLAGS] : QUIET_FLAGS,
  });
}

/** Opens a page at a 1280x720 projector size and records uncaught errors and console errors. */
export async function openPage(browser) {
  const page = await browser.newPage({ viewport: { width: 1280, height: 720 } });
  const errors = [];
  page.on("pageerror", (error) => errors.push(`page error: ${error.message}`));
  page.on("console", (message) => {
    if (message.type() === "error") errors.push(`console error: ${message.text()}`);
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

/** Saves a full-page screenshot into the test output folder and prints where. */
export async function screenshot(page, name) {
  const file = path.join(output, `${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  console.log(`screenshot: ${file}`);
  return file;
}
