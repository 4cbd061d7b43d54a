//! The visitor's own text as training data: pasted, or read from a file.

use leptos::prelude::*;
use leptos::task::spawn_local;
use wasm_bindgen::JsCast;

use super::lab_state::LabState;
use super::language::Language;

#[component]
pub fn TextPanel() -> impl IntoView {
    let state = expect_context::<LabState>();
    let language = expect_context::<Language>();
    let words = move || language.page();
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
            <h2>{move || words().text_heading}</h2>
            <p>{move || words().text_hint}</p>
            <textarea data-testid="user-text" rows="4" aria-label=move || words().text_heading
                prop:value=text on:input=move |ev| text.set(event_target_value(&ev)) />
            <div class="buttons">
                <button data-testid="train-on-text"
                    on:click=move |_| {
                        state.train_on_text(text.get_untracked().as_bytes());
                    }>
                    {move || words().train_on_text}
                </button>
                <label class="file">
                    {move || words().open_txt}
                    <input type="file" accept=".txt,text/plain" data-testid="open-text"
                        on:change=opened />
                </label>
            </div>
        </section>
    }
}
