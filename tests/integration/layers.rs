//! The arrow of ARCHITECTURE.md, enforced: each layer of `src/` imports only the layers beneath
//! it. `model` is what a model is; `contract` the engine contract beneath both engines; `cpu`
//! and `gpu` the engines (neither imports the other, nor `train`, `lab`, `ui` or the command
//! line); `train` drives any engine through the contract; `checkpoint` stores runs; `lab` is
//! the page's logic; `ui` and the command line sit on top. Test modules (from `#[cfg(test)]`
//! on) are not part of the arrow.

use std::path::Path;

/// What each layer may import besides itself.
const ALLOWED: [(&str, &[&str]); 8] = [
    ("model", &[]),
    ("contract", &["model"]),
    ("cpu", &["model", "contract"]),
    ("gpu", &["model", "contract"]),
    ("train", &["model", "contract"]),
    ("checkpoint", &["model", "contract", "train"]),
    ("charts", &["model"]),
    (
        "lab",
        &[
            "model",
            "contract",
            "cpu",
            "gpu",
            "train",
            "checkpoint",
            "charts",
        ],
    ),
];

/// The layers a piece of code names through `crate::<layer>`.
fn named_layers(code: &str) -> Vec<&str> {
    code.match_indices("crate::")
        .map(|(at, _)| {
            let rest = &code[at + "crate::".len()..];
            let end = rest
                .find(|c: char| !(c.is_alphanumeric() || c == '_'))
                .unwrap_or(rest.len());
            &rest[..end]
        })
        .collect()
}

/// Imports of `code` (a file of `layer`) against the arrow.
fn violations(layer: &str, code: &str) -> Vec<String> {
    let Some((_, allowed)) = ALLOWED.iter().find(|(name, _)| *name == layer) else {
        return Vec::new(); // ui: the top of the page, may import every layer
    };
    let code = code.split("#[cfg(test)]").next().unwrap_or_default();
    named_layers(code)
        .into_iter()
        .filter(|named| *named != layer && !allowed.contains(named))
        .map(|named| format!("{layer} imports {named}"))
        .collect()
}

/// Every `.rs` file under `dir`.
fn rust_files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

#[test]
fn no_layer_imports_against_the_arrow() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let mut problems = Vec::new();
    let mut checked = 0;
    for path in &files {
        let relative = path.strip_prefix(&src).unwrap();
        let first = relative.components().next().unwrap().as_os_str();
        let layer = first.to_str().unwrap().trim_end_matches(".rs");
        if matches!(layer, "lib" | "bin" | "ui") {
            continue; // the crate root and the two tops
        }
        assert!(
            ALLOWED.iter().any(|(name, _)| *name == layer),
            "{}: a layer the arrow does not place",
            relative.display()
        );
        checked += 1;
        let code = std::fs::read_to_string(path).unwrap();
        problems.extend(
            violations(layer, &code)
                .into_iter()
                .map(|v| format!("{}: {v}", relative.display())),
        );
    }
    assert!(checked > 50, "only {checked} files read");
    assert!(problems.is_empty(), "{problems:#?}");
}

#[test]
fn the_scanner_sees_a_forbidden_import() {
    let code = "use crate::model::ModelConfig;\nuse crate::train::TrainConfig;\nfn f() { crate::lab::x(); }\n#[cfg(test)]\nmod tests { use crate::ui::y; }";
    assert_eq!(
        violations("cpu", code),
        ["cpu imports train", "cpu imports lab"]
    );
    assert!(violations("lab", code).is_empty());
}
