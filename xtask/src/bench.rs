//! `cargo xtask bench`: archlab's CPU and GPU engines beside PyTorch CPU (2 threads) at the
//! three sizes of `archlab bench`, in alternating rounds (the machine may be shared), as one
//! table of tokens/s and ratios, written into docs/performance.md between its markers.
//!
//! PyTorch comes from PyPI into a virtual environment under the target folder (`bench-venv`),
//! or from the interpreter named by `ARCHLAB_BENCH_PYTHON` (one that can `import torch`).

use std::path::PathBuf;
use std::process::{Command, Output};

use crate::{cargo, root, run, target_dir};

const BEGIN: &str = "<!-- cargo xtask bench: generated section, do not edit by hand -->";
const END: &str = "<!-- cargo xtask bench: end -->";
const SIZES: [&str; 3] = ["small", "default", "large"];

struct Options {
    rounds: usize,
    steps: usize,
    only: Option<String>,
}

/// One side's figures at one size over the rounds.
#[derive(Default)]
struct Samples {
    params: Option<u64>,
    tokens_per_s: Vec<f64>,
}

#[derive(Default)]
struct Side {
    sizes: [Samples; 3],
}

impl Side {
    /// Reads the rows of a table whose first column is a size name, taking the parameter count
    /// and tokens/s from the given columns.
    fn add(&mut self, output: &str, params_column: usize, tokens_column: usize) {
        for line in output.lines() {
            let fields: Vec<&str> = line.split_whitespace().collect();
            let Some(index) = fields
                .first()
                .and_then(|name| SIZES.iter().position(|size| size == name))
            else {
                continue;
            };
            let number = |column: usize| fields.get(column).and_then(|f| f.parse::<f64>().ok());
            if let (Some(params), Some(tokens)) = (number(params_column), number(tokens_column)) {
                self.sizes[index].params = Some(params as u64);
                self.sizes[index].tokens_per_s.push(tokens);
            }
        }
    }
}

pub fn bench(args: &[String]) -> Result<(), String> {
    let options = parse(args)?;
    let python = python()?;
    run(
        "cargo build --release --bin archlab",
        cargo().args(["build", "--release", "--bin", "archlab"]),
    )?;
    let archlab = || {
        let mut command = Command::new(target_dir().join("release").join("archlab"));
        // Vulkan's loader warns on every start without it.
        command.env("XDG_RUNTIME_DIR", std::env::temp_dir());
        command
    };
    let load_before = load_average();
    let steps = options.steps.to_string();
    let mut only = Vec::new();
    if let Some(size) = &options.only {
        only = vec!["--only".to_string(), size.clone()];
    }
    let (mut pytorch, mut cpu, mut gpu) = (Side::default(), Side::default(), Side::default());
    let (mut torch_version, mut adapter, mut gpu_output) = (String::new(), None, None);
    let mut no_gpu = None;
    for round in 1..=options.rounds {
        println!("==> round {round} of {}", options.rounds);
        let out = capture(
            "PyTorch CPU (bench/pytorch_bench.py)",
            Command::new(&python)
                .arg(root().join("bench/pytorch_bench.py"))
                .args(["--steps", &steps, "--threads", "2"])
                .args(&only),
        )?;
        torch_version = out.lines().next().unwrap_or_default().to_string();
        pytorch.add(&out, 1, 3);
        let out = capture(
            "archlab bench --backend cpu",
            archlab()
                .args(["bench", "--backend", "cpu", "--steps", &steps])
                .args(&only),
        )?;
        cpu.add(&out, 6, 8);
        if no_gpu.is_some() {
            continue;
        }
        // The matmul sweep stops at 512³: lavapipe runs a 1024³ product for seconds.
        let gpu_run = archlab()
            .args(["bench", "--backend", "gpu", "--steps", &steps])
            .args(["--max-matmul", "512"])
            .args(&only)
            .current_dir(root())
            .output()
            .map_err(|e| format!("archlab bench --backend gpu: could not start: {e}"))?;
        let out = String::from_utf8_lossy(&gpu_run.stdout).to_string();
        if !gpu_run.status.success() {
            let reason = String::from_utf8_lossy(&gpu_run.stderr).trim().to_string();
            println!("no GPU engine here ({reason}); the table leaves the GPU column out");
            no_gpu = Some(reason);
            continue;
        }
        println!("==> archlab bench --backend gpu\n{out}");
        adapter = out
            .lines()
            .find_map(|line| line.strip_prefix("engine: WebGPU engine on "))
            .map(str::to_string);
        gpu.add(&out, 6, 8);
        gpu_output = Some(out);
    }
    let load_after = load_average();

    let mut report = String::new();
    let add = |report: &mut String, line: &str| {
        report.push_str(line);
        report.push('\n');
    };
    add(
        &mut report,
        &format!(
            "Machine: {} ({} logical cores); GPU engine: {}; {torch_version}. Load average \
             (1, 5, 15 min) {load_before} before, {load_after} after. Median tokens/s over {} \
             alternating rounds of {} timed steps each, range in brackets.",
            cpu_name(),
            core_count(),
            match (&adapter, &no_gpu) {
                (Some(name), _) => name.clone(),
                (None, Some(reason)) => format!("none ({reason})"),
                (None, None) => "none".into(),
            },
            options.rounds,
            options.steps,
        ),
    );
    add(&mut report, "");
    add(
        &mut report,
        "| size | params (archlab = PyTorch) | PyTorch CPU | archlab CPU | CPU / PyTorch | archlab GPU | GPU / PyTorch |",
    );
    add(&mut report, "|---|---|--:|--:|--:|--:|--:|");
    let mut mismatches = Vec::new();
    for (index, size) in SIZES.iter().enumerate() {
        let reference = &pytorch.sizes[index];
        if reference.tokens_per_s.is_empty() {
            continue;
        }
        let params = match (cpu.sizes[index].params, reference.params) {
            (Some(ours), Some(theirs)) if ours == theirs => format!("{ours} = {theirs}"),
            (ours, theirs) => {
                mismatches.push(*size);
                format!("**{ours:?} ≠ {theirs:?}**")
            }
        };
        let base = median(&reference.tokens_per_s);
        let column = |side: &Side| match side.sizes[index].tokens_per_s.as_slice() {
            [] => ("–".to_string(), "–".to_string()),
            samples => (figure(samples), format!("{:.2}×", median(samples) / base)),
        };
        let (cpu_figure, cpu_ratio) = column(&cpu);
        let (gpu_figure, gpu_ratio) = column(&gpu);
        add(
            &mut report,
            &format!(
                "| {size} | {params} | {} | {cpu_figure} | {cpu_ratio} | {gpu_figure} | {gpu_ratio} |",
                figure(&reference.tokens_per_s)
            ),
        );
    }
    if let Some(out) = gpu_output {
        add(&mut report, "");
        add(
            &mut report,
            "The GPU engine's own output of the last round (kernel times from timestamp queries, \
             roofline per kernel family, matmul sweep):",
        );
        add(&mut report, "");
        add(&mut report, "```");
        report.push_str(&out);
        add(&mut report, "```");
    }
    println!("\n{report}");
    write_section(&report)?;
    if mismatches.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "parameter counts differ between archlab and PyTorch at {}: the models do not match",
            mismatches.join(", ")
        ))
    }
}

fn parse(args: &[String]) -> Result<Options, String> {
    let usage = "usage: cargo xtask bench [--rounds N] [--steps N] [--only SIZE]";
    let mut options = Options {
        rounds: 2,
        steps: 3,
        only: None,
    };
    let mut args = args.iter();
    while let Some(flag) = args.next() {
        let value = args.next().ok_or(usage)?;
        let count = || -> Result<usize, String> {
            value.parse().ok().filter(|&n| n > 0).ok_or(format!(
                "{flag}: expected a positive whole number, got {value}"
            ))
        };
        match flag.as_str() {
            "--rounds" => options.rounds = count()?,
            "--steps" => options.steps = count()?,
            "--only" => options.only = Some(value.clone()),
            _ => return Err(usage.into()),
        }
    }
    Ok(options)
}

/// The interpreter to run PyTorch with: `ARCHLAB_BENCH_PYTHON`, or the benchmark's own virtual
/// environment, created with PyTorch from PyPI on first use.
fn python() -> Result<PathBuf, String> {
    if let Some(python) = std::env::var_os("ARCHLAB_BENCH_PYTHON") {
        return Ok(PathBuf::from(python));
    }
    let venv = target_dir().join("bench-venv");
    let python = venv.join("bin").join("python");
    let has_torch = |python: &PathBuf| {
        Command::new(python)
            .args(["-c", "import torch"])
            .status()
            .is_ok_and(|status| status.success())
    };
    if !has_torch(&python) {
        run(
            &format!("python3 -m venv {}", venv.display()),
            Command::new("python3").arg("-m").arg("venv").arg(&venv),
        )?;
        // PyPI's Linux torch is the CUDA build: it pulls the nvidia-* wheels (about 5 GB
        // installed) and runs on the CPU without a GPU.
        run(
            "pip install torch (from PyPI, several GB)",
            Command::new(&python).args(["-m", "pip", "install", "torch"]),
        )?;
    }
    Ok(python)
}

/// Runs a command in the workspace root and returns its standard output, echoed.
fn capture(description: &str, command: &mut Command) -> Result<String, String> {
    println!("==> {description}");
    let Output { status, stdout, .. } = command
        .current_dir(root())
        .stderr(std::process::Stdio::inherit())
        .output()
        .map_err(|e| format!("{description}: could not start: {e}"))?;
    let stdout = String::from_utf8_lossy(&stdout).to_string();
    print!("{stdout}");
    if status.success() {
        Ok(stdout)
    } else {
        Err(format!("{description}: failed ({status})"))
    }
}

/// "median (min–max)" in whole tokens/s.
fn figure(samples: &[f64]) -> String {
    let min = samples.iter().copied().fold(f64::INFINITY, f64::min);
    let max = samples.iter().copied().fold(0.0, f64::max);
    format!("{:.0} ({min:.0}–{max:.0})", median(samples))
}

fn median(samples: &[f64]) -> f64 {
    let mut sorted = samples.to_vec();
    sorted.sort_by(f64::total_cmp);
    let mid = sorted.len() / 2;
    if sorted.len().is_multiple_of(2) {
        (sorted[mid - 1] + sorted[mid]) / 2.0
    } else {
        sorted[mid]
    }
}

fn cpu_name() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|info| {
            info.lines()
                .find_map(|line| line.strip_prefix("model name"))
                .map(|rest| rest.trim_start_matches([' ', '\t', ':']).to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into())
}

fn core_count() -> usize {
    std::thread::available_parallelism().map_or(0, |n| n.get())
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg").map_or_else(
        |_| "unknown".into(),
        |load| {
            load.split_whitespace()
                .take(3)
                .collect::<Vec<_>>()
                .join(" ")
        },
    )
}

/// Replaces the text between the markers of docs/performance.md with `report`.
fn write_section(report: &str) -> Result<(), String> {
    let path = root().join("docs/performance.md");
    let doc = std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    let begin = doc.find(BEGIN);
    let end = begin.and_then(|begin| doc[begin..].find(END).map(|end| begin + end));
    let (Some(begin), Some(end)) = (begin, end) else {
        return Err(format!(
            "{}: the markers {BEGIN} and then {END} are missing",
            path.display()
        ));
    };
    let updated = format!("{}{BEGIN}\n\n{report}\n{}", &doc[..begin], &doc[end..]);
    std::fs::write(&path, updated).map_err(|e| format!("{}: {e}", path.display()))?;
    println!("xtask bench: wrote the table into {}", path.display());
    Ok(())
}
