//! The visitor's own text as training data: pasted, or read from a file.

use leptos::prelude::*;
use leptos::task::spawn_local;
use wasm_bindgen::JsCast;

use super::lab_state::LabState;

#[component]
pub fn TextPanel() -> impl IntoView {
    let state = expect_context::<LabState>();
    let text = RwSignal::new(String::new());
    let opened = move |ev: leptos::ev::Event| {
        let input: web_sys::HtmlInputElement = ev
            .target()
            .expect("an event from an element")
            .unchecked_into();
        let Some(file) = input.files().and_then(|files| files.get(0)) else {
            return;
        };
        input.set_value("");
        spawn_local(async move {
            // The bytes, not file.text(): that would turn a binary or non-UTF-8 file into
            // replacement characters instead of refusing it.
            let read = wasm_bindgen_futures::JsFuture::from(file.array_buffer()).await;
            if let Ok(buffer) = read {
                let bytes = js_sys::Uint8Array::new(&buffer).to_vec();
                if state.train_on_text(&bytes) {
                    text.set(String::from_utf8_lossy(&bytes).into_owned());
                }
            }
        });
    };
    view! {
        <section class="panel" data-testid="your-text">
            <h2>"Your text"</h2>
            <p>
                "Paste a text or open a .txt file, and train on it: by characters, or by bytes \
                with the data control (\"your text, bytes\"). The text stays in this page; the \
                address bar keeps only the settings, so a shared link asks for a text again."
            </p>
            <textarea data-testid="user-text" rows="4" aria-label="Your text"
                prop:value=text on:input=move |ev| text.set(event_target_value(&ev)) />
            <div class="buttons">
                <button data-testid="train-on-text"
                    on:click=move |_| {
                        state.train_on_text(text.get_untracked().as_bytes());
                    }>
                    "Train on this text"
                </button>
                <label class="file">
                    "Open a .txt file "
                    <input type="file" accept=".txt,text/plain" data-testid="open-text"
                        on:change=opened />
                </label>
            </div>
        </section>
    }
}
