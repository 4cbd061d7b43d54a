//! Installs what the checks need when it is missing: the wasm32 target (rustup), Debian's
//! Chromium, Mesa's lavapipe Vulkan driver and a Chinese font (apt, as root), and the npm
//! packages of the committed lock file. Each step is skipped when its result is already there.

use std::path::Path;
use std::process::Command;

use super::{root, run, WASM_TARGET};

/// Where Debian's chromium package puts the browser.
const CHROMIUM: &str = "/usr/bin/chromium";

/// A small CJK font (1.6 MB, 5 MB installed): without one the Chinese page renders as boxes,
/// in screenshots and in the layout tests' measurements.
const CJK_FONT: &str = "fonts-wqy-microhei";

pub fn wasm_target() -> Result<(), String> {
    let installed = Command::new("rustup")
        .args(["target", "list", "--installed"])
        .output()
        .map_err(|e| format!("rustup is needed to add the {WASM_TARGET} target: {e}"))?;
    if String::from_utf8_lossy(&installed.stdout)
        .lines()
        .any(|line| line.trim() == WASM_TARGET)
    {
        return Ok(());
    }
    run(
        "rustup target add wasm32-unknown-unknown",
        Command::new("rustup").args(["target", "add", WASM_TARGET]),
    )
}

/// Everything `cargo xtask test` needs beyond cargo itself.
pub fn test_dependencies() -> Result<(), String> {
    wasm_target()?;
    let mut packages = Vec::new();
    if !Path::new(CHROMIUM).exists() {
        packages.push("chromium");
    }
    if !has_lavapipe() {
        packages.extend(["mesa-vulkan-drivers", "libvulkan1"]);
    }
    if !has_chinese_font() {
        packages.push(CJK_FONT);
    }
    if Command::new("node").arg("--version").output().is_err() {
        packages.extend(["nodejs", "npm"]);
    }
    if !packages.is_empty() {
        apt_install(&packages)?;
    }
    if !root().join("node_modules/playwright-core").exists() {
        run(
            "npm ci (playwright-core, from package-lock.json)",
            Command::new("npm").args(["ci", "--no-audit", "--no-fund"]),
        )?;
    }
    Ok(())
}

/// The browser for the browser tests.
pub fn chromium() -> Result<&'static str, String> {
    if Path::new(CHROMIUM).exists() {
        Ok(CHROMIUM)
    } else {
        Err(format!("{CHROMIUM} is missing: apt-get install chromium"))
    }
}

/// Mesa's lavapipe registers itself as a Vulkan ICD named `lvp_icd.<arch>.json`.
fn has_lavapipe() -> bool {
    std::fs::read_dir("/usr/share/vulkan/icd.d").is_ok_and(|entries| {
        entries
            .flatten()
            .any(|e| e.file_name().to_string_lossy().starts_with("lvp_icd"))
    })
}

/// Whether fontconfig knows a font that covers Chinese (none, or no fontconfig, counts as no).
fn has_chinese_font() -> bool {
    Command::new("fc-list")
        .arg(":lang=zh")
        .output()
        .is_ok_and(|out| out.status.success() && !out.stdout.is_empty())
}

fn apt_install(packages: &[&str]) -> Result<(), String> {
    let is_root = Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|out| String::from_utf8_lossy(&out.stdout).trim() == "0");
    if !is_root {
        return Err(format!(
            "missing packages; install them with: sudo apt-get install -y {}",
            packages.join(" ")
        ));
    }
    run(
        "apt-get update",
        Command::new("apt-get").args(["update", "-q"]),
    )?;
    run(
        &format!("apt-get install {}", packages.join(" ")),
        Command::new("apt-get")
            .args(["install", "-y", "-q", "--no-install-recommends"])
            .args(packages)
            .env("DEBIAN_FRONTEND", "noninteractive"),
    )
}
