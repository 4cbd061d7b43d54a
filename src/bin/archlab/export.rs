//! `archlab export`: a checkpoint as a Hugging Face folder that transformers loads.

use std::path::PathBuf;
use std::process::ExitCode;

use archlab::checkpoint;

use crate::train::refuse;

#[derive(clap::Args)]
pub struct ExportArgs {
    /// An archlab checkpoint folder (as `archlab train` writes) or a Hugging Face folder.
    #[arg(long, value_name = "DIR")]
    model: PathBuf,
    /// The folder to write config.json and model.safetensors into.
    #[arg(long, value_name = "DIR")]
    out: PathBuf,
}

pub fn run(args: ExportArgs) -> ExitCode {
    let (checkpoint, _) = match checkpoint::dir::load(&args.model) {
        Ok(loaded) => loaded,
        Err(error) => return refuse(format!("model: {error}")),
    };
    let family = match checkpoint::hf::export_family(&checkpoint.run.model) {
        Ok(family) => family,
        Err(error) => return refuse(error),
    };
    match checkpoint::dir::export_hf(&args.out, &checkpoint) {
        Ok(()) => {
            println!("wrote {} as {}", args.out.display(), family.architecture());
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::FAILURE
        }
    }
}
