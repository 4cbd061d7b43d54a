//! The built-in corpus for the page: `tinyshakespeare.txt.gz`, beside the wasm in `dist/`
//! (`cargo xtask build` writes it), fetched once before the lab opens, decoded by the
//! browser's own gzip stream (`DecompressionStream`: native code, a few milliseconds, where
//! bzip2 in the wasm held the page's thread for 100-200 ms) and handed to `train::corpus`, so
//! that the data stays out of the wasm's size budget.

use std::future::Future;

use js_sys::{Reflect, Uint8Array};
use wasm_bindgen::prelude::wasm_bindgen;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::Response;

use crate::train::corpus::provide_builtin;

/// The file's name, relative to the page.
const FILE: &str = "tinyshakespeare.txt.gz";

#[wasm_bindgen]
extern "C" {
    /// The Compression Streams API's decoder, a transform stream (web-sys has it only among
    /// its unstable APIs).
    type DecompressionStream;

    #[wasm_bindgen(constructor, catch)]
    fn new(format: &str) -> Result<DecompressionStream, JsValue>;
}

/// Sends the request at once (so it travels while the adapter is asked for) and resolves once
/// the corpus, or why it could not be had, is with `train::corpus`.
pub fn load() -> impl Future<Output = ()> {
    let request = web_sys::window().map(|window| JsFuture::from(window.fetch_with_str(FILE)));
    async move { provide_builtin(read(request).await) }
}

async fn read(request: Option<JsFuture>) -> Result<String, String> {
    let failed = |e: JsValue| format!("{FILE}: {}", describe(&e));
    let response: Response = request
        .ok_or("no window")?
        .await
        .map_err(failed)?
        .dyn_into()
        .map_err(|_| format!("{FILE}: the answer is not a response"))?;
    if !response.ok() {
        return Err(format!("{FILE}: HTTP status {}", response.status()));
    }
    let bytes = JsFuture::from(response.array_buffer().map_err(failed)?)
        .await
        .map_err(failed)?;
    let bytes = Uint8Array::new(&bytes);
    let file = Response::new_with_opt_buffer_source(Some(&bytes)).map_err(failed)?;
    // A server that sends .gz files with `Content-Encoding: gzip` has had the browser decode
    // it already: only bytes that start as gzip does go through the decoder.
    let gzip = bytes.length() >= 2 && bytes.get_index(0) == 0x1f && bytes.get_index(1) == 0x8b;
    let text = match (gzip, file.body()) {
        (true, Some(body)) => {
            let gunzip = DecompressionStream::new("gzip").map_err(failed)?;
            let decoded = body.pipe_through(gunzip.unchecked_ref());
            Response::new_with_opt_readable_stream(Some(&decoded)).map_err(failed)?
        }
        _ => file,
    };
    JsFuture::from(text.text().map_err(failed)?)
        .await
        .map_err(failed)?
        .as_string()
        .ok_or_else(|| format!("{FILE}: the text is not a string"))
}

/// A JavaScript error's message, else its text.
fn describe(error: &JsValue) -> String {
    Reflect::get(error, &"message".into())
        .ok()
        .and_then(|m| m.as_string())
        .or_else(|| error.as_string())
        .unwrap_or_else(|| "the request failed".into())
}
