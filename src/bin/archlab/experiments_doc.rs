//! docs/experiments.md, the document `archlab experiment all` writes: per lecture claim (in the
//! lecture's order) the claim, the variants' settings, the measured results table, the verdicts
//! (evidence::verdicts, from train::verdict's rule) and when, where and by which command it was
//! measured. Each experiment's section lies between markers naming it, so a run with `--only`
//! replaces its own sections and keeps the others: the document can be filled over several
//! sessions. A closing summary is rebuilt from the sections every time.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use archlab::train::experiments::{Experiment, EXPERIMENTS};
use archlab::train::verdict::RULE;

use crate::evidence::{self, Variant};

/// How one experiment was measured, and what came of it.
pub struct Measurement<'a> {
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

/// Begins a section; the same line with "end experiment" ends it.
fn begin(name: &str) -> String {
    format!("<!-- experiment: {name} -->")
}

fn end(name: &str) -> String {
    format!("<!-- end experiment: {name} -->")
}

/// Starts the line of a measured section that says when and how (a placeholder lacks it).
const MEASURED: &str = "**Measured** ";

/// Starts the line of a section that gives the settings every variant shares.
const SETTINGS: &str = "**Settings**: every variant has ";

/// The experiment's section, markers included: measured, or "not yet measured".
pub fn section(experiment: &Experiment, measurement: Option<&Measurement>) -> String {
    let mut text = format!(
        "{}\n## {} ({})\n\n**Claim**: {}\n\n**Source**: {}\n\n**Watch**: {}\n\n",
        begin(experiment.name),
        experiment.name,
        experiment.section,
        experiment.claim,
        experiment.source,
        experiment.watch,
    );
    let base = match experiment.base {
        [] => "the defaults".to_string(),
        base => format!("the defaults with {}", settings(base)),
    };
    writeln!(text, "{SETTINGS}{base}; then").expect("a String");
    for (label, variant) in experiment.variants {
        writeln!(text, "- {label}: {}", settings(variant)).expect("a String");
    }
    text.push('\n');
    match measurement {
        None => text.push_str("Not yet measured.\n"),
        Some(m) => {
            let sets = match m.sets {
                [] => String::new(),
                sets => {
                    let sets: Vec<String> = sets.iter().map(|s| format!("`--set {s}`")).collect();
                    format!(", every variant then with {}", sets.join(" "))
                }
            };
            write!(
                text,
                "{MEASURED}{} on the {}, {} seeds{sets}; training took {}: `{}`\n\n{}\n{}",
                m.when,
                m.device,
                m.seeds,
                minutes_and_seconds(m.seconds),
                m.command,
                evidence::table(m.variants),
                evidence::verdicts(experiment, m.variants),
            )
            .expect("a String");
        }
    }
    text.push_str(&end(experiment.name));
    text
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

/// The measured sections of `document` by experiment name (markers included); placeholders
/// are left out, to be written afresh. A marker without its partner is an error that names it.
pub fn measured_sections(document: &str) -> Result<BTreeMap<String, String>, String> {
    let mut sections = BTreeMap::new();
    let mut open: Option<(String, Vec<&str>)> = None;
    for (number, line) in document.lines().enumerate() {
        let marker = |prefix: &str| {
            let name = line.strip_prefix(prefix)?.strip_suffix(" -->")?;
            Some(name.trim().to_string())
        };
        if let Some(name) = marker("<!-- experiment: ") {
            if let Some((outer, _)) = &open {
                return Err(format!(
                    "line {}: a section begins inside {outer:?}'s",
                    number + 1
                ));
            }
            open = Some((name, vec![line]));
        } else if let Some(ended) = marker("<!-- end experiment: ") {
            match open.take() {
                Some((name, mut lines)) if name == ended => {
                    lines.push(line);
                    let text = lines.join("\n");
                    if text.contains(MEASURED) {
                        sections.insert(name, text);
                    }
                }
                _ => {
                    return Err(format!(
                        "line {}: the end of {ended:?}'s section, which did not begin",
                        number + 1
                    ))
                }
            }
        } else if let Some((_, lines)) = &mut open {
            lines.push(line);
        }
    }
    match open {
        Some((name, _)) => Err(format!("{name:?}'s section has no end marker")),
        None => Ok(sections),
    }
}

/// The whole document: a header, every experiment's section in the lecture's order (the
/// measured one from `measured`, else a placeholder; sections of names no longer in the table
/// are dropped), and the summary of the verdicts.
pub fn document(measured: &BTreeMap<String, String>, when: &str, command: &str) -> String {
    let mut document = format!(
        "# The lecture's claims, measured\n\n\
         Written by `archlab experiment all` (see the README); do not edit by hand. Each \
         section lies between markers naming its experiment, and says when, on which engine \
         and device, over how many seeds and by which command it was measured: `archlab \
         experiment all --only NAME,...` measures those again and keeps the other sections. \
         This version was last written {when} by `{command}`.\n\n\
         The variants of an experiment train in lockstep (one step each in turn on one engine), \
         over several seeds: at each seed the same batches and the same initial values in every \
         tensor they share. Every verdict is computed from the table above it by one rule: \
         {RULE}\n\n"
    );
    let mut summary = String::from(
        "## Summary\n\n| experiment | verdicts (claim: verdict) | every variant had |\n\
         |---|---|---|\n",
    );
    let mut all_verdicts = Vec::new();
    for experiment in &EXPERIMENTS {
        let text = match measured.get(experiment.name) {
            Some(measured) => measured.clone(),
            None => section(experiment, None),
        };
        let verdicts = verdicts_of(&text);
        all_verdicts.extend(
            verdicts
                .iter()
                .filter_map(|v| Some(v.rsplit("**").nth(1)?.to_string())),
        );
        let verdicts = if verdicts.is_empty() {
            "not yet measured".to_string()
        } else {
            verdicts.join("; ")
        };
        let shared = (text.lines())
            .find_map(|line| line.strip_prefix(SETTINGS)?.strip_suffix("; then"))
            .unwrap_or_default();
        writeln!(summary, "| {} | {verdicts} | {shared} |", experiment.name).expect("a String");
        document.push_str(&text);
        document.push_str("\n\n");
    }
    document.push_str(&summary);
    let count = |word: &str| all_verdicts.iter().filter(|v| *v == word).count();
    write!(
        document,
        "\nClaims measured: {}; {} held, {} not shown at this scale, {} contradicted, {} \
         diverged.\n",
        all_verdicts.len(),
        count("held"),
        count("not shown at this scale"),
        count("contradicted"),
        count("diverged"),
    )
    .expect("a String");
    document
}

/// "claim: **verdict**" for each verdict line of a section (evidence::verdicts' lines).
fn verdicts_of(section: &str) -> Vec<String> {
    section
        .lines()
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

    /// The section of experiment `name` measured with these losses for its variants (in its
    /// order), over two seeds.
    fn measured_section(name: &str, losses: &[[f64; 2]], when: &str) -> String {
        let experiment = Experiment::named(name).unwrap();
        let variants: Vec<Variant> = (experiment.variants.iter().zip(losses))
            .map(|((label, _), losses)| variant(label, losses))
            .collect();
        let measurement = Measurement {
            when: when.to_string(),
            device: "CPU engine on a test CPU".to_string(),
            seeds: 2,
            seconds: 75.0,
            command: "archlab experiment all --seeds 2".to_string(),
            sets: &[],
            variants: &variants,
        };
        section(experiment, Some(&measurement))
    }

    /// final-norm's section: "final norm" with the losses `with`, "no final norm" `without`.
    fn final_norm_section(with: [f64; 2], without: [f64; 2], when: &str) -> String {
        measured_section("final-norm", &[with, without], when)
    }

    /// The verdicts in the document follow the rule on the numbers: the claim (final norm
    /// lower) beyond the spread holds, within it is not shown, the other way is contradicted;
    /// the summary repeats the section's verdict.
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
            let section = final_norm_section(with, without, "2026-01-02 03:04 UTC");
            assert!(
                section.contains(&format!("Verdict: **{expected}**")),
                "{expected}: {section}"
            );
            let measured = BTreeMap::from([("final-norm".to_string(), section)]);
            let document = document(&measured, "now", "archlab experiment all");
            let summary = document.split("## Summary").nth(1).unwrap();
            let row = summary
                .lines()
                .find(|l| l.starts_with("| final-norm |"))
                .unwrap();
            assert!(
                row.contains(&format!(
                    "final norm has a lower final validation loss than no final norm: \
                     **{expected}**"
                )),
                "{row}"
            );
            assert!(
                row.ends_with("| the defaults with `train.steps=300`, `train.eval_interval=25` |")
            );
            assert!(document.contains(&format!("Claims measured: 1; {counted}, 0 diverged.")));
        }
    }

    /// A section says when, on what, over how many seeds, in how long and by which command.
    #[test]
    fn a_measured_section_says_how_it_was_measured() {
        let section = final_norm_section([2.0, 2.1], [2.5, 2.6], "2026-01-02 03:04 UTC");
        for expected in [
            "## final-norm (Normalization)",
            "**Measured** 2026-01-02 03:04 UTC on the CPU engine on a test CPU, 2 seeds",
            "training took 1 min 15 s",
            "`archlab experiment all --seeds 2`",
            "- final norm: `model.final_norm=true`",
            "| final norm | 2.0500 |",
        ] {
            assert!(section.contains(expected), "{expected:?} in {section}");
        }
    }

    /// Replacing one section keeps every other measured section as it was, writes the
    /// unmeasured ones as "not yet measured", and keeps the lecture's order.
    #[test]
    fn merging_replaces_the_named_sections_and_keeps_the_others_in_order() {
        let old_final_norm = final_norm_section([2.0, 2.1], [2.5, 2.6], "2026-01-01 00:00 UTC");
        let kv = measured_section("kv-heads", &[[2.0, 2.1]; 3], "2026-01-01 00:00 UTC");
        let first = document(
            &BTreeMap::from([
                ("final-norm".to_string(), old_final_norm.clone()),
                ("kv-heads".to_string(), kv.clone()),
            ]),
            "then",
            "archlab experiment all",
        );

        let mut sections = measured_sections(&first).unwrap();
        assert_eq!(sections.len(), 2, "placeholders are not kept");
        let new_final_norm = final_norm_section([2.0, 2.1], [2.0, 2.1], "2026-02-01 00:00 UTC");
        sections.insert("final-norm".to_string(), new_final_norm.clone());
        let second = document(&sections, "now", "archlab experiment all --only final-norm");

        assert!(second.contains(&new_final_norm));
        assert!(!second.contains(&old_final_norm));
        assert!(second.contains(&kv), "the other measured section is kept");
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
            second.matches("| not yet measured |").count(),
            unmeasured,
            "the summary says so too"
        );
        assert_eq!(measured_sections(&second).unwrap(), sections, "round trip");
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
