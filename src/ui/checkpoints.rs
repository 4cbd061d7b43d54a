//! The checkpoints panel: save the newest run as one file, open our checkpoint or a Hugging
//! Face folder (file picker, folder picker, or drop) as a run that continues training.

use leptos::prelude::*;
use leptos::task::spawn_local;
use wasm_bindgen::JsCast;

use super::lab_state::LabState;
use super::language::Language;
use super::views::download;
use crate::lab::i18n;

/// What the panel last did, for the line under its buttons.
#[derive(Clone, Debug, PartialEq)]
enum Outcome {
    Done(String),
    Failed(String),
}

/// The files of a picker or a drop, taken out of its list (which the input clears).
pub(super) fn file_vec(files: Option<web_sys::FileList>) -> Vec<web_sys::File> {
    files.map_or_else(Vec::new, |files| {
        (0..files.length()).filter_map(|i| files.get(i)).collect()
    })
}

/// Reads files as (name, bytes).
pub(super) async fn read_files(
    files: Vec<web_sys::File>,
) -> Result<Vec<(String, Vec<u8>)>, String> {
    let mut out = Vec::new();
    for file in files {
        let name = file.name();
        let buffer = wasm_bindgen_futures::JsFuture::from(file.array_buffer())
            .await
            .map_err(|e| format!("{name}: could not be read ({e:?})"))?;
        out.push((name, js_sys::Uint8Array::new(&buffer).to_vec()));
    }
    Ok(out)
}

#[component]
pub fn CheckpointPanel() -> impl IntoView {
    let state = expect_context::<LabState>();
    let language = expect_context::<Language>();
    let words = move || language.page();
    let (outcome, set_outcome) = signal(None::<Outcome>);
    let open = move |files: Vec<web_sys::File>| {
        if files.is_empty() {
            return;
        }
        spawn_local(async move {
            let result = match read_files(files).await {
                Ok(files) => state.open_checkpoint(&files),
                Err(error) => Err(error),
            };
            set_outcome.set(Some(match result {
                Ok(name) => Outcome::Done(format!("Opened as {name}.")),
                Err(error) => Outcome::Failed(error),
            }));
        });
    };
    let picked = move |ev: leptos::ev::Event| {
        let input: web_sys::HtmlInputElement = event_target(&ev);
        open(file_vec(input.files()));
        // Picking the same files again fires `change` again.
        input.set_value("");
    };
    let dropped = move |ev: leptos::ev::DragEvent| {
        ev.prevent_default();
        open(file_vec(ev.data_transfer().and_then(|d| d.files())));
    };
    let save = move |_| {
        spawn_local(async move {
            set_outcome.set(Some(match state.checkpoint_of_newest().await {
                Ok((name, bytes)) => {
                    let part = js_sys::Uint8Array::from(bytes.as_slice());
                    match download(&name, "application/octet-stream", &part.into()) {
                        Ok(()) => Outcome::Done(format!("Saved {name}.")),
                        Err(error) => Outcome::Failed(format!("{error:?}")),
                    }
                }
                Err(error) => Outcome::Failed(error),
            }));
        });
    };
    view! {
        <section class="panel checkpoints" data-testid="checkpoints">
            <h2>{move || words().checkpoints_heading}</h2>
            <p>
                {move || words().checkpoints_hint[0]} <code>"archlab train --resume"</code>
                {move || words().checkpoints_hint[1]}
            </p>
            <div class="buttons">
                <button data-testid="save-checkpoint" on:click=save>
                    {move || words().save_newest}
                </button>
                <label class="file">
                    {move || words().open_files}
                    <input type="file" multiple accept=".safetensors,.json"
                        data-testid="open-files" on:change=picked />
                </label>
                <label class="file">
                    {move || words().open_folder}
                    <input type="file" data-testid="open-folder" on:change=picked
                        prop:webkitdirectory=true />
                </label>
            </div>
            <div class="dropzone" data-testid="dropzone"
                on:dragover=move |ev: leptos::ev::DragEvent| ev.prevent_default()
                on:drop=dropped>
                {move || words().drop_here}
            </div>
            {move || outcome.get().map(|outcome| match outcome {
                // Our sentences ("Saved {name}.") and the lab's refusals, in the page's language.
                Outcome::Done(text) => view! {
                    <p data-testid="checkpoint-outcome">{i18n::translate(language.get(), &text)}</p>
                }.into_any(),
                Outcome::Failed(text) => view! {
                    <p class="error" role="alert" data-testid="checkpoint-outcome">
                        {i18n::translate(language.get(), &text)}
                    </p>
                }.into_any(),
            })}
        </section>
    }
}

/// The element behind an input event, as its type.
pub(super) fn event_target<T: JsCast>(ev: &leptos::ev::Event) -> T {
    ev.target()
        .expect("an event from an element")
        .unchecked_into()
}
