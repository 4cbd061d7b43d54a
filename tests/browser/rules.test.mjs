// The rules of thumb beside the shape controls follow d_ff, and the calculator at real size
// shows a published model's parameters; the memory readout shows the engine's limit.
import { test } from "node:test";
import assert from "node:assert/strict";
import { fill, launch, openPage, screenshot, url } from "./browser.mjs";

test("rule readouts follow d_ff and the calculator counts LLaMA 2 7B", async () => {
  const browser = await launch({ webgpu: false });
  try {
    const { page, errors } = await openPage(browser);
    await page.goto(url);
    const ffn = page.getByTestId("rule-0");
    await ffn.waitFor({ timeout: 30_000 });
    // The CPU engine's SwiGLU model: d_ff 88 of d_model 32, 2.75, within 5% of 8/3.
    assert.equal(await ffn.getAttribute("data-value"), "2.75");
    assert.match(await ffn.innerText(), /2\.75\s+2\.53 to 2\.8\s+within/);
    // The size controls' limit: WebAssembly's 4 GiB less 512 MiB for the page.
    const memory = page.getByTestId("memory-readout");
    const before = await memory.innerText();
    assert.match(before, /^Memory: [\d.]+ [KM]iB of the 3\.50 GiB the page's CPU engine .* may hold/);
    await fill(page, "model.d_ff", "128");
    await page.waitForFunction(
      () => document.querySelector("[data-testid=rule-0]")?.dataset.value === "4",
      null,
      { timeout: 30_000 },
    );
    assert.match(await ffn.innerText(), /4\s+2\.53 to 2\.8\s+outside/);
    assert.notEqual(await memory.innerText(), before, "a wider feed-forward needs more memory");

    await page.getByTestId("calc-preset").selectOption("llama");
    const llama = page.locator("[data-testid=calc-table] tr[data-model='LLaMA 2 7B']");
    await llama.waitFor({ timeout: 30_000 });
    assert.equal(await llama.getAttribute("data-params"), "6738415616");
    assert.match(await llama.innerText(), /6\.74 B/);
    await page.getByTestId("calc-context").fill("0");
    await page.getByTestId("calc-context").press("Enter");
    assert.match(await page.getByTestId("calc-error").innerText(), /context/);
    await screenshot(page, "rules-calc");
    assert.deepEqual(errors, []);
  } finally {
    await browser.close();
  }
});
