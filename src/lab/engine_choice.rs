//! Which engine the page trains on: the visitor's choice (`engine=auto|gpu|cpu` in the URL, auto
//! by default) against the WebGPU adapter the browser gave. Auto prefers the CPU engine over a
//! software adapter (SwiftShader, llvmpipe): it runs WebGPU's kernels on the CPU, slower than
//! the CPU engine itself.

use crate::gpu::AdapterSummary;

/// The URL's key for the choice (not a setting of the run: the same run trains on either).
pub const URL_KEY: &str = "engine";

/// What the visitor asked for.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum EngineChoice {
    /// The WebGPU engine on a hardware adapter, else the CPU engine.
    #[default]
    Auto,
    /// The WebGPU engine whenever there is an adapter, software or not.
    Gpu,
    /// The CPU engine.
    Cpu,
}

impl EngineChoice {
    pub const ALL: [EngineChoice; 3] = [Self::Auto, Self::Gpu, Self::Cpu];

    /// The URL's (and the control's) value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Auto => "auto",
            Self::Gpu => "gpu",
            Self::Cpu => "cpu",
        }
    }

    /// The control's label.
    pub fn label(self) -> &'static str {
        match self {
            Self::Auto => "auto",
            Self::Gpu => "WebGPU",
            Self::Cpu => "CPU",
        }
    }

    /// The choice a URL value names, or why it names none.
    pub fn parse(value: &str) -> Result<Self, String> {
        Self::ALL
            .into_iter()
            .find(|choice| choice.as_str() == value)
            .ok_or_else(|| "the engine is auto, gpu or cpu".to_string())
    }
}

/// The engine a choice gives: on the GPU or not, and why, in one sentence for the page.
#[derive(Clone, Debug, PartialEq)]
pub struct Decision {
    pub gpu: bool,
    pub why: String,
}

/// The engine `choice` gives with `adapter` (None: the browser gave no WebGPU adapter).
pub fn decide(choice: EngineChoice, adapter: Option<&AdapterSummary>) -> Decision {
    let cpu = |why: String| Decision { gpu: false, why };
    let gpu = |why: String| Decision { gpu: true, why };
    let Some(adapter) = adapter else {
        return cpu("Training on the CPU engine: this browser gave no WebGPU adapter.".into());
    };
    match (choice, software_renderer(adapter)) {
        (EngineChoice::Cpu, _) => cpu("Training on the CPU engine, as chosen.".into()),
        (EngineChoice::Gpu, Some(renderer)) => gpu(format!(
            "Training on the WebGPU engine, as chosen: this browser's WebGPU is a software \
             renderer ({renderer}), slower than the CPU engine here."
        )),
        (EngineChoice::Gpu, None) => gpu("Training on the WebGPU engine, as chosen.".into()),
        (EngineChoice::Auto, Some(renderer)) => cpu(format!(
            "Training on the CPU engine: this browser's WebGPU is a software renderer \
             ({renderer}), slower than the CPU engine here."
        )),
        (EngineChoice::Auto, None) => gpu("Training on the WebGPU engine, on your GPU.".into()),
    }
}

/// Software renderers by the names their adapters give.
const SOFTWARE_RENDERERS: [&str; 4] = ["SwiftShader", "llvmpipe", "lavapipe", "WARP"];

/// The software renderer behind `adapter`, by name, if it is one: a known name in the adapter's
/// name, else a CPU device type (a browser's fallback adapter) under the name it gives.
pub fn software_renderer(adapter: &AdapterSummary) -> Option<String> {
    let name = adapter.name.to_lowercase();
    let known = SOFTWARE_RENDERERS
        .into_iter()
        .find(|renderer| name.contains(&renderer.to_lowercase()));
    match (known, adapter.is_software) {
        (Some(renderer), _) => Some(renderer.to_string()),
        (None, true) if adapter.name.is_empty() => Some("the browser's fallback adapter".into()),
        (None, true) => Some(adapter.name.clone()),
        (None, false) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auto_prefers_the_cpu_engine_over_a_software_adapter_and_says_why() {
        let swiftshader = AdapterSummary::example("SwiftShader Device (Subzero)", true);
        assert_eq!(
            decide(EngineChoice::Auto, Some(&swiftshader)),
            Decision {
                gpu: false,
                why: "Training on the CPU engine: this browser's WebGPU is a software renderer \
                      (SwiftShader), slower than the CPU engine here."
                    .into()
            }
        );
        // Named but not flagged as a fallback adapter: the name says it.
        assert!(
            !decide(
                EngineChoice::Auto,
                Some(&AdapterSummary::example("llvmpipe (LLVM 15)", false))
            )
            .gpu
        );
        // Flagged without a known name: the flag says it.
        let unnamed = decide(EngineChoice::Auto, Some(&AdapterSummary::example("", true)));
        assert!(!unnamed.gpu);
        assert!(
            unnamed.why.contains("(the browser's fallback adapter)"),
            "{}",
            unnamed.why
        );
    }

    #[test]
    fn auto_takes_a_hardware_adapter_and_every_choice_is_kept() {
        let hardware = AdapterSummary::example("NVIDIA GeForce RTX 4070", false);
        let software = AdapterSummary::example("SwiftShader", true);
        assert!(decide(EngineChoice::Auto, Some(&hardware)).gpu);
        assert!(decide(EngineChoice::Gpu, Some(&software)).gpu);
        assert!(decide(EngineChoice::Gpu, Some(&hardware)).gpu);
        assert!(!decide(EngineChoice::Cpu, Some(&hardware)).gpu);
        for choice in EngineChoice::ALL {
            let none = decide(choice, None);
            assert!(!none.gpu, "{choice:?} without an adapter");
            assert!(none.why.contains("no WebGPU adapter"), "{}", none.why);
        }
    }

    #[test]
    fn choices_round_trip_through_the_url_and_bad_values_are_refused() {
        for choice in EngineChoice::ALL {
            assert_eq!(EngineChoice::parse(choice.as_str()), Ok(choice));
        }
        for bad in ["", "GPU", "webgpu", "cuda"] {
            let error = EngineChoice::parse(bad).unwrap_err();
            assert!(error.contains("auto, gpu or cpu"), "{bad}: {error}");
        }
    }
}
