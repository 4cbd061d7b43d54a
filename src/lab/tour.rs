//! The guided tour through the lecture: its stops in the lecture's order, each with the
//! experiment it sets up and the diagram it draws (from the engine's own rules), the stop in
//! the page's URL fragment, and a stop's variants tried one at a time on the page's run. The
//! words are in `super::tour_text`.

use super::fields::GROUPS;
use super::i18n::Lang;
use super::lockstep::named_experiment;
use super::tour_text::{self, fill};
use super::Lab;
use crate::cpu::position::rope_forward;
use crate::model::AttentionPattern;
use crate::train::experiments::Experiment;
use crate::train::run::RunError;

/// What a stop draws.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Diagram {
    /// One block with the norm before each branch, and the same block with it after each sum.
    NormPlace,
    /// The MLP's pointwise functions, as `lab::model_views` computes them.
    Activations,
    /// A serial block and a parallel one.
    SerialParallel,
    /// A 2-D pair rotated by RoPE at successive positions ([`rope_pairs`]).
    Rope,
    /// Causal, sliding-window and sparse masks as T x T grids ([`MASKS`], [`mask`]).
    Masks,
}

/// One stop: its name in the URL, the experiment its button starts, its diagram.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Stop {
    pub slug: &'static str,
    pub experiment: &'static str,
    pub diagram: Option<Diagram>,
}

/// The stops, in the lecture's order (a test checks it against the experiments' sections).
pub const STOPS: [Stop; 8] = [
    Stop {
        slug: "normalization",
        experiment: "norm-position",
        diagram: Some(Diagram::NormPlace),
    },
    Stop {
        slug: "activations",
        experiment: "activation",
        diagram: Some(Diagram::Activations),
    },
    Stop {
        slug: "block-layout",
        experiment: "block",
        diagram: Some(Diagram::SerialParallel),
    },
    Stop {
        slug: "position",
        experiment: "position",
        diagram: Some(Diagram::Rope),
    },
    Stop {
        slug: "shapes",
        experiment: "heads",
        diagram: None,
    },
    Stop {
        slug: "regularization",
        experiment: "weight-decay",
        diagram: None,
    },
    Stop {
        slug: "stability",
        experiment: "stability",
        diagram: None,
    },
    Stop {
        slug: "attention",
        experiment: "attention-pattern",
        diagram: Some(Diagram::Masks),
    },
];

/// "Stop 2 of 8" for stop `index`, in `lang`.
pub fn counter(lang: Lang, index: usize) -> String {
    let (n, total) = ((index + 1).to_string(), STOPS.len().to_string());
    fill(tour_text::of(lang).counter, &[("n", &n), ("total", &total)])
}

/// The controls' group stop `index` is about (an index into `fields::GROUPS`): its
/// experiment's lecture section, which the groups are named after.
pub fn group(index: usize) -> Option<usize> {
    let section = Experiment::named(STOPS[index].experiment)?.section;
    GROUPS.iter().position(|&group| group == section)
}

/// The URL fragment that opens the tour at stop `index`: `#tour=position`.
pub fn fragment(index: usize) -> String {
    format!("#tour={}", STOPS[index].slug)
}

/// The stop a URL fragment names (with or without its `#`); None for any other fragment.
pub fn stop_in(fragment: &str) -> Option<usize> {
    let slug = fragment.trim_start_matches('#').strip_prefix("tour=")?;
    STOPS.iter().position(|stop| stop.slug == slug)
}

/// The masks the attention stop draws, in its panels' order, over a context of [`MASK_SIZE`].
pub const MASKS: [AttentionPattern; 3] = [
    AttentionPattern::Full,
    AttentionPattern::SlidingWindow { window: 4 },
    AttentionPattern::Sparse {
        local: 3,
        stride: 4,
    },
];
pub const MASK_SIZE: usize = 12;

/// `pattern` as rows of queries over columns of keys, by the engines' own visibility rule.
pub fn mask(pattern: AttentionPattern, size: usize) -> Vec<Vec<bool>> {
    (0..size)
        .map(|query| (0..size).map(|key| pattern.visible(query, key)).collect())
        .collect()
}

/// The pair (1, 0) as the CPU engine's RoPE leaves it at positions 0..`positions`: one head
/// of two dimensions, so a single pair turning by one radian per position (theta^0 = 1).
pub fn rope_pairs(positions: usize) -> Vec<(f64, f64)> {
    let mut x: Vec<f64> = [1.0, 0.0].repeat(positions);
    rope_forward(&mut x, positions, 1, 2, 10_000.0);
    x.chunks(2).map(|pair| (pair[0], pair[1])).collect()
}

impl Lab {
    /// Trains variant `index` of experiment `name` as the page's run, configured as the
    /// experiment's lane would be (its settings over this engine's defaults with the
    /// visitor's scale and length), so that presenter mode can step through the variants
    /// one at a time. Returns the variant's label.
    pub fn show_variant(&mut self, name: &str, index: usize) -> Result<&'static str, RunError> {
        let experiment = named_experiment(name)?;
        let runs = self.experiment_runs(experiment)?;
        let (label, run) = runs.into_iter().nth(index).ok_or_else(|| {
            RunError::new(
                "variant",
                format!("{name} has {} variants", experiment.variants.len()),
            )
        })?;
        self.draft = run;
        self.rejected.clear();
        self.start_if_changed(Some(format!("{name}: {label}")));
        Ok(label)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lab::fields::FIELDS;
    use crate::lab::page_defaults;
    use crate::lab::tests::settings;
    use crate::train::experiments::EXPERIMENTS;

    /// The tour follows the lecture: one stop per section, in the experiments' (the lecture's)
    /// order, each starting an experiment of its own section.
    #[test]
    fn stops_follow_the_lecture_order() {
        let sections: Vec<&str> = STOPS
            .iter()
            .map(|stop| Experiment::named(stop.experiment).unwrap().section)
            .collect();
        assert_eq!(
            sections,
            [
                "Normalization",
                "Feed-forward",
                "Block layout",
                "Position",
                "Shape",
                "Regularization",
                "Stability",
                "Attention"
            ]
        );
        let order = |name: &str| EXPERIMENTS.iter().position(|e| e.name == name).unwrap();
        for pair in STOPS.windows(2) {
            assert!(order(pair[0].experiment) < order(pair[1].experiment));
        }
    }

    /// Every stop has its words, and a diagram's panels have titles.
    #[test]
    fn every_stop_has_text_and_titled_panels() {
        for (index, stop) in STOPS.iter().enumerate() {
            let words = &tour_text::ENGLISH.stops[index];
            assert!(
                !words.title.is_empty() && !words.body.is_empty(),
                "{}",
                stop.slug
            );
            let panels = match stop.diagram {
                None => 0,
                Some(Diagram::Activations | Diagram::Rope) => 1,
                Some(Diagram::NormPlace | Diagram::SerialParallel) => 2,
                Some(Diagram::Masks) => MASKS.len(),
            };
            assert_eq!(words.panels.len(), panels, "{}", stop.slug);
            assert_eq!(words.caption.is_empty(), panels == 0, "{}", stop.slug);
        }
    }

    /// Each stop opens the group of controls its experiment changes: a field its variants set
    /// is in the stop's group.
    #[test]
    fn each_stop_names_the_group_its_experiment_changes() {
        for (index, stop) in STOPS.iter().enumerate() {
            let group = group(index).unwrap_or_else(|| panic!("{}: no group", stop.slug));
            let experiment = Experiment::named(stop.experiment).unwrap();
            let keys = experiment.variants.iter().flat_map(|(_, set)| set.iter());
            let in_group = keys
                .map(|(key, _)| FIELDS.iter().find(|f| f.key == *key))
                .any(|field| field.is_some_and(|f| f.group == group));
            assert!(in_group, "{}: {}", stop.slug, GROUPS[group]);
        }
        assert_eq!(GROUPS[group(0).unwrap()], "Normalization");
        assert_eq!(GROUPS[group(7).unwrap()], "Attention");
    }

    #[test]
    fn the_counter_counts_from_one() {
        assert_eq!(counter(Lang::En, 0), "Stop 1 of 8");
        assert_eq!(counter(Lang::En, 7), "Stop 8 of 8");
        assert_eq!(counter(Lang::Zh, 1), "第 2 站，共 8 站");
    }

    #[test]
    fn fragments_name_stops_and_nothing_else() {
        for index in 0..STOPS.len() {
            assert_eq!(stop_in(&fragment(index)), Some(index));
        }
        assert_eq!(stop_in("#tour=position"), Some(3));
        assert_eq!(stop_in("tour=attention"), Some(7));
        for other in ["", "#run-controls", "#tour=", "#tour=nowhere", "#position"] {
            assert_eq!(stop_in(other), None, "{other:?}");
        }
    }

    /// The masks written out by hand for the last query of 12.
    #[test]
    fn masks_are_the_engines_rules() {
        let last = |pattern| mask(pattern, MASK_SIZE)[MASK_SIZE - 1].clone();
        let keys = |row: Vec<bool>| -> Vec<usize> { (0..row.len()).filter(|&k| row[k]).collect() };
        assert_eq!(keys(last(MASKS[0])), (0..12).collect::<Vec<_>>());
        assert_eq!(keys(last(MASKS[1])), [8, 9, 10, 11]);
        // Local 3 (9, 10, 11) and every 4th further back (7, 3).
        assert_eq!(keys(last(MASKS[2])), [3, 7, 9, 10, 11]);
        // No query sees a later key.
        for pattern in MASKS {
            let grid = mask(pattern, MASK_SIZE);
            assert!((0..MASK_SIZE).all(|q| (q + 1..MASK_SIZE).all(|k| !grid[q][k])));
        }
    }

    /// Position m turns the pair by m radians: (cos m, sin m).
    #[test]
    fn rope_turns_the_pair_one_radian_per_position() {
        for (m, (x, y)) in rope_pairs(5).into_iter().enumerate() {
            let angle = m as f64;
            assert!((x - angle.cos()).abs() < 1e-12 && (y - angle.sin()).abs() < 1e-12);
        }
    }

    /// A variant shown after another is that variant's own configuration: settings only the
    /// other names do not linger ("plain" after "QK-norm" trains without QK-norm).
    #[test]
    fn show_variant_trains_the_lane_configuration() {
        let mut lab = Lab::new(page_defaults(), &settings(&[("train.steps", "3")]), None);
        let runs = lab
            .experiment_runs(named_experiment("stability").unwrap())
            .unwrap();
        assert_eq!(lab.show_variant("stability", 1), Ok("QK-norm"));
        assert!(lab.runs.last().unwrap().requested.model.qk_norm);
        assert_eq!(lab.show_variant("stability", 0), Ok("plain"));
        let newest = lab.runs.last().unwrap();
        assert_eq!(newest.requested, runs[0].1);
        assert!(!newest.requested.model.qk_norm);
        assert_eq!(newest.label, "stability: plain");
        assert_eq!(
            newest.requested.train.steps, 3,
            "the visitor's length stays"
        );
        let refused = lab.show_variant("stability", 9).unwrap_err();
        assert_eq!(refused.field, "variant");
    }
}
