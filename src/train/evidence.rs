//! The evidence of an experiment trained in lockstep over seeds, as numbers (shared by
//! `archlab experiment`'s report and the page's results table): per variant the numbers over
//! its seeds, each claim's verdict by the stated rule (`verdict::RULE`), and per-step mean,
//! min and max over seeds for the charts.

use super::experiments::{Experiment, LossUnit};
use super::session::{RunStatus, Session};
use super::verdict::{self, Claim, Metric, Samples, Verdict};

/// One variant's numbers, one entry per seed.
pub struct Variant {
    pub label: String,
    /// The unit its validation loss is compared in (the experiment's).
    pub loss: LossUnit,
    /// Final validation loss (nats per token) of each seed that finished.
    pub val_loss: Samples,
    /// Final validation bits per character of each seed that finished (text data).
    pub val_bpc: Samples,
    /// Largest attention logit over the layers at the last step, of each seed that finished.
    pub max_logit: Samples,
    /// Mean softmax normaliser log Z at the last step, of each seed that finished.
    pub log_z: Samples,
    /// Seeds whose loss became non-finite.
    pub diverged: usize,
    pub seeds: usize,
    pub parameters: u64,
    pub flops_per_token: f64,
    pub kv_bytes: usize,
    /// Mean measured training tokens/s over the seeds.
    pub tokens_per_second: f64,
    /// Per seed: (step, validation loss in `loss`'s unit) of every evaluation.
    pub val_curves: Vec<Vec<(f64, f64)>>,
    /// Per seed: (step, training loss) of every step.
    pub train_curves: Vec<Vec<(f64, f64)>>,
}

impl Variant {
    /// The numbers of `label`'s sessions, one per seed, its loss compared in `loss`.
    pub fn new<'a>(
        label: &str,
        loss: LossUnit,
        sessions: impl Iterator<Item = &'a Session>,
    ) -> Self {
        let sessions: Vec<&Session> = sessions.collect();
        let model = &sessions[0].run.model;
        // Seeds that finished, and so far those still training (the page's table fills while
        // they train); a diverged or stopped seed has no final value.
        let finished = |s: &Session| matches!(s.status, RunStatus::Finished | RunStatus::Training);
        let last = |unit: LossUnit| {
            let samples = sessions.iter().map(|s| {
                let last = s.history.iter().rev().find_map(|r| unit.of(r));
                last.filter(|_| finished(s)).map(f64::from)
            });
            Samples(samples.collect())
        };
        let max_logit = sessions
            .iter()
            .map(|s| {
                let last = s.history.last().filter(|_| finished(s))?;
                let max = last.max_attention_logit.iter().copied().reduce(f32::max)?;
                Some(f64::from(max))
            })
            .collect();
        let log_z = sessions
            .iter()
            .map(|s| {
                let last = s.history.last().filter(|_| finished(s))?;
                Some(f64::from(last.log_z))
            })
            .collect();
        let tokens_per_second = sessions
            .iter()
            .map(|s| s.mean_tokens_per_second())
            .sum::<f64>()
            / sessions.len() as f64;
        Self {
            label: label.to_string(),
            loss,
            val_loss: last(LossUnit::NatsPerToken),
            val_bpc: last(LossUnit::BitsPerCharacter),
            max_logit: Samples(max_logit),
            log_z: Samples(log_z),
            diverged: (sessions.iter())
                .filter(|s| matches!(s.status, RunStatus::Diverged { .. }))
                .count(),
            seeds: sessions.len(),
            parameters: model.param_count().total(),
            flops_per_token: model.flops_per_token(),
            kv_bytes: model.kv_cache_bytes_per_token(),
            tokens_per_second,
            val_curves: (sessions.iter())
                .map(|s| {
                    (s.history.iter())
                        .filter_map(|r| loss.of(r).map(|v| (r.step as f64, f64::from(v))))
                        .collect()
                })
                .collect(),
            train_curves: (sessions.iter())
                .map(|s| {
                    (s.history.iter())
                        .map(|r| (r.step as f64, f64::from(r.loss)))
                        .collect()
                })
                .collect(),
        }
    }

    /// Its samples of `metric`: measured per seed, or the configuration's number on every seed.
    pub fn samples(&self, metric: Metric) -> Samples {
        let constant = |v: f64| Samples(vec![Some(v); self.seeds]);
        match metric {
            Metric::ValLoss => match self.loss {
                LossUnit::NatsPerToken => self.val_loss.clone(),
                LossUnit::BitsPerCharacter => self.val_bpc.clone(),
            },
            Metric::MaxAttentionLogit => self.max_logit.clone(),
            Metric::Parameters => constant(self.parameters as f64),
            Metric::FlopsPerToken => constant(self.flops_per_token),
            Metric::KvBytes => constant(self.kv_bytes as f64),
        }
    }
}

/// One claim judged: the verdict and the numbers it came from, in words.
#[derive(Clone, Debug, PartialEq)]
pub struct Judged {
    pub claim: Claim,
    pub verdict: Verdict,
    /// "RMSNorm 2.0600 vs LayerNorm 2.0680 nats/token: difference 0.0080, largest spread 0.0040".
    pub numbers: String,
}

/// Each of `experiment`'s claims judged on `variants` (by `verdict::verdict`).
pub fn judge(experiment: &Experiment, variants: &[Variant]) -> Vec<Judged> {
    (experiment.claims.iter())
        .map(|claim| {
            let [first, second] = claim.labels().map(|label| {
                variants
                    .iter()
                    .find(|v| v.label == label)
                    .expect("claims name variants (a unit test checks)")
            });
            let metric = claim.metric();
            let (a, b) = (first.samples(metric), second.samples(metric));
            let unit = match metric {
                Metric::ValLoss => format!(" {}", first.loss.name()),
                _ => String::new(),
            };
            let numbers = match (a.mean(), b.mean(), a.spread(), b.spread()) {
                // Numbers of the configuration are whole (bytes, parameters, FLOPs) and exact.
                (Some(ma), Some(mb), _, _) if metric.from_configuration() => format!(
                    "{} {ma:.0} vs {} {mb:.0}: difference {:.0}, no spread (from the configuration)",
                    first.label,
                    second.label,
                    mb - ma
                ),
                (Some(ma), Some(mb), Some(sa), Some(sb)) => format!(
                    "{} {ma:.4} vs {} {mb:.4}{unit}: difference {:.4}, largest spread {:.4}",
                    first.label,
                    second.label,
                    mb - ma,
                    sa.max(sb)
                ),
                _ => "no finite values to compare".to_string(),
            };
            Judged {
                claim: *claim,
                verdict: verdict::verdict(claim, &a, &b),
                numbers,
            }
        })
        .collect()
}

/// Per step, the mean and min and max of `curves` over the seeds that have that step.
pub fn mean_min_max(curves: &[Vec<(f64, f64)>]) -> Vec<(f64, f64, f64, f64)> {
    let longest = curves.iter().map(Vec::len).max().unwrap_or(0);
    (0..longest)
        .filter_map(|i| {
            let points: Vec<(f64, f64)> = curves.iter().filter_map(|c| c.get(i).copied()).collect();
            let x = points.first()?.0;
            let ys: Vec<f64> = points
                .iter()
                .map(|p| p.1)
                .filter(|y| y.is_finite())
                .collect();
            let mean = ys.iter().sum::<f64>() / ys.len() as f64;
            let min = ys.iter().copied().reduce(f64::min)?;
            let max = ys.iter().copied().reduce(f64::max)?;
            Some((x, mean, min, max))
        })
        .collect()
}
