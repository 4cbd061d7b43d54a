//! The built-in corpus for the page: `tinyshakespeare.txt.bz2`, beside the wasm in `dist/`
//! (`cargo xtask build` puts it there), fetched once before the lab opens and handed to
//! `train::corpus`, so that the data stays out of the wasm's size budget.

use std::future::Future;

use js_sys::{ArrayBuffer, Function, Reflect, Uint8Array};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;

use crate::train::corpus::provide_builtin;

/// The file's name, relative to the page.
const FILE: &str = "tinyshakespeare.txt.bz2";

/// Sends the request at once (so it travels while the adapter is asked for) and resolves once
/// the corpus, or why it could not be had, is with `train::corpus`.
pub fn load() -> impl Future<Output = ()> {
    let request = web_sys::window().map(|window| JsFuture::from(window.fetch_with_str(FILE)));
    async move { provide_builtin(read(request).await) }
}

async fn read(request: Option<JsFuture>) -> Result<Vec<u8>, String> {
    let response = request
        .ok_or("no window")?
        .await
        .map_err(|e| format!("{FILE}: {}", describe(&e)))?;
    let field = |name: &str| Reflect::get(&response, &name.into()).unwrap_or(JsValue::UNDEFINED);
    if field("ok") != JsValue::TRUE {
        let status = field("status").as_f64().unwrap_or(0.0);
        return Err(format!("{FILE}: HTTP status {status}"));
    }
    let read: Function = field("arrayBuffer")
        .dyn_into()
        .map_err(|_| format!("{FILE}: the response has no body"))?;
    let promise = read
        .call0(&response)
        .map_err(|e| format!("{FILE}: {}", describe(&e)))?;
    let buffer: ArrayBuffer = JsFuture::from(js_sys::Promise::from(promise))
        .await
        .map_err(|e| format!("{FILE}: {}", describe(&e)))?
        .dyn_into()
        .map_err(|_| format!("{FILE}: the body is not bytes"))?;
    Ok(Uint8Array::new(&buffer).to_vec())
}

/// A JavaScript error's message, else its text.
fn describe(error: &JsValue) -> String {
    Reflect::get(error, &"message".into())
        .ok()
        .and_then(|m| m.as_string())
        .or_else(|| error.as_string())
        .unwrap_or_else(|| "the request failed".into())
}
