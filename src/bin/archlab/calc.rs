//! `archlab calc`: the presets at their published sizes, their parameters and what the weights
//! and the KV cache take at a context, batch and number format (`train::published`).

use std::process::ExitCode;

use archlab::model::numbers::{bytes, count};
use archlab::model::NumberFormat;
use archlab::train::published::{self, Sizes};

use crate::train::refuse;

#[derive(clap::Args)]
pub struct CalcArgs {
    /// Only this preset's published models (all by default).
    #[arg(long, value_name = "P")]
    preset: Option<String>,
    /// Tokens per sequence in the KV cache.
    #[arg(long, value_name = "N", default_value_t = 4096, value_parser = clap::value_parser!(u32).range(1..))]
    context: u32,
    /// Sequences in the KV cache.
    #[arg(long, value_name = "N", default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..))]
    batch: u32,
    /// Number format of the weights and the cache: fp32, bf16, fp8 or int4.
    #[arg(long, value_name = "F", default_value = "bf16", value_parser = str::parse::<NumberFormat>)]
    format: NumberFormat,
}

pub fn run(args: CalcArgs) -> ExitCode {
    let rows = match published::rows(args.preset.as_deref()) {
        Ok(rows) => rows,
        Err(error) => return refuse(error),
    };
    let sizes = Sizes {
        context: args.context as usize,
        batch: args.batch as usize,
        format: args.format,
    };
    println!(
        "{:<14} {:>10} {:>16} {:>22}",
        "model",
        "parameters",
        format!("weights ({})", args.format.name()),
        format!("KV cache ({}x{})", args.batch, args.context),
    );
    for row in rows {
        let sizing = sizes.of(row);
        println!(
            "{:<14} {:>10} {:>16} {:>22}",
            sizing.name,
            count(sizing.parameters as f64),
            bytes(sizing.weight_bytes),
            bytes(sizing.kv_bytes),
        );
    }
    ExitCode::SUCCESS
}
