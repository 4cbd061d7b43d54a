//! Memory over a session of runs: only the newest run keeps its engine (parameters, gradients,
//! AdamW moments, activations; GPU buffers on WebGPU), which it needs to train, to be saved
//! (the checkpoints panel saves the newest run) and to be reset from a checkpoint. Older runs
//! keep their history, examples and samples for the charts: about 7 MB of engine per stopped
//! run at the page's CPU scale stayed alive before (issue 13).

use super::Lab;
use crate::train::session::RunStatus;

impl Lab {
    /// Frees the engine of every run but the newest. An older run cannot train again: even when
    /// the newest is removed, the one before it stays where it stopped.
    pub(super) fn release_engines(&mut self) {
        let older = self.runs.len().saturating_sub(1);
        for run in &mut self.runs[..older] {
            run.engine = None;
            // Without an engine it trains no more: say so, rather than "step 88 of 2000".
            if run.session.status == RunStatus::Training {
                run.session.halt();
            }
        }
    }

    /// Runs whose engine is still alive (at most one: the newest); what the memory tests watch.
    pub fn engines_alive(&self) -> usize {
        self.runs.iter().filter(|r| r.engine.is_some()).count()
    }
}

#[cfg(test)]
mod tests {
    use crate::cpu::wasm_budget;
    use crate::gpu::gpu_budget;
    use crate::lab::tests::{clock, settings};
    use crate::lab::{export, page_defaults, views, Lab, CPU_SCALE};
    use crate::train::run::RunConfig;
    use crate::train::session::RunStatus;

    /// Issue 13: `?model.d_model=100000` panicked with "capacity overflow" and left a dead
    /// page; now the page opens with no run and the reason next to the control.
    #[test]
    fn huge_url_values_are_refused_next_to_their_control_without_panicking() {
        for (key, value) in [
            ("model.d_model", "100000"),
            ("model.n_layers", "100000"),
            ("model.context_len", "1000000"),
        ] {
            let lab = Lab::new(page_defaults(), &settings(&[(key, value)]), None);
            assert!(lab.runs.is_empty(), "{key}: no run starts");
            let error = lab.error_for(key).unwrap_or_else(|| {
                panic!(
                    "{key}: the error sits next to its control: {:?}",
                    lab.problem
                )
            });
            assert!(
                error.starts_with("needs ") && error.contains("than the CPU engine"),
                "{key}: {error}"
            );
        }
    }

    /// The page's own budgets, whatever this machine has: `?model.n_layers=5000` (which killed
    /// the tab) is refused by WebAssembly's 4 GiB on the CPU engine and by WebGPU's default
    /// buffer limits on the GPU engine; the page's defaults fit both.
    #[test]
    fn the_pages_budgets_refuse_what_killed_the_tab() {
        let mut cpu = page_defaults();
        for (key, value) in CPU_SCALE {
            cpu.set(key, value).unwrap();
        }
        let gpu = page_defaults();
        let gpu_budget = gpu_budget(&wgpu::Limits::default());
        assert_eq!(cpu.check_memory(&wasm_budget()), Ok(()));
        assert_eq!(gpu.check_memory(&gpu_budget), Ok(()));
        for (run, budget) in [(cpu, wasm_budget()), (gpu, gpu_budget)] {
            let mut deep: RunConfig = run.clone();
            deep.set("model.n_layers", "5000").unwrap();
            let error = deep.check_memory(&budget).expect_err("refused");
            assert_eq!(error.field, "model.n_layers", "{error}");
        }
    }

    /// A GPU with small (fake) limits refuses the page's defaults by its largest buffer,
    /// naming the limit.
    #[test]
    fn a_small_device_limit_refuses_by_its_largest_buffer() {
        let limits = wgpu::Limits {
            max_buffer_size: 1 << 20,
            max_storage_buffer_binding_size: 1 << 20,
            ..wgpu::Limits::default()
        };
        let error = page_defaults()
            .check_memory(&gpu_budget(&limits))
            .expect_err("refused");
        assert!(
            error.reason.contains("largest buffer needs")
                && error.reason.contains("max_buffer_size 1.00 MiB"),
            "{error}"
        );
    }

    /// Thirty runs in a row (each superseding the last, as a changed control does) keep one
    /// engine alive, the newest, and every run's history.
    #[test]
    fn runs_in_a_row_keep_one_engine_and_every_history() {
        let mut lab = Lab::new(page_defaults(), &[], None);
        let now = clock();
        for i in 0..30 {
            if i > 0 {
                assert!(lab.change("train.seed", &i.to_string()), "run {i} starts");
            }
            assert!(lab.train(1.0, &now) > 0);
            assert_eq!(lab.engines_alive(), 1, "after run {i}");
            assert!(
                lab.runs.last().unwrap().checkpoint().is_some(),
                "newest saves"
            );
        }
        assert_eq!(lab.runs.len(), 30);
        assert!(lab.runs.iter().all(|r| !r.session.history.is_empty()));
        // Issue 14: a superseded run says where it stopped, not "step 88 of 2000", and exports
        // that status.
        let first = &lab.runs[0];
        let steps = first.session.steps_done();
        assert_eq!(first.session.status, RunStatus::Halted { step: steps });
        assert_eq!(
            views::status_text(first, &crate::lab::page_text::ENGLISH.status),
            format!("stopped at step {steps}")
        );
        let exported: serde_json::Value =
            serde_json::from_str(&export::run_json(first)).expect("JSON");
        assert_eq!(exported["status"]["halted"]["step"], steps);
        // The runs before the newest stay where they stopped, even with the newest removed.
        let newest = lab.newest_id().unwrap();
        lab.remove(newest);
        assert!(lab.training_run().is_none());
        assert_eq!(lab.train(1.0, &now), 0);
    }
}
