//! `cargo xtask`: build, serve and test archlab with nothing but cargo, offline.
//!
//! - `cargo xtask build`: the release page in `dist/` (wasm + JS glue + index.html + www/).
//! - `cargo xtask serve [--port N]`: sets up what is missing, builds, serves on 127.0.0.1.
//! - `cargo xtask test`: every check: format, clippy (native and wasm32), cargo test (GPU tests
//!   on lavapipe, required), the release build, and the browser tests in headless Chromium.
//! - `cargo xtask fuzz [--cases N]`: the fuzz targets of `tests/integration/fuzz.rs` (URL, config
//!   files, checkpoints, Hugging Face folders) with N cases each (default 20000) from a random
//!   seed; `cargo test` runs 512 each from a fixed one.
//! - `cargo xtask bench [--rounds N] [--steps N] [--only SIZE]`: archlab's CPU and GPU engines
//!   beside PyTorch CPU (installed from PyPI on first use), written into docs/performance.md.
//! - `cargo xtask page-bench`: the page in headless Chromium on SwiftShader: time to the first
//!   step, steps/s and the longest main-thread task before it, tiny and default model, each
//!   engine. `cargo xtask page-bench --experiments [--only NAME,NAME]`: each lecture experiment
//!   in the page on its CPU engine, from the click to the verdict, into docs/experiments.md.

mod bench;
mod serve;
mod setup;

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitCode, ExitStatus, Stdio};
use std::time::Instant;

const WASM_TARGET: &str = "wasm32-unknown-unknown";
/// Issue 14 item 11: the page's WebAssembly is at most 1.5 MB gzipped; `cargo xtask test`
/// fails above it.
const WASM_GZIPPED_BUDGET: usize = 1_500_000;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("build") => build().map(|_| ()),
        Some("serve") => serve(&args[1..]),
        Some("test") => test(),
        Some("fuzz") => fuzz(&args[1..]),
        Some("bench") => bench::bench(&args[1..]),
        Some("page-bench") => page_bench(&args[1..]),
        _ => Err(
            "usage: cargo xtask build | serve [--port N] | test | fuzz [--cases N] | bench \
                  [--rounds N] [--steps N] [--only SIZE] | page-bench [--experiments [--only \
                  NAME,NAME]]"
                .to_string(),
        ),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("xtask: {message}");
            ExitCode::FAILURE
        }
    }
}

/// The workspace root (the parent of this crate's folder).
fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask lives inside the workspace")
        .to_path_buf()
}

/// Runs a command in the workspace root, failing with its description if it fails.
fn run(description: &str, command: &mut Command) -> Result<(), String> {
    println!("==> {description}");
    let status = command
        .current_dir(root())
        .status()
        .map_err(|e| format!("{description}: could not start: {e}"))?;
    checked(description, status)
}

fn checked(description: &str, status: ExitStatus) -> Result<(), String> {
    if status.success() {
        Ok(())
    } else {
        Err(format!("{description}: failed ({status})"))
    }
}

/// Cargo's own rule: CARGO_TARGET_DIR when set (a target folder shared by worktrees).
fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| root().join("target"), PathBuf::from)
}

fn cargo() -> Command {
    Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
}

/// The page built into `dist/`.
struct Built {
    dist: PathBuf,
    /// `archlab_bg.wasm`'s bytes, gzipped at the best compression.
    wasm_gzipped: usize,
}

/// Builds the page into `dist/` and prints the wasm size, raw and gzipped.
fn build() -> Result<Built, String> {
    finish_build(start_build(None)?)
}

/// The release wasm build, started: cargo as a child process, its output on the terminal or,
/// while other checks run beside it, in `log`.
struct Building {
    cargo: Child,
    log: Option<PathBuf>,
}

const BUILD_DESCRIPTION: &str = "cargo build (wasm32, release)";

fn start_build(log: Option<PathBuf>) -> Result<Building, String> {
    setup::wasm_target()?;
    println!("==> {BUILD_DESCRIPTION}");
    let mut command = cargo();
    command
        .args(["build", "--release", "--lib", "-p", "archlab", "--target"])
        .arg(WASM_TARGET)
        .current_dir(root());
    if let Some(log) = &log {
        println!(
            "    (beside the other checks; its output goes to {})",
            log.display()
        );
        let file = File::create(log).map_err(|e| format!("creating {}: {e}", log.display()))?;
        let copy = file.try_clone().map_err(|e| e.to_string())?;
        command.stdout(Stdio::from(file)).stderr(Stdio::from(copy));
    }
    let cargo = command
        .spawn()
        .map_err(|e| format!("{BUILD_DESCRIPTION}: could not start: {e}"))?;
    Ok(Building { cargo, log })
}

/// Waits for the wasm build, then runs wasm-bindgen and copies the page's files into `dist/`.
fn finish_build(mut building: Building) -> Result<Built, String> {
    let status = building.cargo.wait().map_err(|e| e.to_string())?;
    if let (false, Some(log)) = (status.success(), &building.log) {
        println!("{}", std::fs::read_to_string(log).unwrap_or_default());
    }
    checked(BUILD_DESCRIPTION, status)?;
    let root = root();
    let dist = root.join("dist");
    if dist.exists() {
        std::fs::remove_dir_all(&dist).map_err(|e| format!("clearing dist/: {e}"))?;
    }
    std::fs::create_dir_all(&dist).map_err(|e| format!("creating dist/: {e}"))?;
    let input = target_dir()
        .join(WASM_TARGET)
        .join("release")
        .join("archlab.wasm");
    wasm_bindgen_cli_support::Bindgen::new()
        .input_path(&input)
        .web(true)
        .and_then(|b| {
            b.typescript(false)
                .omit_default_module_path(false)
                .remove_name_section(true)
                .generate(&dist)
        })
        .map_err(|e| format!("wasm-bindgen: {e}"))?;
    std::fs::copy(root.join("index.html"), dist.join("index.html"))
        .map_err(|e| format!("copying index.html: {e}"))?;
    // The built-in corpus, fetched by the page (ui::builtin_text) rather than compiled in, and
    // gzipped: the browser decodes gzip natively.
    let corpus = std::fs::read(root.join("data/tinyshakespeare.txt"))
        .map_err(|e| format!("reading data/tinyshakespeare.txt: {e}"))?;
    std::fs::write(dist.join("tinyshakespeare.txt.gz"), gzipped(&corpus))
        .map_err(|e| format!("writing dist/tinyshakespeare.txt.gz: {e}"))?;
    for entry in std::fs::read_dir(root.join("www")).map_err(|e| format!("reading www/: {e}"))? {
        let path = entry.map_err(|e| e.to_string())?.path();
        if path.is_file() {
            std::fs::copy(&path, dist.join(path.file_name().unwrap()))
                .map_err(|e| format!("copying {}: {e}", path.display()))?;
        }
    }
    let wasm = std::fs::read(dist.join("archlab_bg.wasm")).map_err(|e| e.to_string())?;
    let wasm_gzipped = gzipped(&wasm).len();
    println!(
        "dist/: archlab_bg.wasm {} KiB, {} KiB gzipped ({wasm_gzipped} bytes; the budget is \
         {WASM_GZIPPED_BUDGET})",
        wasm.len() / 1024,
        wasm_gzipped / 1024
    );
    Ok(Built { dist, wasm_gzipped })
}

/// Refuses a page whose wasm is over [`WASM_GZIPPED_BUDGET`] gzipped, with the numbers.
fn within_budget(wasm_gzipped: usize) -> Result<(), String> {
    if wasm_gzipped <= WASM_GZIPPED_BUDGET {
        return Ok(());
    }
    Err(format!(
        "dist/archlab_bg.wasm is {wasm_gzipped} bytes gzipped, over the budget of \
         {WASM_GZIPPED_BUDGET} (issue 14 item 11: the page's wasm at most 1.5 MB gzipped)"
    ))
}

fn gzipped(bytes: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    encoder.write_all(bytes).expect("writing to memory");
    encoder.finish().expect("writing to memory")
}

fn serve(args: &[String]) -> Result<(), String> {
    let port = match args {
        [] => 8080,
        [flag, port] if flag == "--port" => port.parse().map_err(|_| format!("bad port {port}"))?,
        _ => return Err("usage: cargo xtask serve [--port N]".into()),
    };
    let dist = build()?.dist;
    let server = serve::Server::bind(&dist, port)?;
    println!(
        "archlab: serving {} on http://{}/ (Ctrl-C stops)",
        dist.display(),
        server.address()
    );
    server.run_forever();
    Ok(())
}

/// Runs the fuzz targets with `--cases N` cases each (`PROPTEST_CASES`, which also makes the
/// seed random, so each long run explores new inputs) and prints the time taken.
fn fuzz(args: &[String]) -> Result<(), String> {
    let cases: u32 = match args {
        [] => 20_000,
        [flag, n] if flag == "--cases" => n.parse().map_err(|_| format!("bad case count {n}"))?,
        _ => return Err("usage: cargo xtask fuzz [--cases N]".into()),
    };
    let started = Instant::now();
    run(
        &format!("cargo test --test integration fuzz ({cases} cases per target)"),
        cargo()
            .args(["test", "-p", "archlab", "--test", "integration", "fuzz::"])
            .env("PROPTEST_CASES", cases.to_string()),
    )?;
    println!(
        "xtask fuzz: {cases} cases per target passed in {:.0} s",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// One check of `cargo xtask test`.
type Check = dyn Fn() -> Result<(), String>;

fn test() -> Result<(), String> {
    let started = Instant::now();
    // A full run from a clean clone gains nothing from incremental caches, and they cost
    // over a gigabyte of the CI machine's disk.
    std::env::set_var("CARGO_INCREMENTAL", "0");
    setup::test_dependencies()?;
    let mut passed = 0;
    let mut check = |name: &str, result: Result<(), String>| {
        let at = started.elapsed().as_secs_f64();
        match result {
            Ok(()) => {
                passed += 1;
                println!("xtask test: {name} passed ({at:.0} s from the start)");
                Ok(())
            }
            Err(message) => {
                println!("xtask test: {name} failed after {at:.0} s");
                println!("checks: {passed} passed, 1 failed");
                Err(message)
            }
        }
    };
    check(
        "format",
        run(
            "cargo fmt --check",
            cargo().args(["fmt", "--all", "--check"]),
        ),
    )?;
    // The release wasm build is mostly one core's work (its last minutes are the archlab crate
    // at codegen-units = 1 and LTO), so it runs beside clippy and cargo test; cargo's locks
    // are per profile folder, and these use target/debug while it uses the release folders.
    let mut building = start_build(Some(target_dir().join("page-build.log")))?;
    let beside_the_build: [(&str, &Check); 3] = [
        ("clippy native", &|| {
            run(
                "cargo clippy (native)",
                cargo().args([
                    "clippy",
                    "--workspace",
                    "--all-targets",
                    "--",
                    "-D",
                    "warnings",
                ]),
            )
        }),
        ("clippy wasm32", &|| {
            run(
                "cargo clippy (wasm32)",
                cargo().args([
                    "clippy",
                    "-p",
                    "archlab",
                    "--all-targets",
                    "--target",
                    WASM_TARGET,
                    "--",
                    "-D",
                    "warnings",
                ]),
            )
        }),
        ("cargo test", &|| {
            run(
                "cargo test (GPU tests on the first adapter, required)",
                cargo()
                    .args(["test", "--workspace"])
                    .env("REQUIRE_GPU", "1")
                    .env("XDG_RUNTIME_DIR", std::env::temp_dir()),
            )
        }),
    ];
    for (name, step) in beside_the_build {
        if let Err(failed) = check(name, step()) {
            // Already ended is not an error here: the check's failure is what counts.
            let _ = building.cargo.kill();
            let _ = building.cargo.wait();
            return Err(failed);
        }
    }
    check(
        "release build within the size budget",
        finish_build(building).and_then(|built| within_budget(built.wasm_gzipped)),
    )?;
    check("browser tests", browser_tests())?;
    println!(
        "xtask test: every check passed in {:.0} s",
        started.elapsed().as_secs_f64()
    );
    println!("checks: {passed} passed, 0 failed");
    Ok(())
}

/// Serves `dist/` on a free port and runs the node test files in `tests/browser/` against it.
fn browser_tests() -> Result<(), String> {
    let mut test_files: Vec<PathBuf> = std::fs::read_dir(root().join("tests/browser"))
        .map_err(|e| format!("reading tests/browser: {e}"))?
        .flatten()
        .map(|entry| entry.path())
        .filter(|path| path.to_string_lossy().ends_with(".test.mjs"))
        .collect();
    test_files.sort();
    run(
        "browser tests (headless Chromium, SwiftShader WebGPU)",
        // Two files at a time: each launches its own Chromium with its own profile, and one
        // file's waits (page loads, polling) leave a core to the other: 367 s against 478-499
        // s one at a time, on two cores.
        Command::new("node")
            .args(["--test", "--test-concurrency=2"])
            .args(&test_files)
            .envs(serve_for_browser()?),
    )
}

/// Builds the page and prints how fast it starts and trains in headless Chromium on
/// SwiftShader (`tests/browser/page_bench.mjs`): time to the first step, steps/s and the
/// longest main-thread task before the first step, for the tiny and the default model on
/// each engine. With `--experiments` instead, how long each lecture experiment (or those
/// `--only` names) takes in the page on its CPU engine, from the click to the verdict
/// (`tests/browser/experiment_bench.mjs`), written into docs/experiments.md's page timings.
fn page_bench(args: &[String]) -> Result<(), String> {
    let usage = "usage: cargo xtask page-bench [--experiments [--only NAME,NAME]]";
    let doc = root()
        .join("docs/experiments.md")
        .to_string_lossy()
        .into_owned();
    let (script, mut settings) = match args {
        [] => ("page_bench.mjs", vec![]),
        [flag, rest @ ..] if flag == "--experiments" => {
            let mut settings = vec![("ARCHLAB_EXPERIMENT_BENCH_DOC", doc)];
            match rest {
                [] => {}
                [only, names] if only == "--only" => {
                    settings.push(("ARCHLAB_EXPERIMENT_BENCH_ONLY", names.clone()))
                }
                _ => return Err(usage.into()),
            }
            ("experiment_bench.mjs", settings)
        }
        _ => return Err(usage.into()),
    };
    build()?;
    settings.extend(serve_for_browser()?);
    run(
        &format!("tests/browser/{script} (headless Chromium)"),
        Command::new("node")
            .arg(Path::new("tests/browser").join(script))
            .envs(settings),
    )
}

/// Serves `dist/` on a free port for as long as xtask runs; the environment the browser
/// scripts read: the page's address, where screenshots go, and the browser.
fn serve_for_browser() -> Result<[(&'static str, String); 3], String> {
    let root = root();
    let server = serve::Server::bind(&root.join("dist"), 0)?;
    let url = format!("http://{}/", server.address());
    std::thread::spawn(move || server.run_forever());
    let output = root.join("test-output");
    std::fs::create_dir_all(&output).map_err(|e| e.to_string())?;
    Ok([
        ("ARCHLAB_URL", url),
        ("ARCHLAB_OUTPUT", output.to_string_lossy().into_owned()),
        ("CHROMIUM", setup::chromium()?.to_string()),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_wasm_over_the_budget_fails_the_checks_with_the_numbers() {
        assert_eq!(within_budget(1_500_000), Ok(()));
        assert_eq!(
            within_budget(1_500_001),
            Err(
                "dist/archlab_bg.wasm is 1500001 bytes gzipped, over the budget of 1500000 \
                 (issue 14 item 11: the page's wasm at most 1.5 MB gzipped)"
                    .into()
            )
        );
    }
}
