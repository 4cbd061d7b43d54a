//! docs/experiments.md, the document `archlab experiment all` writes: per lecture claim (in the
//! lecture's order) the claim, the variants' settings and, for each scale it was measured at
//! (`--scale`: the command line's, the page's on WebGPU, the page's on its CPU engine), the
//! measured results table, the verdicts (evidence::verdicts, from train::verdict's rule) and
//! when, where and by which command it was measured. Each experiment's section lies between
//! markers naming it, and each scale's part between markers naming the scale, so a run with
//! `--only` and `--scale` replaces just those parts and keeps the others: the document can be
//! filled over several sessions. A closing summary is rebuilt from the parts every time.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use archlab::train::experiments::{Experiment, EXPERIMENTS};
use archlab::train::verdict::RULE;
use clap::ValueEnum;

use crate::evidence::{self, Variant};
use crate::experiment::Scale;

/// How one experiment was measured at one scale, and what came of it.
pub struct Measurement<'a> {
    pub scale: Scale,
    /// The scale in words, with the shape it starts from (`Scale::describe`).
    pub start: String,
    /// When, "YYYY-MM-DD HH:MM UTC".
    pub when: String,
    /// The engine and the device it ran on.
    pub device: String,
    pub seeds: usize,
    /// Wall time of the training, in seconds.
    pub seconds: f64,
    /// The command, as typed.
    pub command: String,
    /// `--set` overrides applied over the experiment's settings.
    pub sets: &'a [String],
    pub variants: &'a [Variant],
}

/// The measured parts of each experiment's section, by experiment name and scale.
pub type Parts = BTreeMap<String, BTreeMap<Scale, String>>;

/// Begins a section; the same line with "end experiment" ends it.
fn begin(name: &str) -> String {
    format!("<!-- experiment: {name} -->")
}

fn end(name: &str) -> String {
    format!("<!-- end experiment: {name} -->")
}

/// Begins a scale's part of a section; the same line with "end scale" ends it.
fn begin_scale(scale: Scale) -> String {
    format!("<!-- scale: {} -->", scale.name())
}

fn end_scale(scale: Scale) -> String {
    format!("<!-- end scale: {} -->", scale.name())
}

/// Starts the line of a measured part that says when and how.
const MEASURED: &str = "**Measured** ";

/// The settings every variant shares, in words.
fn shared_settings(experiment: &Experiment) -> String {
    match experiment.base {
        [] => "the scale's defaults".to_string(),
        base => format!("the scale's defaults with {}", settings(base)),
    }
}

/// The lines that give the settings every variant shares and each variant's own: a part
/// measured under other lines measured something else.
fn settings_block(experiment: &Experiment) -> String {
    let mut text = format!(
        "**Settings**: every variant has {}; then\n",
        shared_settings(experiment)
    );
    for (label, variant) in experiment.variants {
        writeln!(text, "- {label}: {}", settings(variant)).expect("a String");
    }
    text
}

/// The experiment's section, markers included: its measured `parts` in the scales' order, or
/// "not yet measured".
pub fn section(experiment: &Experiment, parts: Option<&BTreeMap<Scale, String>>) -> String {
    let mut text = format!(
        "{}\n## {} ({})\n\n**Claim**: {}\n\n**Source**: {}\n\n**Watch**: {}\n\n{}\n",
        begin(experiment.name),
        experiment.name,
        experiment.section,
        experiment.claim,
        experiment.source,
        experiment.watch,
        settings_block(experiment),
    );
    match parts.filter(|parts| !parts.is_empty()) {
        None => text.push_str("Not yet measured.\n"),
        Some(parts) => {
            for part in parts.values() {
                text.push_str(part);
                text.push_str("\n\n");
            }
            text.pop();
        }
    }
    text.push_str(&end(experiment.name));
    text
}

/// The part of the experiment's section measured at `m.scale`, markers included.
pub fn measured_part(experiment: &Experiment, m: &Measurement) -> String {
    let sets = match m.sets {
        [] => String::new(),
        sets => {
            let sets: Vec<String> = sets.iter().map(|s| format!("`--set {s}`")).collect();
            format!(", every variant then with {}", sets.join(" "))
        }
    };
    format!(
        "{}\n### At {}\n\n{MEASURED}{} on the {}, {} seeds{sets}; training took {}: `{}`\n\n{}\n{}{}",
        begin_scale(m.scale),
        m.start,
        m.when,
        m.device,
        m.seeds,
        minutes_and_seconds(m.seconds),
        m.command,
        evidence::table(m.variants),
        evidence::verdicts(experiment, m.variants),
        end_scale(m.scale),
    )
}

/// Settings as `key=value` in code, comma-separated.
fn settings(pairs: &[(&str, &str)]) -> String {
    let pairs: Vec<String> = pairs.iter().map(|(k, v)| format!("`{k}={v}`")).collect();
    pairs.join(", ")
}

fn minutes_and_seconds(seconds: f64) -> String {
    let whole = seconds.round() as u64;
    format!("{} min {:02} s", whole / 60, whole % 60)
}

/// The measured parts of `document`'s sections (markers included), by experiment and scale.
/// Parts of experiments no longer in the table, or whose section gives other settings than
/// the experiment has now, are left out: they measured something else. A marker without its
/// partner, or an unknown scale, is an error that names it.
pub fn measured_sections(document: &str) -> Result<Parts, String> {
    let mut parts = Parts::new();
    let mut section: Option<(String, Vec<&str>)> = None;
    let mut part: Option<(Scale, Vec<&str>)> = None;
    for (number, line) in document.lines().enumerate() {
        let at = number + 1;
        let marker = |prefix: &str| {
            let name = line.strip_prefix(prefix)?.strip_suffix(" -->")?;
            Some(name.trim().to_string())
        };
        if let Some(name) = marker("<!-- experiment: ") {
            if let Some((outer, _)) = &section {
                return Err(format!("line {at}: a section begins inside {outer:?}'s"));
            }
            section = Some((name, vec![line]));
        } else if let Some(ended) = marker("<!-- end experiment: ") {
            match section.take() {
                Some((name, lines)) if name == ended && part.is_none() => {
                    let experiment = Experiment::named(&name);
                    let current = experiment.map(settings_block);
                    let text = lines.join("\n") + "\n";
                    if current.is_some_and(|settings| text.contains(&settings)) {
                        parts.entry(name).or_default();
                    } else {
                        parts.remove(&name);
                    }
                }
                Some((name, _)) if name == ended => {
                    return Err(format!(
                        "line {at}: {name:?}'s section ends inside a scale's part"
                    ))
                }
                _ => {
                    return Err(format!(
                        "line {at}: the end of {ended:?}'s section, which did not begin"
                    ))
                }
            }
        } else if let Some(name) = marker("<!-- scale: ") {
            let scale = scale_named(&name).map_err(|e| format!("line {at}: {e}"))?;
            if section.is_none() || part.is_some() {
                return Err(format!(
                    "line {at}: {name:?}'s part begins outside a section or inside a part"
                ));
            }
            part = Some((scale, vec![line]));
        } else if let Some(ended) = marker("<!-- end scale: ") {
            match (part.take(), &mut section) {
                (Some((scale, mut lines)), Some((name, section_lines)))
                    if scale.name() == ended =>
                {
                    lines.push(line);
                    section_lines.extend(&lines);
                    (parts.entry(name.clone()).or_default()).insert(scale, lines.join("\n"));
                }
                _ => {
                    return Err(format!(
                        "line {at}: the end of {ended:?}'s part, which did not begin"
                    ))
                }
            }
        } else if let Some((_, lines)) = &mut part {
            lines.push(line);
        } else if let Some((_, lines)) = &mut section {
            lines.push(line);
        }
    }
    match section {
        Some((name, _)) => Err(format!("{name:?}'s section has no end marker")),
        None => Ok(parts.into_iter().filter(|(_, p)| !p.is_empty()).collect()),
    }
}

/// Begins the block after the summary that this document keeps as it is: the experiments'
/// times in the page on its CPU engine, whose rows `cargo xtask page-bench --experiments`
/// writes (tests/browser/experiment_bench.mjs); the same line with "end" ends it.
const PAGE_TIMINGS: &str = "<!-- page timings -->";
const PAGE_TIMINGS_END: &str = "<!-- end page timings -->";

/// The page-timings block of `document`, markers included, if it has one.
pub fn page_timings(document: &str) -> Option<&str> {
    let start = document.find(PAGE_TIMINGS)?;
    let end = start + document[start..].find(PAGE_TIMINGS_END)? + PAGE_TIMINGS_END.len();
    Some(&document[start..end])
}

/// The scale `--scale` calls `name`.
fn scale_named(name: &str) -> Result<Scale, String> {
    (Scale::value_variants().iter().copied())
        .find(|scale| scale.name() == name)
        .ok_or_else(|| format!("unknown scale {name:?}"))
}

/// The whole document: a header, every experiment's section in the lecture's order (its
/// measured parts from `measured`, else a placeholder; parts of names no longer in the table
/// are dropped), the summary of the verdicts, scale by scale, and the page's timings as
/// `page_timings` gives them (see [`page_timings`]).
pub fn document(measured: &Parts, page_timings: Option<&str>, when: &str, command: &str) -> String {
    let mut document = format!(
        "# The lecture's claims, measured\n\n\
         Written by `archlab experiment all` (see the README), but for the page's timings at \
         the end, whose rows `cargo xtask page-bench --experiments` writes; do not edit by \
         hand. Each \
         section lies between markers naming its experiment, and holds a part for each scale \
         it was measured at (`--scale`: `cli`, the command line's defaults; `page`, the \
         page's on WebGPU; `page-cpu`, the page's on its CPU engine), which says when, on \
         which engine and device, over how many seeds and by which command it was measured: \
         `archlab experiment all --scale SCALE --only NAME,...` measures those again and \
         keeps the other parts. This version was last written {when} by `{command}`.\n\n\
         The variants of an experiment train in lockstep (one step each in turn on one engine), \
         over several seeds: at each seed the same batches and the same initial values in every \
         tensor they share. Every verdict is computed from the table above it by one rule: \
         {RULE}\n\n"
    );
    let mut summary = String::from(
        "## Summary\n\n| experiment | scale | verdicts (claim: verdict) | every variant had |\n\
         |---|---|---|---|\n",
    );
    let mut by_scale: BTreeMap<Scale, Vec<String>> = BTreeMap::new();
    for experiment in &EXPERIMENTS {
        let parts = measured.get(experiment.name);
        let shared = shared_settings(experiment);
        for (scale, part) in parts.into_iter().flatten() {
            let verdicts = verdicts_of(part);
            (by_scale.entry(*scale).or_default())
                .extend((verdicts.iter()).filter_map(|v| Some(v.rsplit("**").nth(1)?.to_string())));
            let row = format!(
                "| {} | {} | {} | {shared} |",
                experiment.name,
                scale.name(),
                verdicts.join("; ")
            );
            writeln!(summary, "{row}").expect("a String");
        }
        if parts.is_none_or(BTreeMap::is_empty) {
            writeln!(
                summary,
                "| {} | | not yet measured | {shared} |",
                experiment.name
            )
            .expect("a String");
        }
        document.push_str(&section(experiment, parts));
        document.push_str("\n\n");
    }
    document.push_str(&summary);
    for (scale, verdicts) in &by_scale {
        let count = |word: &str| verdicts.iter().filter(|v| *v == word).count();
        write!(
            document,
            "\nAt {}: claims measured: {}; {} held, {} not shown at this scale, {} \
             contradicted, {} diverged.\n",
            scale.title(),
            verdicts.len(),
            count("held"),
            count("not shown at this scale"),
            count("contradicted"),
            count("diverged"),
        )
        .expect("a String");
    }
    if let Some(block) = page_timings {
        write!(document, "\n{block}\n").expect("a String");
    }
    document
}

/// "claim: **verdict**" for each verdict line of a part (evidence::verdicts' lines).
fn verdicts_of(part: &str) -> Vec<String> {
    part.lines()
        .filter_map(|line| {
            let rest = line.strip_prefix("- Claim: ")?;
            let (claim, rest) = rest.split_once(". Verdict: **")?;
            let (verdict, _) = rest.split_once("**")?;
            Some(format!("{claim}: **{verdict}**"))
        })
        .collect()
}

/// The command line as typed after the program name, each argument quoted where a shell would
/// need it.
pub fn command_line(args: impl Iterator<Item = String>) -> String {
    let quoted = args.map(|arg| {
        let plain = |c: char| c.is_ascii_alphanumeric() || "-_=.,/:+".contains(c);
        if !arg.is_empty() && arg.chars().all(plain) {
            arg
        } else {
            format!("'{}'", arg.replace('\'', r"'\''"))
        }
    });
    std::iter::once("archlab".to_string())
        .chain(quoted)
        .collect::<Vec<_>>()
        .join(" ")
}

/// The processor's model name, as Linux names it (and how many threads the matrix products
/// may use).
pub fn cpu_model() -> String {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = (cpuinfo.lines())
        .find_map(|line| line.strip_prefix("model name")?.split_once(':'))
        .map_or("an unnamed CPU", |(_, name)| name.trim());
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    format!("{model} ({threads} threads)")
}

/// Now, as "YYYY-MM-DD HH:MM UTC".
pub fn utc_now() -> String {
    let seconds = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    utc(seconds)
}

/// Seconds since 1970 as "YYYY-MM-DD HH:MM UTC" (the proleptic Gregorian calendar, by
/// H. Hinnant's days-to-civil algorithm).
fn utc(seconds: u64) -> String {
    let days = (seconds / 86_400) as i64;
    let minute = (seconds % 86_400) / 60;
    let shifted = days + 719_468;
    let era = shifted.div_euclid(146_097);
    let day_of_era = shifted.rem_euclid(146_097);
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_index = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * month_index + 2) / 5 + 1;
    let month = if month_index < 10 {
        month_index + 3
    } else {
        month_index - 9
    };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02} UTC",
        minute / 60,
        minute % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use archlab::train::experiments::LossUnit;
    use archlab::train::verdict::Samples;

    /// A variant with the given final validation losses (nats per token), one per seed.
    fn variant(label: &'static str, losses: &[f64]) -> Variant {
        Variant {
            label: label.to_string(),
            loss: LossUnit::NatsPerToken,
            val_loss: Samples(losses.iter().map(|&l| Some(l)).collect()),
            val_bpc: Samples(vec![None; losses.len()]),
            max_logit: Samples(vec![Some(5.0); losses.len()]),
            log_z: Samples(vec![Some(1.0); losses.len()]),
            diverged: 0,
            seeds: losses.len(),
            parameters: 1000,
            flops_per_token: 6000.0,
            kv_bytes: 64,
            tokens_per_second: 100.0,
            val_curves: Vec::new(),
            train_curves: Vec::new(),
        }
    }

    /// The part of experiment `name` measured at `scale` with these losses for its variants (in
    /// its order), over two seeds.
    fn part(name: &str, scale: Scale, losses: &[[f64; 2]], when: &str) -> String {
        let experiment = Experiment::named(name).unwrap();
        let variants: Vec<Variant> = (experiment.variants.iter().zip(losses))
            .map(|((label, _), losses)| variant(label, losses))
            .collect();
        let measurement = Measurement {
            scale,
            start: format!("{} (a test shape)", scale.title()),
            when: when.to_string(),
            device: "CPU engine on a test CPU".to_string(),
            seeds: 2,
            seconds: 75.0,
            command: format!("archlab experiment all --seeds 2 --scale {}", scale.name()),
            sets: &[],
            variants: &variants,
        };
        measured_part(experiment, &measurement)
    }

    /// final-norm's part at `scale`: "final norm" with the losses `with`, "no final norm"
    /// `without`.
    fn final_norm(scale: Scale, with: [f64; 2], without: [f64; 2], when: &str) -> String {
        part("final-norm", scale, &[with, without], when)
    }

    /// Parts by experiment and scale.
    fn parts<const N: usize>(entries: [(&str, Scale, String); N]) -> Parts {
        let mut parts = Parts::new();
        for (name, scale, text) in entries {
            (parts.entry(name.to_string()).or_default()).insert(scale, text);
        }
        parts
    }

    /// The verdicts in the document follow the rule on the numbers: the claim (final norm
    /// lower) beyond the spread holds, within it is not shown, the other way is contradicted;
    /// the summary repeats the part's verdict on the scale's row and counts it under its scale.
    #[test]
    fn the_documents_verdicts_come_from_the_rule_on_the_measured_numbers() {
        let cases = [
            (
                [2.0, 2.1],
                [2.5, 2.6],
                "held",
                "1 held, 0 not shown at this scale, 0 contradicted",
            ),
            (
                [2.0, 2.4],
                [2.1, 2.5],
                "not shown at this scale",
                "0 held, 1 not shown at this scale, 0 contradicted",
            ),
            (
                [2.5, 2.6],
                [2.0, 2.1],
                "contradicted",
                "0 held, 0 not shown at this scale, 1 contradicted",
            ),
        ];
        for (with, without, expected, counted) in cases {
            let measured = final_norm(Scale::PageCpu, with, without, "2026-01-02 03:04 UTC");
            assert!(
                measured.contains(&format!("Verdict: **{expected}**")),
                "{expected}: {measured}"
            );
            // The other scale holds, whatever this one shows: each is counted apart.
            let held = final_norm(Scale::Cli, [2.0, 2.1], [2.5, 2.6], "2026-01-02 03:04 UTC");
            let measured = parts([
                ("final-norm", Scale::PageCpu, measured),
                ("final-norm", Scale::Cli, held),
            ]);
            let document = document(&measured, None, "now", "archlab experiment all");
            let summary = document.split("## Summary").nth(1).unwrap();
            let row = summary
                .lines()
                .find(|l| l.starts_with("| final-norm | page-cpu |"))
                .unwrap();
            assert!(
                row.contains(&format!(
                    "final norm has a lower final validation loss than no final norm: \
                     **{expected}**"
                )),
                "{row}"
            );
            assert!(row.ends_with(
                "| the scale's defaults with `train.steps=300`, `train.eval_interval=25` |"
            ));
            assert!(
                document.contains(&format!(
                    "At the page's scale on its CPU engine: claims measured: 1; {counted}, 0 \
                     diverged."
                )),
                "{document}"
            );
            assert!(document.contains(
                "At the command line's scale: claims measured: 1; 1 held, 0 not shown at this \
                 scale, 0 contradicted, 0 diverged."
            ));
            assert!(
                !document.contains("At the page's scale on WebGPU:"),
                "not measured"
            );
        }
    }

    /// A part says at which scale, when, on what, over how many seeds, in how long and by
    /// which command; the section holds its parts in the scales' order.
    #[test]
    fn a_measured_part_says_how_it_was_measured() {
        let experiment = Experiment::named("final-norm").unwrap();
        let page = final_norm(Scale::Page, [2.0, 2.1], [2.5, 2.6], "2026-01-02 03:04 UTC");
        for expected in [
            "<!-- scale: page -->\n### At the page's scale on WebGPU (a test shape)\n",
            "**Measured** 2026-01-02 03:04 UTC on the CPU engine on a test CPU, 2 seeds",
            "training took 1 min 15 s",
            "`archlab experiment all --seeds 2 --scale page`",
            "| final norm | 2.0500 |",
        ] {
            assert!(page.contains(expected), "{expected:?} in {page}");
        }
        assert!(page.ends_with("<!-- end scale: page -->"));
        let cli = final_norm(Scale::Cli, [2.0, 2.1], [2.5, 2.6], "2026-01-02 03:04 UTC");
        let measured = parts([
            ("final-norm", Scale::Page, page.clone()),
            ("final-norm", Scale::Cli, cli.clone()),
        ]);
        let section = section(experiment, measured.get("final-norm"));
        assert!(section.contains("- final norm: `model.final_norm=true`"));
        let (at_cli, at_page) = (section.find(&cli).unwrap(), section.find(&page).unwrap());
        assert!(at_cli < at_page, "the command line's scale first");
        assert!(!section.contains("Not yet measured."));
    }

    /// Replacing one scale's part keeps every other measured part (the same experiment's at
    /// another scale, and other experiments'), writes the unmeasured ones as "not yet
    /// measured", keeps the lecture's order and the page's timings.
    #[test]
    fn merging_replaces_the_named_part_and_keeps_the_others_in_order() {
        let when = "2026-01-01 00:00 UTC";
        let timings = "<!-- page timings -->\n## In the page\n\n| bias | 1 min 02 s |\n\
                       <!-- end page timings -->";
        let old_page_cpu = final_norm(Scale::PageCpu, [2.0, 2.1], [2.5, 2.6], when);
        let cli = final_norm(Scale::Cli, [2.0, 2.1], [2.6, 2.7], when);
        let kv = part("kv-heads", Scale::PageCpu, &[[2.0, 2.1]; 3], when);
        let first = document(
            &parts([
                ("final-norm", Scale::PageCpu, old_page_cpu.clone()),
                ("final-norm", Scale::Cli, cli.clone()),
                ("kv-heads", Scale::PageCpu, kv.clone()),
            ]),
            Some(timings),
            "then",
            "archlab experiment all",
        );

        let mut measured = measured_sections(&first).unwrap();
        assert_eq!(measured.len(), 2, "placeholders are not kept");
        let new_page_cpu = final_norm(Scale::PageCpu, [2.0, 2.1], [2.0, 2.1], "2026-02-01");
        (measured.get_mut("final-norm").unwrap()).insert(Scale::PageCpu, new_page_cpu.clone());
        let second = document(
            &measured,
            page_timings(&first),
            "now",
            "archlab experiment all --only final-norm",
        );

        assert!(second.contains(&new_page_cpu));
        assert!(!second.contains(&old_page_cpu));
        assert!(second.contains(&cli), "the other scale's part is kept");
        assert!(second.contains(&kv), "the other experiment's part is kept");
        assert_eq!(
            page_timings(&second),
            Some(timings),
            "the page's timings are kept"
        );
        assert!(second.contains("last written now by `archlab experiment all --only"));
        let positions: Vec<usize> = (EXPERIMENTS.iter())
            .map(|e| {
                second
                    .find(&begin(e.name))
                    .expect("every experiment has a section")
            })
            .collect();
        assert!(positions.windows(2).all(|w| w[0] < w[1]), "lecture order");
        let unmeasured = EXPERIMENTS.len() - 2;
        assert_eq!(second.matches("Not yet measured.").count(), unmeasured);
        assert_eq!(
            second.matches("| | not yet measured |").count(),
            unmeasured,
            "the summary says so too"
        );
        assert_eq!(measured_sections(&second).unwrap(), measured, "round trip");
    }

    /// A part measured under settings other than the experiment's now measured something else:
    /// it is dropped, and the experiment's other sections stay.
    #[test]
    fn parts_measured_under_other_settings_are_dropped() {
        let when = "2026-01-01 00:00 UTC";
        let measured = parts([
            (
                "final-norm",
                Scale::Cli,
                final_norm(Scale::Cli, [2.0, 2.1], [2.5, 2.6], when),
            ),
            (
                "kv-heads",
                Scale::Cli,
                part("kv-heads", Scale::Cli, &[[2.0, 2.1]; 3], when),
            ),
        ]);
        let written = document(&measured, None, "then", "archlab experiment all");
        let at = written.find(&begin("final-norm")).unwrap();
        let changed = written[at..].replacen("`train.steps=300`, ", "`train.steps=100`, ", 1);
        let older = format!("{}{changed}", &written[..at]);
        assert_ne!(older, written);
        let kept = measured_sections(&older).unwrap();
        assert_eq!(kept.keys().collect::<Vec<_>>(), ["kv-heads"], "{older}");
    }

    #[test]
    fn broken_markers_are_refused_with_the_reason() {
        let err = |text: &str| measured_sections(text).unwrap_err();
        assert!(err("<!-- experiment: bias -->\nx").contains("\"bias\"'s section has no end"));
        assert!(err("<!-- end experiment: bias -->").contains("line 1: the end of \"bias\""));
        assert!(err("<!-- experiment: bias -->\n<!-- experiment: block -->").contains("line 2"));
        assert!(
            err("<!-- experiment: bias -->\n<!-- end experiment: block -->").contains("\"block\"")
        );
        let scale = |lines: &[&str]| {
            let inner = lines.join("\n");
            err(&format!(
                "<!-- experiment: bias -->\n{inner}\n<!-- end experiment: bias -->"
            ))
        };
        assert!(scale(&["<!-- scale: huge -->"]).contains("line 2: unknown scale \"huge\""));
        assert!(scale(&["<!-- scale: cli -->"]).contains("line 3: \"bias\"'s section ends inside"));
        assert!(scale(&["<!-- end scale: cli -->"]).contains("line 2: the end of \"cli\"'s part"));
        assert!(scale(&["<!-- scale: cli -->", "<!-- end scale: page -->"]).contains("line 3"));
        assert!(err("<!-- scale: cli -->").contains("line 1: \"cli\"'s part begins outside"));
        assert!(measured_sections("no sections at all").unwrap().is_empty());
    }

    #[test]
    fn commands_are_quoted_as_a_shell_needs() {
        let args = [
            "experiment",
            "all",
            "--set",
            "model.dropout={\"embd\": 0}",
            "it's",
        ];
        assert_eq!(
            command_line(args.iter().map(|a| a.to_string())),
            r#"archlab experiment all --set 'model.dropout={"embd": 0}' 'it'\''s'"#
        );
    }

    #[test]
    fn dates_are_utc_on_the_gregorian_calendar() {
        assert_eq!(utc(0), "1970-01-01 00:00 UTC");
        assert_eq!(utc(951_782_400 + 3_600 + 120), "2000-02-29 01:02 UTC");
        assert_eq!(utc(1_798_761_599), "2026-12-31 23:59 UTC");
    }
}
