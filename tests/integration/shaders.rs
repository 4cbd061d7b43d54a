//! Every WGSL file under `shaders/` parses and validates with naga, the compiler wgpu uses, so a
//! shader error fails `cargo test` before any GPU is involved.

use std::path::Path;

#[test]
fn every_shader_validates() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("shaders");
    let mut count = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().and_then(|e| e.to_str()) != Some("wgsl") {
            continue;
        }
        let source = std::fs::read_to_string(&path).unwrap();
        let module = naga::front::wgsl::parse_str(&source).unwrap_or_else(|e| {
            panic!(
                "{}",
                e.emit_to_string_with_path(&source, &path.display().to_string())
            )
        });
        naga::valid::Validator::new(
            naga::valid::ValidationFlags::all(),
            naga::valid::Capabilities::empty(),
        )
        .validate(&module)
        .unwrap_or_else(|e| {
            panic!(
                "{}",
                e.emit_to_string_with_path(&source, &path.display().to_string())
            )
        });
        count += 1;
    }
    assert!(count > 0, "no .wgsl files found in {}", dir.display());
}

/// The shader registry compiled into the binary names every file in `shaders/`, so none is
/// validated here but forgotten by the engine.
#[test]
fn registry_lists_every_shader_file() {
    use archlab::gpu::shaders::Shader;
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("shaders");
    let mut files: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.ends_with(".wgsl"))
        .collect();
    files.sort();
    let mut registered: Vec<String> = Shader::ALL.iter().map(|s| s.name().to_string()).collect();
    registered.sort();
    assert_eq!(files, registered);
}
