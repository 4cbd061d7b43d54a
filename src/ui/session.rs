//! Sharing a whole session (`lab::session`): "Share session" gives a link to the runs being
//! compared and the experiment (or says why only the file can carry them) and offers the
//! session file; "Open session file" opens one in place of this page's runs; "Open run JSON"
//! adds an exported run to the charts (`lab::import_run`). A file refused leaves the page as
//! it was, its reason next to the control.

use leptos::prelude::*;
use leptos::task::spawn_local;

use super::checkpoints::{event_target, file_vec, read_files};
use super::lab_state::LabState;
use super::language::Language;
use super::views::download;
use crate::lab::i18n;
use crate::lab::session::{Link, FILE_NAME, LINK_LIMIT};
use crate::lab::tour_text::fill;
use crate::lab::Reopened;

/// What the panel last did, for the line under its controls.
#[derive(Clone, Debug, PartialEq)]
enum Outcome {
    Done(String),
    Failed(String),
}

impl LabState {
    /// Opens the session file `bytes` in place of this page's runs (see
    /// `Lab::open_session_file`), paused; returns the notice. A refused file changes nothing.
    async fn open_session_file(&self, bytes: &[u8]) -> Result<String, String> {
        let opened = self
            .lab
            .with_value(|lab| lab.open_session_file(bytes))
            .map_err(|e| e.to_string())?;
        self.pause();
        // The loop of this page's engines ends before they go.
        self.loop_ended().await;
        let notice = opened.reopened_notice(Reopened::File);
        self.lab.set_value(opened);
        self.changed();
        Ok(notice)
    }

    /// Adds the run JSON `bytes` to the charts (see `Lab::import_run`); returns what to say.
    fn import_run(&self, bytes: &[u8]) -> Result<String, String> {
        let name = self
            .lab
            .try_update_value(|lab| lab.import_run(bytes).map_err(|e| e.to_string()))
            .unwrap_or_else(|| Err("the page's state is gone".into()))?;
        self.changed();
        Ok(format!(
            "Opened as {name}. A run JSON holds no parameters, so it trains no further: open \
             its checkpoint (Checkpoints, below) to continue it."
        ))
    }
}

/// The page's address without query or fragment, which a session's link starts with.
fn page_address() -> String {
    web_sys::window()
        .map(|window| {
            let location = window.location();
            let origin = location.origin().unwrap_or_default();
            format!("{origin}{}", location.pathname().unwrap_or_default())
        })
        .unwrap_or_default()
}

/// The first file of a picker's change, read; the picker is cleared so that the same file
/// can be picked again.
async fn picked_bytes(ev: leptos::ev::Event) -> Option<Result<Vec<u8>, String>> {
    let input: web_sys::HtmlInputElement = event_target(&ev);
    let files = file_vec(input.files());
    input.set_value("");
    let file = files.into_iter().next()?;
    Some(
        read_files(vec![file])
            .await
            .map(|mut read| read.remove(0).1),
    )
}

#[component]
pub fn SessionPanel() -> impl IntoView {
    let state = expect_context::<LabState>();
    let language = expect_context::<Language>();
    let (outcome, set_outcome) = signal(None::<Outcome>);
    let (link, set_link) = signal(None::<Link>);
    let file = StoredValue::new(None::<String>);
    let share = move |_| {
        let shared = state.lab.with_value(|lab| lab.share(&page_address()));
        file.set_value(Some(shared.file));
        set_link.set(Some(shared.link));
    };
    let save_file = move |_| {
        let Some(json) = file.get_value() else {
            return;
        };
        if let Err(error) = download(FILE_NAME, "application/json", &json.into()) {
            set_outcome.set(Some(Outcome::Failed(format!("{error:?}"))));
        }
    };
    let report = move |result: Result<String, String>| {
        set_outcome.set(Some(match result {
            Ok(text) => Outcome::Done(text),
            Err(error) => Outcome::Failed(error),
        }));
    };
    let open_session = move |ev: leptos::ev::Event| {
        spawn_local(async move {
            if let Some(read) = picked_bytes(ev).await {
                let opened = match read {
                    Ok(bytes) => state.open_session_file(&bytes).await,
                    Err(error) => Err(error),
                };
                report(opened);
            }
        });
    };
    let open_run = move |ev: leptos::ev::Event| {
        spawn_local(async move {
            if let Some(read) = picked_bytes(ev).await {
                report(read.and_then(|bytes| state.import_run(&bytes)));
            }
        });
    };
    let limit = format!("{} KB", LINK_LIMIT / 1024);
    let shared = move || {
        let words = language.page();
        let limit = limit.clone();
        link.get().map(|link| {
            let (address, note) = match link {
                Link::Whole(address) => (Some(address), words.link_whole.to_string()),
                Link::WithoutHistories(address) => (
                    Some(address),
                    fill(words.link_without_histories, &[("limit", &limit)]),
                ),
                Link::TooLong(bytes) => (
                    None,
                    fill(
                        words.link_too_long,
                        &[
                            ("size", &format!("{:.1} KB", bytes as f64 / 1024.0)),
                            ("limit", &limit),
                        ],
                    ),
                ),
            };
            view! {
                {address.map(|address| view! {
                    <input type="text" readonly class="session-link" data-testid="session-link"
                        aria-label=words.session_link_label prop:value=address />
                })}
                <p class="hint" data-testid="session-link-note">{note}</p>
                <button data-testid="save-session" on:click=save_file>{words.download_session}</button>
            }
        })
    };
    let words = move || language.page();
    view! {
        <section class="panel session" data-testid="session">
            <h2>{move || words().session_title}</h2>
            <p>{move || words().session_intro}</p>
            <div class="buttons">
                <button data-testid="share-session" on:click=share>{move || words().share_session}</button>
                <label class="file">
                    {move || words().open_session_file}
                    <input type="file" accept=".json" data-testid="open-session" on:change=open_session />
                </label>
                <label class="file">
                    {move || words().open_run_json}
                    <input type="file" accept=".json" data-testid="open-run-json" on:change=open_run />
                </label>
            </div>
            {shared}
            {move || outcome.get().map(|outcome| match outcome {
                Outcome::Done(text) => view! {
                    <p data-testid="session-outcome">{i18n::translate(language.get(), &text)}</p>
                }.into_any(),
                Outcome::Failed(text) => view! {
                    <p class="error" role="alert" data-testid="session-outcome">{i18n::translate(language.get(), &text)}</p>
                }.into_any(),
            })}
        </section>
    }
}
