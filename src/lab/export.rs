//! What the page offers for download: a run as JSON (its configuration, status and every step's
//! record) and its metrics as the command line's `metrics.csv` (`train::metrics::csv`).

use serde::Serialize;

use super::i18n::Lang;
use super::RunEntry;
use crate::train::run::RunConfig;
use crate::train::session::{RunStatus, StepRecord};

/// What the JSON download holds. Serialised straight from the run's own values, not through
/// `serde_json::Value`, which widens f32 to f64 (`"lr": 0.003000000026077032`).
#[derive(Serialize)]
struct RunExport<'a> {
    name: String,
    status: RunStatus,
    config: &'a RunConfig,
    metrics: &'a [StepRecord],
}

/// The run as pretty JSON: name, status, the validated configuration (the vocabulary set by
/// the data) and every step's record as `metrics.jsonl` writes it, each float in its shortest
/// form. Non-finite numbers (a diverged run) become null, as JSON has no NaN.
pub fn run_json(run: &RunEntry) -> String {
    let export = RunExport {
        name: run.name(Lang::En),
        status: run.session.status,
        config: &run.session.run,
        metrics: &run.session.history,
    };
    serde_json::to_string_pretty(&export).expect("a run serialises")
}

/// The download's file name: "archlab-run-3.json", "archlab-run-3-metrics.csv".
pub fn file_name(run: &RunEntry, what: &str) -> String {
    format!("archlab-run-{}{what}", run.id)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lab::{page_defaults, Lab};
    use crate::train::metrics;

    #[test]
    fn json_and_csv_hold_every_step() {
        let settings = [("train.steps", "3"), ("train.eval_interval", "2")]
            .map(|(k, v)| (k.to_string(), v.to_string()));
        let mut lab = Lab::new(page_defaults(), &settings, None);
        let t = std::cell::Cell::new(0.0);
        let clock = || {
            t.set(t.get() + 0.001);
            t.get()
        };
        while lab.train(1.0, &clock) > 0 {}
        let run = &lab.runs[0];
        let value: serde_json::Value = serde_json::from_str(&run_json(run)).unwrap();
        assert_eq!(value["name"], run.name(Lang::En));
        assert_eq!(value["status"], "finished");
        assert_eq!(value["config"]["model"]["d_model"], 32);
        assert_eq!(value["config"]["train"]["steps"], 3);
        // Issue 14: short decimals, as the settings were written (3e-3 is an f32).
        assert!(
            run_json(run).contains("\"lr\": 0.003,"),
            "{}",
            run_json(run)
        );
        let records = value["metrics"].as_array().unwrap();
        assert_eq!(records.len(), 3);
        assert_eq!(records[2]["step"], 2);
        assert_eq!(
            records[1]["loss"].as_f64().unwrap() as f32,
            run.session.history[1].loss
        );
        assert!(records[1]["val_loss"].is_null(), "step 1 does not evaluate");
        assert!(records[2]["val_loss"].is_number());

        let csv = metrics::csv(&run.session.history);
        let lines: Vec<&str> = csv.lines().collect();
        assert_eq!(lines.len(), 1 + 3, "a header and one row per step");
        assert!(lines[0].starts_with("step,loss,z_loss,grad_norm,lr,log_z,param_norm,val_loss"));
        assert!(lines[0].ends_with("grad_norm_1"), "two layers");
        assert!(lines[2].starts_with("1,"));
        assert_eq!(file_name(run, ".json"), "archlab-run-1.json");
    }
}
