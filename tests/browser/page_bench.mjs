// The page's start and speed in headless Chromium on SwiftShader, printed (asserts nothing;
// speed goals live in benchmarks, never in tests): for the tiny and the default model on each
// engine, over RUNS page loads each (min / median / max), the time from navigation to the first
// training step, steps/s over the next seconds, and the longest main-thread task before the
// first step (a PerformanceObserver for 'longtask': tasks over 50 ms); then where the start's
// time went: the median of each phase the page measures (`archlab:<phase>` in the performance
// timeline, src/ui/start_marks.rs) and, per load, each long task with the phases inside it.
// Run by `cargo xtask page-bench`, which sets ARCHLAB_URL; ARCHLAB_PAGE_BENCH_RUNS sets RUNS,
// ARCHLAB_PAGE_BENCH_ONLY=cpu|gpu one engine's cases.
import { launch, ON_GPU, openPage, TINY, until, url } from "./browser.mjs";

const MEASURE_MS = 5000;
const FIRST_STEP_TIMEOUT_MS = 180_000;
const RUNS = Number(process.env.ARCHLAB_PAGE_BENCH_RUNS ?? 3);
// "cpu" or "gpu": only the cases that train on that engine (all by default).
const ONLY = process.env.ARCHLAB_PAGE_BENCH_ONLY;

const cases = [
  ["tiny", TINY],
  ["default", "?"],
];
const engines = [
  ["WebGPU engine (SwiftShader)", ON_GPU, "gpu"],
  ["auto (the CPU engine on SwiftShader)", "", "cpu"],
].filter(([, , kind]) => !ONLY || kind === ONLY);

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
    const phases = await page.evaluate(() =>
      performance
        .getEntriesByType("measure")
        .filter((entry) => entry.name.startsWith("archlab:"))
        .map((entry) => [entry.name.slice("archlab:".length), entry.startTime, entry.duration]),
    );
    const before = tasks.filter(([start]) => start < after.first_step_ms);
    const engine = await page.getByTestId("engine").innerText();
    return {
      engine: engine.split(" · ")[0].replace(/^Engine: /, ""),
      firstStepMs: after.first_step_ms,
      stepsPerSecond: steps / ((Date.now() - t0) / 1000),
      tokensPerSecond: after.tokens_per_second,
      longestBeforeMs: Math.max(0, ...before.map(([, duration]) => duration)),
      longTasksBefore: before.length,
      tasks: before,
      phases,
    };
  } finally {
    await browser.close();
  }
}

/** "min / median / max" of `values`, rounded to `digits`. */
function spread(values, digits = 0) {
  const sorted = [...values].sort((a, b) => a - b);
  const median = sorted[Math.floor((sorted.length - 1) / 2)];
  const text = (v) => (v == null || Number.isNaN(v) ? "-" : v.toFixed(digits));
  return [sorted[0], median, sorted.at(-1)].map(text).join(" / ");
}

/** Each long task as "duration at start: phase ms, ...", the phases being those that end inside
 * it (a phase that awaits spans tasks: it is named with the task it ends in), then "(phase
 * begins)" for each that begins inside it and ends later: the task that calls WebGPU's
 * `requestAdapter` is Chromium's wait for its GPU process, inside the call. */
function taskLines(result) {
  const within = (at, start, duration) => at >= start && at <= start + duration + 1;
  return result.tasks.map(([start, duration]) => {
    const ended = result.phases
      .filter(([, begin, length]) => within(begin + length, start, duration))
      .map(([name, , length]) => `${name} ${length.toFixed(0)}`);
    const begun = result.phases
      .filter(([, begin, length]) => within(begin, start, duration) && !within(begin + length, start, duration))
      .map(([name]) => `(${name} begins)`);
    const named = [...ended, ...begun].join(", ");
    return `${duration.toFixed(0)} ms at ${start.toFixed(0)}: ${named || "(no phase)"}`;
  });
}

const results = [];
for (const [model, query] of cases) {
  for (const [engine, setting] of engines) {
    const q = query === "?" ? `?${setting.slice(1)}` : query + setting;
    const runs = [];
    for (let run = 0; run < RUNS; run++) runs.push(await measure(q));
    results.push({ model, engine, runs });
  }
}

console.log(`Each cell: min / median / max over ${RUNS} page loads.\n`);
console.log(
  "| model | engine asked | trains on | first step (ms after navigation) | steps/s | tokens/s | " +
    "longest main-thread task before the first step (ms) | tasks over 50 ms before it |",
);
console.log("|---|---|---|---|---|---|---|---|");
for (const { model, engine, runs } of results) {
  const column = (key, digits) => spread(runs.map((r) => r[key]), digits);
  console.log(
    `| ${model} | ${engine} | ${runs[0].engine} | ${column("firstStepMs")} | ${column("stepsPerSecond", 1)} | ` +
      `${column("tokensPerSecond")} | ${column("longestBeforeMs")} | ${column("longTasksBefore")} |`,
  );
}

console.log("\nPhases before the first step (median ms over the loads; async phases include their waits):\n");
for (const { model, engine, runs } of results) {
  const names = [...new Set(runs.flatMap((r) => r.phases.map(([name]) => name)))];
  const medians = names.map((name) => {
    const totals = runs.map((r) =>
      r.phases.filter(([n]) => n === name).reduce((sum, [, , length]) => sum + length, 0),
    );
    return `${name} ${spread(totals).split(" / ")[1]}`;
  });
  console.log(`- ${model}, ${engine}: ${medians.join(", ")}`);
  runs.forEach((r, i) => {
    for (const line of taskLines(r)) console.log(`  - load ${i + 1}, long task ${line}`);
  });
}
