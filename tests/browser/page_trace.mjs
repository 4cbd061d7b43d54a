// What Chromium does inside the page's long tasks before the first step, printed (asserts
// nothing): one page load under Chromium's tracing, then each main-thread task over 50 ms with
// the trace events inside it, longest first, summed by name. Where page-bench names the page's
// own phases (`archlab:<phase>`), this names Chromium's: a synchronous wait for the GPU
// process (`GpuChannelHost::CreateViewCommandBuffer`), style and layout, wasm compilation.
// Usage: ARCHLAB_URL=<served dist/> node tests/browser/page_trace.mjs [tiny | ?query]
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { launch, openPage, TINY, until, url } from "./browser.mjs";

const query = process.argv[2] ?? "?";
const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "archlab-trace-")), "trace.json");
const browser = await launch();
let first;
try {
  const { page } = await openPage(browser);
  const categories = ["devtools.timeline", "disabled-by-default-devtools.timeline", "v8", "v8.execute", "blink", "toplevel", "gpu"];
  await browser.startTracing(page, { path: file, categories });
  await page.goto(url + (query === "tiny" ? TINY : query));
  first = await until(page, (s) => s.first_step_ms != null, null, 120_000);
  await browser.stopTracing();
} finally {
  await browser.close();
}
console.log(`first step ${first.first_step_ms.toFixed(0)} ms after navigation; trace in ${file}`);

const events = JSON.parse(fs.readFileSync(file)).traceEvents;
const main = events.find((e) => e.name === "thread_name" && e.args.name === "CrRendererMain");
const onMain = events.filter((e) => e.pid === main.pid && e.tid === main.tid && e.ph === "X" && e.dur != null);
const origin = events.find((e) => e.name === "navigationStart" && e.pid === main.pid)?.ts ?? Math.min(...onMain.map((e) => e.ts));
const tasks = onMain.filter((e) => e.name === "ThreadControllerImpl::RunTask" && e.dur > 50_000);
for (const task of tasks) {
  const at = (task.ts - origin) / 1000;
  if (at > first.first_step_ms) break;
  const sums = new Map();
  for (const e of onMain) {
    if (e !== task && e.ts >= task.ts && e.ts + e.dur <= task.ts + task.dur && e.dur > 1000) {
      sums.set(e.name, (sums.get(e.name) ?? 0) + e.dur / 1000);
    }
  }
  const inside = [...sums].sort((a, b) => b[1] - a[1]).slice(0, 12);
  console.log(`task ${(task.dur / 1000).toFixed(0)} ms at ${at.toFixed(0)}:`);
  console.log("   " + inside.map(([name, ms]) => `${name} ${ms.toFixed(0)}`).join(", "));
}
