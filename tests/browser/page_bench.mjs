// The page's start and speed in headless Chromium on SwiftShader, printed (asserts nothing;
// speed goals live in benchmarks, never in tests): for the tiny and the default model on each
// engine, the time from navigation to the first training step, steps/s over the next seconds,
// and the longest main-thread task before the first step (a PerformanceObserver for
// 'longtask': tasks over 50 ms). Run by `cargo xtask page-bench`, which sets ARCHLAB_URL.
import { launch, ON_GPU, openPage, TINY, until, url } from "./browser.mjs";

const MEASURE_MS = 5000;
const FIRST_STEP_TIMEOUT_MS = 180_000;

const cases = [
  ["tiny", TINY],
  ["default", "?"],
];
const engines = [
  ["WebGPU engine (SwiftShader)", ON_GPU],
  ["auto (the CPU engine on SwiftShader)", ""],
];

/** Records long tasks from the start of the page: call before `goto`. */
async function watchLongTasks(page) {
  await page.addInitScript(() => {
    window.__longtasks = [];
    new PerformanceObserver((list) => {
      for (const entry of list.getEntries()) window.__longtasks.push([entry.startTime, entry.duration]);
    }).observe({ type: "longtask", buffered: true });
  });
}

async function measure(query) {
  const browser = await launch();
  try {
    const { page } = await openPage(browser);
    await watchLongTasks(page);
    await page.goto(url + query);
    const first = await until(page, (s) => s.first_step_ms != null, null, FIRST_STEP_TIMEOUT_MS);
    const t0 = Date.now();
    await page.waitForTimeout(MEASURE_MS);
    const after = await page.evaluate(() => window.__archlab);
    const steps = after.runs[0].steps - first.runs[0].steps;
    const tasks = await page.evaluate(() => window.__longtasks);
    const before = tasks.filter(([start]) => start < after.first_step_ms).map(([, duration]) => duration);
    const engine = await page.getByTestId("engine").innerText();
    return {
      engine: engine.split(" · ")[0].replace(/^Engine: /, ""),
      firstStepMs: after.first_step_ms,
      stepsPerSecond: steps / ((Date.now() - t0) / 1000),
      tokensPerSecond: after.tokens_per_second,
      longestBeforeMs: Math.max(0, ...before),
      longTasksBefore: before.length,
    };
  } finally {
    await browser.close();
  }
}

console.log("| model | engine asked | trains on | first step (ms after navigation) | steps/s | tokens/s | longest main-thread task before the first step (ms) |");
console.log("|---|---|---|---|---|---|---|");
for (const [model, query] of cases) {
  for (const [engine, setting] of engines) {
    const q = query === "?" ? `?${setting.slice(1)}` : query + setting;
    const r = await measure(q);
    console.log(
      `| ${model} | ${engine} | ${r.engine} | ${r.firstStepMs.toFixed(0)} | ${r.stepsPerSecond.toFixed(1)} | ` +
        `${r.tokensPerSecond?.toFixed(0) ?? "-"} | ${r.longestBeforeMs.toFixed(0)} (${r.longTasksBefore} over 50 ms) |`,
    );
  }
}
