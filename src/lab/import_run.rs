//! A run JSON the page exported (`lab::export`) opened again as a run on the charts: its
//! curves compare across runs like any other's, its name says it was imported, and it has no
//! engine (a run JSON holds no parameters), so it trains no further.

use serde::Deserialize;

use super::store::{check_history, StoreError};
use super::{engine, Lab, RunEntry};
use crate::train::run::RunConfig;
use crate::train::session::{RunStatus, Session, StepRecord};

/// What `export::run_json` writes.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RunFile {
    name: String,
    status: RunStatus,
    config: RunConfig,
    metrics: Vec<StepRecord>,
}

impl Lab {
    /// Adds the run JSON `bytes` as the newest run, "imported run 3: +QK-norm", stopped where
    /// its history ends (the run before it stops, as when any new run starts); returns its
    /// name. Refused, with the reason, when the file is not a run JSON of the page (cut,
    /// edited, of another format), its configuration does not validate or fit this engine's
    /// memory, its history skips a step, or its data cannot be built; the page then stays as
    /// it was.
    pub fn import_run(&mut self, bytes: &[u8]) -> Result<String, StoreError> {
        let refused = |reason: String| StoreError(format!("the run JSON: {reason}"));
        let text =
            std::str::from_utf8(bytes).map_err(|_| refused("it is not text (UTF-8)".into()))?;
        let file: RunFile = serde_json::from_str(text).map_err(|e| {
            refused(format!(
                "it does not fit the format of the page's run JSON ({e})"
            ))
        })?;
        let first_step = file.metrics.first().map_or(0, |record| record.step);
        check_history(&file.config, first_step, &file.metrics).map_err(refused)?;
        // Its validation batches are allocated without an engine: bounded like an engine's.
        (file.config)
            .check_memory(&engine::memory_budget(self.gpu.as_ref()))
            .map_err(|e| refused(e.to_string()))?;
        let data = self
            .data_for(&file.config)
            .map_err(|e| refused(format!("its data cannot be built: {e}")))?;
        let steps = first_step + file.metrics.len();
        let mut session = Session::resume(file.config.clone(), data, steps);
        session.first_step = first_step;
        session.history = file.metrics;
        session.status = match file.status {
            // Without parameters it cannot go on.
            RunStatus::Training => RunStatus::Halted { step: steps },
            status => status,
        };
        // As the visitor would set it: the data sets the vocabulary.
        let mut requested = file.config;
        requested.model.vocab_size = self.defaults.model.vocab_size;
        let label = format!("imported {}", file.name);
        let entry = RunEntry::new(self.next_id, label, requested, session);
        let name = entry.name(crate::lab::i18n::Lang::En);
        self.next_id += 1;
        self.runs.push(entry);
        self.release_engines();
        Ok(name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lab::export::run_json;
    use crate::lab::page_defaults;
    use crate::lab::tests::{clock, settings};

    fn trained(steps: &str) -> Lab {
        let mut lab = Lab::new(page_defaults(), &settings(&[("train.steps", steps)]), None);
        lab.change("model.qk_norm", "true");
        let now = clock();
        while lab.train(1.0, &now) > 0 {}
        lab
    }

    #[test]
    fn an_exported_run_opens_again_as_an_imported_run_without_an_engine() {
        let lab = trained("4");
        let json = run_json(&lab.runs[1]);
        let mut page = Lab::new(page_defaults(), &settings(&[("train.steps", "50")]), None);
        page.train(0.0, &clock());
        let name = page.import_run(json.as_bytes()).unwrap();
        assert_eq!(name, "run 2: imported run 2: +QK-norm");
        let (imported, original) = (&page.runs[1], &lab.runs[1]);
        assert_eq!(imported.name(crate::lab::i18n::Lang::En), name);
        assert_eq!(
            format!("{:?}", imported.session.history),
            format!("{:?}", original.session.history),
            "every step's record"
        );
        assert_eq!(imported.session.run, original.session.run);
        assert_eq!(imported.session.status, RunStatus::Finished);
        assert!(imported.engine.is_none() && page.training_run().is_none());
        assert_eq!(
            page.runs[0].session.status,
            RunStatus::Halted { step: 1 },
            "the run before stops, as when any run starts"
        );
        // Its curve is on the across-run charts.
        let lines = crate::lab::across_runs::layer_lines(
            &page,
            crate::lab::across_runs::LayerPick::Last,
            crate::lab::across_runs::residual_rms,
        );
        assert_eq!(
            lines.iter().map(|l| l.points.len()).collect::<Vec<_>>(),
            [1, 4]
        );
        // A run exported while it trained comes back stopped where it stood.
        let mut training = trained("50");
        training.change("train.lr", "0.01");
        training.train(0.0, &clock());
        let json = run_json(training.runs.last().unwrap());
        page.import_run(json.as_bytes()).unwrap();
        assert_eq!(
            page.runs.last().unwrap().session.status,
            RunStatus::Halted { step: 1 }
        );
    }

    #[test]
    fn a_bad_run_json_is_refused_with_the_reason_and_changes_nothing() {
        let lab = trained("3");
        let json = run_json(&lab.runs[1]);
        let mut page = Lab::new(page_defaults(), &[], None);
        let mut refused = |bytes: &[u8]| {
            let before: Vec<String> = page
                .runs
                .iter()
                .map(|r| r.name(crate::lab::i18n::Lang::En))
                .collect();
            let reason = page.import_run(bytes).expect_err("refused").0;
            let after: Vec<String> = page
                .runs
                .iter()
                .map(|r| r.name(crate::lab::i18n::Lang::En))
                .collect();
            assert_eq!(after, before, "{reason}: nothing changes");
            assert!(
                page.training_run().is_some(),
                "{reason}: the run still trains"
            );
            reason
        };
        assert_eq!(refused(b"\xff"), "the run JSON: it is not text (UTF-8)");
        let missing = refused(json.replace("\"metrics\"", "\"steps\"").as_bytes());
        assert!(
            missing.starts_with("the run JSON: it does not fit the format of the page's run JSON"),
            "{missing}"
        );
        let gap = json.replacen("\"step\": 1,", "\"step\": 7,", 1);
        assert_eq!(
            refused(gap.as_bytes()),
            "the run JSON: its history has step 7 where step 1 belongs"
        );
        let heads = json.replace("\"n_kv_heads\": 4", "\"n_kv_heads\": 3");
        assert!(refused(heads.as_bytes()).starts_with("the run JSON: model.n_kv_heads"));
        let text = json.replace("\"type\": \"corpus\"", "\"type\": \"text\"");
        // Found by fuzzing: a huge batch allocated its validation batches (12.8 TB) and aborted.
        let huge = json.replace("\"batch_size\": 8", "\"batch_size\": 800000000000");
        let reason = refused(huge.as_bytes());
        assert!(
            reason.starts_with("the run JSON: ") && reason.contains("more than"),
            "{reason}"
        );
        let reason = refused(text.as_bytes());
        assert!(
            reason.starts_with("the run JSON: its data cannot be built: "),
            "{reason}"
        );
        for cut in (0..json.len()).step_by(61) {
            assert!(refused(&json.as_bytes()[..cut]).starts_with("the run JSON: "));
        }
    }
}
