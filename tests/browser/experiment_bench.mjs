// How long each lecture experiment takes in the page on its CPU engine (WebAssembly on the
// page's thread), printed (asserts nothing): per experiment a fresh page at `?engine=cpu` (the
// CPU engine's scale, as `archlab experiment --scale page-cpu`), the experiment's own button
// clicked, and the wall time from the click to the end (the page pauses with the verdicts
// shown); the verdicts the page shows, its final validation loss per variant, and the machine's
// 1-minute load average meanwhile (other work on the machine slows the page). Each page's
// verdicts are set beside the `page-cpu` part of docs/experiments.md (the same lanes measured
// natively by `archlab experiment`).
// Run by `cargo xtask page-bench --experiments [--only NAME,NAME]`, which sets ARCHLAB_URL,
// ARCHLAB_EXPERIMENT_BENCH_ONLY (the names; every experiment by default) and
// ARCHLAB_EXPERIMENT_BENCH_DOC (the document whose "In the page" rows it rewrites, keeping the
// other experiments' rows); without the last it only prints.
import fs from "node:fs";
import os from "node:os";
import { launch, openPage, until, url } from "./browser.mjs";

const ONLY = process.env.ARCHLAB_EXPERIMENT_BENCH_ONLY?.split(",").filter(Boolean);
const DOC = process.env.ARCHLAB_EXPERIMENT_BENCH_DOC;
// The longest experiment took about 1.5 min natively on two threads; the page is slower.
const EXPERIMENT_TIMEOUT_MS = 40 * 60_000;
const POLL_MS = 500;
const BEGIN = "<!-- page timings -->";
const END = "<!-- end page timings -->";

/** The experiments' names in the page's order, from its buttons. */
async function experimentNames(browser) {
  const { page } = await openPage(browser);
  await page.goto(`${url}?engine=cpu`);
  const buttons = page.getByTestId("experiments").locator("button[data-testid^='experiment-']");
  await buttons.first().waitFor({ state: "attached" });
  const ids = await buttons.evaluateAll((all) => all.map((b) => b.dataset.testid));
  await page.close();
  return ids.map((id) => id.slice("experiment-".length));
}

/** The part of the experiment the polling needs (the snapshot's loss histories are long). */
function progress(page) {
  return page.evaluate(() => {
    const e = window.__archlab?.experiment;
    return e && { name: e.name, training: e.training, steps: Math.max(0, ...e.lanes.map((l) => l.steps)) };
  });
}

async function measure(browser, name) {
  const { page, errors } = await openPage(browser);
  try {
    await page.goto(`${url}?engine=cpu`);
    // The visitor's run has started: the page is up, as when a visitor clicks.
    await until(page, (s) => s.first_step_ms != null, null, 120_000);
    await page.getByTestId("experiments").locator("summary", { hasText: new RegExp(`^${name} · `) }).click();
    const loads = [];
    const started = Date.now();
    await page.getByTestId(`experiment-${name}`).click();
    let last = started;
    for (;;) {
      loads.push(os.loadavg()[0]);
      const now = await progress(page);
      if (now?.name === name && !now.training) break;
      if (Date.now() - started > EXPERIMENT_TIMEOUT_MS) throw new Error(`${name}: not finished after ${EXPERIMENT_TIMEOUT_MS} ms`);
      if (Date.now() - last > 60_000) {
        last = Date.now();
        console.error(`${name}: step ${now?.steps} after ${((last - started) / 1000).toFixed(0)} s`);
      }
      await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    }
    const seconds = (Date.now() - started) / 1000;
    const { experiment } = await page.evaluate(() => window.__archlab);
    const header = await page.getByTestId("experiment-results").locator("thead th").allInnerTexts();
    const engine = (await page.getByTestId("engine").innerText()).split(" · ")[0].replace(/^Engine: /, "");
    return {
      name,
      seconds,
      engine,
      banner: experiment.banner,
      steps: Math.max(...experiment.lanes.map((l) => l.steps)),
      lanes: experiment.lanes.length,
      unit: header[1].replace(/^validation loss, /, "").replace(/ \(mean\)$/, ""),
      losses: experiment.rows.map((row) => `${row[0]} ${row[1]} (${row[2]})`),
      verdicts: experiment.verdicts.map((line) => line.match(/Verdict: (.*?) \(/)?.[1] ?? line),
      load: [Math.min(...loads), Math.max(...loads)],
      errors,
    };
  } finally {
    await page.close();
  }
}

/** The verdicts of experiment `name`'s `page-cpu` part in `doc`, in order. */
function nativeVerdicts(doc, name) {
  const section = doc.split(`<!-- experiment: ${name} -->`)[1]?.split(`<!-- end experiment: ${name} -->`)[0] ?? "";
  const part = section.split("<!-- scale: page-cpu -->")[1]?.split("<!-- end scale: page-cpu -->")[0] ?? "";
  return [...part.matchAll(/^- Claim: .*?\. Verdict: \*\*(.*?)\*\*/gm)].map((m) => m[1]);
}

function minutes(seconds) {
  const whole = Math.round(seconds);
  return `${Math.floor(whole / 60)} min ${String(whole % 60).padStart(2, "0")} s`;
}

function row(r, doc, when) {
  const native = nativeVerdicts(doc, r.name);
  const same =
    native.length === 0 ? "not measured" : native.join() === r.verdicts.join() ? "yes" : `no (${native.join("; ")})`;
  return (
    `| ${r.name} | ${minutes(r.seconds)} | ${r.steps} × ${r.lanes} | ${r.verdicts.join("; ")} | ${same} | ` +
    `${r.losses.join("; ")} (${r.unit}) | ${r.load.map((l) => l.toFixed(1)).join("-")} | ${when} |`
  );
}

const HEADER =
  "| experiment | click to verdict | steps × lanes | the page's verdicts | the same as `page-cpu` above | " +
  "final validation loss per variant, mean (min-max over seeds) | load average | measured |\n" +
  "|---|---|---|---|---|---|---|---|";

/** `doc` with `rows` (by experiment) in its page-timings table, the other experiments' rows
 * kept, in the order of `names`; the block's text around the table stays. */
function withRows(doc, names, rows) {
  const [start, end] = [doc.indexOf(BEGIN), doc.indexOf(END)];
  if (start < 0 || end < start) throw new Error(`${DOC} has no ${BEGIN} ... ${END} block`);
  const lines = doc.slice(start, end).split("\n");
  const first = lines.findIndex((line) => line.startsWith("| experiment |"));
  if (first < 0) throw new Error(`${DOC}: the page-timings block has no table`);
  let last = first;
  while (last < lines.length && lines[last].startsWith("|")) last++;
  const kept = new Map(lines.slice(first + 2, last).map((line) => [line.split(" | ")[0].slice(2), line]));
  for (const [name, line] of rows) kept.set(name, line);
  const table = names.filter((name) => kept.has(name)).map((name) => kept.get(name));
  return doc.slice(0, start) + [...lines.slice(0, first), HEADER, ...table, ...lines.slice(last)].join("\n") + doc.slice(end);
}

const cpus = os.cpus();
const docPath = DOC ?? new URL("../../docs/experiments.md", import.meta.url);
const browser = await launch({ webgpu: false });
const results = [];
try {
  const names = await experimentNames(browser);
  const unknown = (ONLY ?? []).filter((name) => !names.includes(name));
  if (unknown.length) throw new Error(`no experiment named ${unknown.join(", ")}; the page has ${names.join(", ")}`);
  for (const name of ONLY ?? names) {
    const result = await measure(browser, name);
    const when = new Date().toISOString().slice(0, 16).replace("T", " ") + " UTC";
    result.row = row(result, fs.readFileSync(docPath, "utf8"), when);
    results.push(result);
    console.error(result.row);
    // Written as each ends, so an interrupted run keeps what it measured.
    if (DOC) fs.writeFileSync(DOC, withRows(fs.readFileSync(DOC, "utf8"), names, [[name, result.row]]));
  }
} finally {
  await browser.close();
}

console.log(`\nThe page on its CPU engine (${results[0]?.engine}), ${cpus[0].model} (${cpus.length} threads):\n`);
console.log(HEADER);
for (const r of results) console.log(r.row);
for (const r of results.filter((r) => r.errors.length)) console.log(`\n${r.name}: ${r.errors.join("; ")}`);
if (DOC) console.log(`\nwrote ${DOC}`);
