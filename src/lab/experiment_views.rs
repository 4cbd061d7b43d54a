//! What the page (and `archlab experiment`) show of a lockstep experiment (`lab::lockstep`):
//! its two charts (validation loss as the mean over seeds with a min-max band; each variant's
//! training loss minus the first's), the results table's header and rows, the verdict lines,
//! and its part of the page's test snapshot.

use super::i18n::Lang;
use super::tour_text::fill;
use super::{experiments_text, names_text, page_text, Lab};
use crate::charts::{self, Band, Line};
use crate::model::numbers::{bytes, count};
use crate::train::evidence::{mean_min_max, Judged, Variant};
use crate::train::verdict::Metric;
use serde_json::{json, Value};

/// The results table's header ([`results_rows`]) from its words (`PageText::results_header`),
/// the loss in `unit`.
pub fn results_header(words: &[&str; 10], unit: &str) -> [String; 10] {
    words.map(|word| fill(word, &[("unit", unit)]))
}

/// Per variant its row of the results table, readable: the validation loss (the last
/// evaluation's: final once the seeds end) as mean and min–max over seeds, parameters and
/// FLOPs per token as counts ("209.6 k"), KV-cache bytes per token, measured tokens/s, the
/// largest attention logit and log Z (means over seeds), and seeds diverged ("0 of 2").
pub fn results_rows(lang: Lang, variants: &[Variant]) -> Vec<[String; 10]> {
    let of = page_text::of(lang).seeds_diverged;
    let number =
        |v: Option<f64>, digits: usize| v.map_or("–".into(), |v| format!("{v:.digits$}"));
    (variants.iter())
        .map(|v| {
            let loss = v.samples(Metric::ValLoss);
            let range = loss
                .range()
                .map_or("–".into(), |(lo, hi)| format!("{lo:.3}–{hi:.3}"));
            [
                names_text::name(lang, &v.label),
                number(loss.mean(), 3),
                range,
                count(v.parameters as f64),
                count(v.flops_per_token),
                bytes(v.kv_bytes as f64),
                count(v.tokens_per_second),
                number(v.max_logit.mean(), 2),
                number(v.log_z.mean(), 2),
                fill(
                    of,
                    &[
                        ("n", &v.diverged.to_string()),
                        ("seeds", &v.seeds.to_string()),
                    ],
                ),
            ]
        })
        .collect()
}

/// The experiment for `window.__archlab`: name, banner, seeds, each lane's variant, seed,
/// steps and status, the results table's rows and the verdict lines.
pub fn snapshot(lab: &Lab) -> Value {
    let Some(experiment) = &lab.experiment else {
        return Value::Null;
    };
    let lanes: Vec<Value> = (experiment.lockstep.lanes.iter())
        .map(|lane| {
            json!({
                "variant": experiment.label(lane.variant),
                "seed": lane.seed,
                "steps": lane.session.steps_done(),
                "loss": lane.session.history.iter().map(|r| r.loss).collect::<Vec<_>>(),
                "status": format!("{:?}", lane.session.status),
            })
        })
        .collect();
    let variants = experiment.variants();
    let verdicts: Vec<String> = (experiment.judged().unwrap_or_default().iter())
        .map(|judged| verdict_line(Lang::En, judged))
        .collect();
    json!({
        "name": experiment.experiment.name,
        "sweep": super::sweep::snapshot(experiment),
        "banner": experiment.banner(Lang::En),
        "training": experiment.training(),
        "seeds": experiment.seeds,
        "lanes": lanes,
        "bands": band_chart(&variants).0.iter().map(|b| b.points.len()).collect::<Vec<_>>(),
        "chart_lines": {
            "loss": chart_labels(lab, ExperimentChart::Loss),
            "difference": chart_labels(lab, ExperimentChart::Difference),
        },
        "rows": results_rows(Lang::En, &variants),
        "verdicts": verdicts,
    })
}

/// "Claim: RMSNorm and LayerNorm have about the same final validation loss. Verdict: held
/// (numbers)." in `lang` (the claim and its numbers as `train::evidence` words them).
pub fn verdict_line(lang: Lang, judged: &Judged) -> String {
    let claim = experiments_text::claim(lang, &judged.claim);
    let numbers = names_text::name(lang, &judged.numbers);
    fill(
        page_text::of(lang).verdict_line,
        &[
            ("claim", &claim),
            ("verdict", experiments_text::verdict(lang, judged.verdict)),
            ("numbers", &numbers),
        ],
    )
}

/// The validation loss chart of `variants`: each variant's mean over seeds as a line, its min
/// and max as a band (shared by the page and `archlab experiment`).
pub fn band_chart(variants: &[Variant]) -> (Vec<Band>, Vec<Line>) {
    let mut bands = Vec::new();
    let mut lines = Vec::new();
    for (i, v) in variants.iter().enumerate() {
        let stats = mean_min_max(&v.val_curves);
        if v.seeds > 1 {
            bands.push(Band {
                points: stats.iter().map(|s| (s.0, s.2, s.3)).collect(),
                color: i,
            });
        }
        lines.push(Line {
            label: v.label.to_string(),
            points: stats.iter().map(|s| (s.0, s.1)).collect(),
            color: i,
            faint: false,
            dash: charts::Dash::nth(i, charts::PALETTE.len()),
        });
    }
    (bands, lines)
}

/// The experiment's two charts in the page.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExperimentChart {
    /// The validation loss: each variant's mean over seeds, its min-max band ([`band_chart`]).
    Loss,
    /// Each variant's training loss minus the first variant's ([`difference_lines`]).
    Difference,
}

impl ExperimentChart {
    /// The page's test id of its canvas.
    pub fn testid(self) -> &'static str {
        match self {
            Self::Loss => "chart-experiment-loss",
            Self::Difference => "chart-experiment-difference",
        }
    }
}

/// What `chart` draws in `lang`: title, y label, bands and lines, of the experiment's
/// variants only (issue 14: the visitor's run, another model, was drawn among them).
pub fn experiment_chart(
    lab: &Lab,
    lang: Lang,
    chart: ExperimentChart,
) -> (String, String, Vec<Band>, Vec<Line>) {
    let Some(experiment) = &lab.experiment else {
        return Default::default();
    };
    let words = page_text::of(lang);
    let variants = experiment.variants();
    let (title, y, bands, mut lines) = match chart {
        ExperimentChart::Loss => {
            let (bands, lines) = band_chart(&variants);
            let name = experiment.experiment.name;
            let title = fill(words.experiment_loss, &[("name", name)]);
            let unit = experiments_text::unit(lang, experiment.loss());
            let y = fill(words.experiment_loss_y, &[("unit", unit)]);
            (title, y, bands, lines)
        }
        ExperimentChart::Difference => {
            let first =
                (variants.first()).map_or(String::new(), |v| names_text::name(lang, &v.label));
            let title = fill(words.experiment_difference, &[("first", &first)]);
            let y = words.experiment_difference_y.into();
            (title, y, Vec::new(), difference_lines(&variants))
        }
    };
    names_text::name_lines(lang, &mut lines);
    (title, y, bands, lines)
}

/// The labels of the lines `chart` draws, for the snapshot.
fn chart_labels(lab: &Lab, chart: ExperimentChart) -> Vec<String> {
    let (_, _, _, lines) = experiment_chart(lab, Lang::En, chart);
    lines.into_iter().map(|line| line.label).collect()
}

/// Each variant's mean training loss minus the first variant's, step by step (shared by the
/// page and `archlab experiment`).
pub fn difference_lines(variants: &[Variant]) -> Vec<Line> {
    let Some(first) = variants.first() else {
        return Vec::new();
    };
    let reference = mean_min_max(&first.train_curves);
    (variants.iter().enumerate())
        .map(|(i, v)| Line {
            label: v.label.to_string(),
            points: (mean_min_max(&v.train_curves).iter().zip(&reference))
                .map(|(a, r)| (a.0, a.1 - r.1))
                .collect(),
            color: i,
            faint: false,
            dash: charts::Dash::nth(i, charts::PALETTE.len()),
        })
        .collect()
}

// Natively: the CPU engine's steps complete at once.
#[cfg(test)]
#[cfg(not(target_arch = "wasm32"))]
mod tests {
    use super::*;
    use crate::lab::page_defaults;
    use crate::lab::tests::{clock, settings};

    /// Issue 14: the visitor's run (the page's defaults, another model; in kv-heads the same
    /// model as "MHA") was drawn in every experiment's charts. They hold its variants only.
    #[test]
    fn the_experiments_charts_hold_its_variants_only() {
        let clock = clock();
        let mut lab = Lab::new(page_defaults(), &settings(&[("train.steps", "3")]), None);
        lab.train(1.0, &clock);
        lab.start_experiment("kv-heads").unwrap();
        while lab.experiment_training() {
            lab.train(1.0, &clock);
        }
        let variants: Vec<&str> = (lab.experiment.as_ref().unwrap().experiment.variants.iter())
            .map(|(label, _)| *label)
            .collect();
        for chart in [ExperimentChart::Loss, ExperimentChart::Difference] {
            let (_, _, bands, lines) = experiment_chart(&lab, Lang::En, chart);
            let labels: Vec<&str> = lines.iter().map(|l| l.label.as_str()).collect();
            assert_eq!(labels, variants, "{chart:?}");
            assert!(lines.iter().all(|l| !l.points.is_empty()), "{chart:?}");
            let expected_bands = match chart {
                ExperimentChart::Loss => variants.len(),
                ExperimentChart::Difference => 0,
            };
            assert_eq!(bands.len(), expected_bands, "{chart:?}");
        }
        let snapshot = snapshot(&lab);
        assert_eq!(snapshot["chart_lines"]["loss"], json!(variants));
        assert_eq!(snapshot["chart_lines"]["difference"], json!(variants));
    }
}
