//! Memory over a session of page runs, measured natively: runs in a row (each superseding the
//! last, as a changed control does) must not keep an engine each (issue 13: 28 MB to 229 MB of
//! WebAssembly memory over thirty runs). Heap bytes come from a counting allocator, GPU buffer
//! bytes from wgpu's own counters (lavapipe). `ARCHLAB_RUNS` sets the number of runs (30 on
//! the CPU engine, 10 on the GPU by default); with `--nocapture` each run's memory is printed:
//! `ARCHLAB_RUNS=50 cargo test --test lab_memory -- --nocapture` is the benchmark.
#![cfg(not(target_arch = "wasm32"))]

// The integration tests' helpers, of which this binary uses a few.
#[allow(dead_code)]
mod common;

use std::alloc::{GlobalAlloc, Layout, System};
use std::rc::Rc;
use std::sync::atomic::{AtomicIsize, Ordering};
use std::sync::Mutex;

use archlab::lab::{page_defaults, Lab};

/// Bytes allocated and not yet freed, by anyone in this test binary.
static LIVE: AtomicIsize = AtomicIsize::new(0);

/// The tests count the whole binary's heap: one at a time.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

struct Counting;

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LIVE.fetch_add(layout.size() as isize, Ordering::Relaxed);
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size() as isize, Ordering::Relaxed);
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        LIVE.fetch_add(
            new_size as isize - layout.size() as isize,
            Ordering::Relaxed,
        );
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

fn live() -> f64 {
    LIVE.load(Ordering::Relaxed) as f64
}

const MB: f64 = 1e6;

/// `ARCHLAB_RUNS`, else `default`.
fn runs(default: usize) -> usize {
    std::env::var("ARCHLAB_RUNS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(default)
}

/// Starts run `i` (from 1) by a changed control: alternately a learning rate and a seed, so
/// runs on the same data share its tokens.
fn next_run(lab: &mut Lab, i: usize) {
    let lr = 0.001 + i as f64 * 1e-4;
    let (key, value) = match i % 2 {
        0 => ("train.lr", lr.to_string()),
        _ => ("train.seed", i.to_string()),
    };
    assert!(lab.change(key, &value));
}

#[test]
fn runs_in_a_row_on_the_cpu_hold_one_engine() {
    let _alone = ONE_AT_A_TIME.lock().unwrap();
    let n = runs(30);
    let now = common::clock();
    // The page without WebGPU: the CPU engine at CPU_SCALE.
    let mut lab = Lab::new(page_defaults(), &[], None);
    let steps = |lab: &mut Lab| {
        for _ in 0..3 {
            assert_eq!(lab.train(0.0, &now), 1);
        }
    };
    steps(&mut lab);
    let first = live();
    println!("CPU run 1: {:.2} MB of heap", first / MB);
    for i in 1..n {
        next_run(&mut lab, i);
        steps(&mut lab);
        println!("CPU run {}: {:.2} MB of heap", i + 1, live() / MB);
    }
    let growth = (live() - first) / (n - 1) as f64;
    // What one run's engine holds: parameters, gradients, AdamW moments, activations.
    let engine = lab.runs.last_mut().unwrap().engine.take();
    let with_engine = live();
    drop(engine);
    let per_engine = with_engine - live();
    println!(
        "{n} CPU runs: {:.2} MB live after the first, {:.2} MB after the last: {:.3} MB per \
         run (history, examples); one engine holds {:.2} MB, which each stopped run kept before",
        first / MB,
        with_engine / MB,
        growth / MB,
        per_engine / MB
    );
    assert_eq!(lab.engines_alive(), 0);
    assert!(
        growth < per_engine / 4.0,
        "each run keeps {growth} bytes, an engine {per_engine}"
    );
}

/// A tiny model: lavapipe is slow, and the bound is in engines, whatever their size.
fn tiny() -> Vec<(String, String)> {
    [
        // The WebGPU engine where there is a device, lavapipe included (a software adapter).
        ("engine", "gpu"),
        ("model.d_model", "16"),
        ("model.n_layers", "1"),
        ("model.n_heads", "2"),
        ("model.n_kv_heads", "2"),
        ("model.context_len", "16"),
        ("train.batch_size", "4"),
        ("train.seq_len", "16"),
        ("train.steps", "3"),
        ("train.eval_interval", "3"),
    ]
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .into()
}

/// On WebGPU the GPU buffers of a superseded run are freed: after any number of runs, the live
/// GPU bytes exceed those after the first run by less than one engine's buffers (each run
/// kept them before, which would be a growth of one engine per run).
#[test]
fn runs_in_a_row_on_the_gpu_hold_one_engine() {
    let _alone = ONE_AT_A_TIME.lock().unwrap();
    let Some(ctx) = common::gpu() else { return };
    let ctx = Rc::new(ctx);
    let n = runs(10);
    let before = common::gpu_live(&ctx);
    let mut lab = Lab::new(page_defaults(), &tiny(), Some(ctx.clone()));
    common::drive(&mut lab);
    let first = common::gpu_live(&ctx);
    let engine = first - before;
    assert!(engine > 0.0, "wgpu counts no buffer bytes");
    println!(
        "GPU run 1: {:.3} MB of GPU buffers, {:.2} MB of heap",
        first / MB,
        live() / MB
    );
    let mut most = first;
    for i in 1..n {
        next_run(&mut lab, i);
        common::drive(&mut lab);
        let now = common::gpu_live(&ctx);
        most = most.max(now);
        println!(
            "GPU run {}: {:.3} MB of GPU buffers, {:.2} MB of heap",
            i + 1,
            now / MB,
            live() / MB
        );
    }
    println!(
        "{n} GPU runs: at most {:.3} MB of GPU buffers, {:.3} MB after the first; one engine \
         holds {:.3} MB",
        most / MB,
        first / MB,
        engine / MB
    );
    assert!(
        most - first < engine,
        "GPU buffers grew by {} bytes over {n} runs, one engine holds {engine}",
        most - first
    );
    assert_eq!(lab.engines_alive(), 1, "the newest run keeps its engine");
    // The count follows frees: without the newest run's engine, the device is back where it
    // began.
    drop(lab.runs.last_mut().unwrap().engine.take());
    assert!(
        common::gpu_live(&ctx) <= before,
        "an engine's buffers are freed with it"
    );
}
