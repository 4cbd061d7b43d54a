//! What an experiment claims, and the verdict on it computed from the numbers by one stated rule
//! (never written by hand). A claim compares two variants on one number: the final validation
//! loss, or a cost (parameters, FLOPs, KV-cache bytes) or a stability measure (largest attention
//! logit). Each variant trains over several seeds; the rule weighs the difference of the means
//! against the spread over seeds.

use std::fmt;

/// The number a claim is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Metric {
    /// Final validation loss, the last evaluation's, in the experiment's unit
    /// (`experiments::LossUnit`: nats per token, or bits per character across tokenizers).
    ValLoss,
    /// Largest attention logit over the layers, at the last step.
    MaxAttentionLogit,
    /// Parameters (a function of the configuration: no spread).
    Parameters,
    /// Training FLOPs per token (from the configuration).
    FlopsPerToken,
    /// KV-cache bytes per generated token (from the configuration).
    KvBytes,
}

impl Metric {
    /// How the report names it.
    pub fn name(self) -> &'static str {
        match self {
            Metric::ValLoss => "final validation loss",
            Metric::MaxAttentionLogit => "largest attention logit",
            Metric::Parameters => "parameters",
            Metric::FlopsPerToken => "FLOPs per token",
            Metric::KvBytes => "KV-cache bytes per token",
        }
    }

    /// "has ... than": "a lower final validation loss", "fewer parameters".
    pub fn comparative(self) -> String {
        match self {
            Metric::ValLoss | Metric::MaxAttentionLogit => format!("a lower {}", self.name()),
            Metric::Parameters | Metric::FlopsPerToken | Metric::KvBytes => {
                format!("fewer {}", self.name())
            }
        }
    }

    /// Whether the number follows from the configuration alone (the same on every seed).
    pub fn from_configuration(self) -> bool {
        matches!(
            self,
            Metric::Parameters | Metric::FlopsPerToken | Metric::KvBytes
        )
    }
}

/// One claim of an experiment about two of its variants (by label).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Claim {
    /// `better` has the lower `metric`.
    Lower {
        metric: Metric,
        better: &'static str,
        worse: &'static str,
    },
    /// `a` and `b` do not differ in `metric` by more than the seed spread.
    Similar {
        metric: Metric,
        a: &'static str,
        b: &'static str,
    },
}

impl Claim {
    /// The metric the claim is about.
    pub fn metric(&self) -> Metric {
        match *self {
            Claim::Lower { metric, .. } | Claim::Similar { metric, .. } => metric,
        }
    }

    /// The two variants it compares.
    pub fn labels(&self) -> [&'static str; 2] {
        match *self {
            Claim::Lower { better, worse, .. } => [better, worse],
            Claim::Similar { a, b, .. } => [a, b],
        }
    }
}

impl fmt::Display for Claim {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Claim::Lower {
                metric,
                better,
                worse,
            } => write!(f, "{better} has {} than {worse}", metric.comparative()),
            Claim::Similar { metric, a, b } => {
                write!(f, "{a} and {b} have about the same {}", metric.name())
            }
        }
    }
}

/// One variant's value of a metric over its seeds: `None` for a seed that diverged (or, for
/// a measured metric, never measured it).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Samples(pub Vec<Option<f64>>);

impl Samples {
    /// The finite values.
    pub fn values(&self) -> Vec<f64> {
        self.0
            .iter()
            .flatten()
            .copied()
            .filter(|v| v.is_finite())
            .collect()
    }

    /// Seeds without a finite value.
    pub fn diverged(&self) -> usize {
        self.0.len() - self.values().len()
    }

    /// Mean of the finite values.
    pub fn mean(&self) -> Option<f64> {
        let values = self.values();
        (!values.is_empty()).then(|| values.iter().sum::<f64>() / values.len() as f64)
    }

    /// Max minus min of the finite values (0 for one).
    pub fn spread(&self) -> Option<f64> {
        let values = self.values();
        let max = values.iter().copied().reduce(f64::max)?;
        let min = values.iter().copied().reduce(f64::min)?;
        Some(max - min)
    }

    /// (min, max) of the finite values.
    pub fn range(&self) -> Option<(f64, f64)> {
        let values = self.values();
        Some((
            values.iter().copied().reduce(f64::min)?,
            values.iter().copied().reduce(f64::max)?,
        ))
    }
}

/// The outcome of a claim.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// The difference goes the claimed way and exceeds the spread (or, for `Similar`, stays
    /// within it).
    Held,
    /// The claimed direction, within the spread; or too few seeds to know the spread.
    NotShown,
    /// The other way, beyond the spread (or, for `Similar`, a difference beyond it).
    Contradicted,
    /// A variant diverged on a majority of its seeds.
    Diverged,
}

impl Verdict {
    pub fn word(self) -> &'static str {
        match self {
            Verdict::Held => "held",
            Verdict::NotShown => "not shown at this scale",
            Verdict::Contradicted => "contradicted",
            Verdict::Diverged => "diverged",
        }
    }
}

/// The rule, as the report states it.
pub const RULE: &str = "A variant that diverged on a majority of its seeds makes the verdict \
    'diverged'. Otherwise, with d the difference of the means over the seeds that did not \
    diverge (worse minus better) and s the larger of the two variants' spreads (max minus min \
    over seeds): a lower-is-better claim is 'held' when d > s, 'not shown at this scale' when \
    0 <= d <= s, 'contradicted' when d < -s; a same-value claim is 'held' when |d| <= s and \
    'contradicted' otherwise. A measured number (loss, attention logit) needs two seeds for a \
    spread: with one, every verdict other than 'diverged' is 'not shown at this scale'. \
    Numbers from the configuration (parameters, FLOPs, KV cache) have no spread.";

/// The verdict on `claim` from the samples of its two variants, in [`Claim::labels`] order.
pub fn verdict(claim: &Claim, first: &Samples, second: &Samples) -> Verdict {
    let majority_diverged = |s: &Samples| s.0.is_empty() || 2 * s.diverged() > s.0.len();
    if majority_diverged(first) || majority_diverged(second) {
        return Verdict::Diverged;
    }
    let (Some(m1), Some(m2), Some(s1), Some(s2)) =
        (first.mean(), second.mean(), first.spread(), second.spread())
    else {
        return Verdict::Diverged;
    };
    let measured = !claim.metric().from_configuration();
    if measured && (first.values().len() < 2 || second.values().len() < 2) {
        return Verdict::NotShown;
    }
    let spread = s1.max(s2);
    match claim {
        Claim::Lower { .. } => {
            let d = m2 - m1;
            if d > spread {
                Verdict::Held
            } else if d >= -spread {
                Verdict::NotShown
            } else {
                Verdict::Contradicted
            }
        }
        Claim::Similar { .. } => {
            if (m2 - m1).abs() <= spread {
                Verdict::Held
            } else {
                Verdict::Contradicted
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn samples(values: &[f64]) -> Samples {
        Samples(values.iter().map(|&v| v.is_finite().then_some(v)).collect())
    }

    const LOWER: Claim = Claim::Lower {
        metric: Metric::ValLoss,
        better: "a",
        worse: "b",
    };
    const SIMILAR: Claim = Claim::Similar {
        metric: Metric::ValLoss,
        a: "a",
        b: "b",
    };

    #[test]
    fn lower_claims_on_synthetic_numbers() {
        let better = samples(&[2.0, 2.1, 2.05]);
        // Spread 0.1 each; difference 0.5: held.
        assert_eq!(
            verdict(&LOWER, &better, &samples(&[2.5, 2.6, 2.55])),
            Verdict::Held
        );
        // Difference 0.05 < spread 0.1: not shown.
        assert_eq!(
            verdict(&LOWER, &better, &samples(&[2.1, 2.15, 2.05])),
            Verdict::NotShown
        );
        // The other way beyond the spread: contradicted.
        assert_eq!(
            verdict(&LOWER, &better, &samples(&[1.5, 1.6, 1.55])),
            Verdict::Contradicted
        );
        // The larger spread counts: b's spread 0.6 swallows the difference of 0.4.
        assert_eq!(
            verdict(&LOWER, &better, &samples(&[2.15, 2.75, 2.45])),
            Verdict::NotShown
        );
    }

    #[test]
    fn divergence_on_a_majority_of_seeds_decides() {
        let better = samples(&[2.0, 2.1, 2.05]);
        let nan = f64::NAN;
        assert_eq!(
            verdict(&LOWER, &better, &samples(&[nan, nan, 3.0])),
            Verdict::Diverged
        );
        assert_eq!(
            verdict(&LOWER, &samples(&[nan, 2.0, nan]), &better),
            Verdict::Diverged
        );
        // One diverged seed of three: judged on the other two.
        assert_eq!(
            verdict(&LOWER, &better, &samples(&[nan, 2.6, 2.65])),
            Verdict::Held
        );
    }

    #[test]
    fn one_seed_shows_nothing_for_measured_numbers_but_configuration_numbers_need_none() {
        assert_eq!(
            verdict(&LOWER, &samples(&[2.0]), &samples(&[3.0])),
            Verdict::NotShown
        );
        let kv = Claim::Lower {
            metric: Metric::KvBytes,
            better: "mqa",
            worse: "mha",
        };
        assert_eq!(
            verdict(&kv, &samples(&[64.0]), &samples(&[256.0])),
            Verdict::Held
        );
        assert_eq!(
            verdict(&kv, &samples(&[256.0]), &samples(&[256.0])),
            Verdict::NotShown
        );
    }

    #[test]
    fn similar_claims_hold_within_the_spread() {
        let a = samples(&[2.0, 2.2]);
        assert_eq!(verdict(&SIMILAR, &a, &samples(&[2.1, 2.25])), Verdict::Held);
        assert_eq!(
            verdict(&SIMILAR, &a, &samples(&[2.8, 2.9])),
            Verdict::Contradicted
        );
        assert_eq!(
            verdict(&SIMILAR, &a, &samples(&[f64::NAN, f64::NAN])),
            Verdict::Diverged
        );
    }
}
