//! The tokenizer a run's text goes through in Look at, Generate and the maps' token labels: an
//! imported model's own (its folder's `tokenizer.json`), else its data's.

use std::rc::Rc;

use super::RunEntry;
use crate::train::data::DataStream;
use crate::train::hf_tokenizer::HfTokenizer;
use crate::train::tokenizer::Tokenizer;

/// A run's text tokenizer.
#[derive(Clone, Copy, Debug)]
pub enum RunTokenizer<'a> {
    /// The data's (a text source): the one the run trains with.
    Data(&'a Tokenizer),
    /// The imported model's.
    Imported(&'a HfTokenizer),
}

impl<'a> RunTokenizer<'a> {
    /// An imported model's tokenizer, else the data's (if a text source).
    pub fn of(imported: Option<&'a HfTokenizer>, data: &'a DataStream) -> Option<Self> {
        match imported {
            Some(imported) => Some(Self::Imported(imported)),
            None => data.tokenizer().map(Self::Data),
        }
    }

    /// The ids of `text`; refused, with the reason, where the data's tokenizer cannot.
    pub fn encode(self, text: &str) -> Result<Vec<u32>, String> {
        match self {
            Self::Data(tokenizer) => tokenizer.encode(text).map_err(|e| e.to_string()),
            Self::Imported(tokenizer) => Ok(tokenizer.encode(text)),
        }
    }

    pub fn decode(self, ids: &[u32]) -> String {
        match self {
            Self::Data(tokenizer) => tokenizer.decode(ids),
            Self::Imported(tokenizer) => tokenizer.decode(ids),
        }
    }
}

/// A run's text tokenizer kept by a Generate under way (the run trains on meanwhile).
#[derive(Clone)]
pub enum KeptTokenizer {
    Data(Tokenizer),
    Imported(Rc<HfTokenizer>),
}

impl KeptTokenizer {
    /// An imported model's tokenizer, else the data's (if a text source).
    pub fn of(imported: Option<&Rc<HfTokenizer>>, data: &DataStream) -> Option<Self> {
        match imported {
            Some(imported) => Some(Self::Imported(Rc::clone(imported))),
            None => data.tokenizer().cloned().map(Self::Data),
        }
    }

    pub fn borrowed(&self) -> RunTokenizer<'_> {
        match self {
            Self::Data(tokenizer) => RunTokenizer::Data(tokenizer),
            Self::Imported(tokenizer) => RunTokenizer::Imported(tokenizer),
        }
    }
}

impl RunEntry {
    /// The tokenizer of this run's text, if it has one (a run on task data without an
    /// imported tokenizer has none: it takes token ids).
    pub fn text_tokenizer(&self) -> Option<RunTokenizer<'_>> {
        RunTokenizer::of(self.tokenizer.as_deref(), &self.session.data)
    }

    /// A printable label of token `id` for the maps' axes, by the tokenizer the model reads
    /// with.
    pub fn token_label(&self, id: u32) -> String {
        match &self.tokenizer {
            Some(imported) => imported.token_label(id),
            None => self.session.data.token_label(id),
        }
    }
}
