//! The page's language (`lab::i18n`): the URL's `lang`, else the browser's, shared through
//! context so every component reads its words from it, and the switch (English / 中文) in the
//! header. The lab keeps the choice for the URL (`Lab::url_settings`).

use leptos::prelude::*;

use crate::lab::i18n::{self, Lang};
use crate::lab::page_text::{self, PageText};
use crate::lab::tour_text::{self, TourText};
use crate::lab::url;

#[derive(Clone, Copy)]
pub struct Language {
    /// The language the URL or the switch named, if any.
    pub chosen: RwSignal<Option<Lang>>,
    /// The browser's (`navigator.language`).
    pub browser: Lang,
}

impl Language {
    /// The URL's language (a bad value is left to the lab, which refuses it by name), else the
    /// browser's.
    pub fn from_page() -> Self {
        let window = web_sys::window();
        let query = (window.as_ref())
            .and_then(|w| w.location().search().ok())
            .unwrap_or_default();
        let chosen = url::decode(&query)
            .into_iter()
            .filter(|(key, _)| key == i18n::URL_KEY)
            .find_map(|(_, value)| Lang::parse(&value).ok());
        let browser = (window.and_then(|w| w.navigator().language()))
            .map_or(Lang::En, |language| Lang::of_browser(&language));
        Self {
            chosen: RwSignal::new(chosen),
            browser,
        }
    }

    /// The page's language (tracked).
    pub fn get(self) -> Lang {
        self.chosen.get().unwrap_or(self.browser)
    }

    /// The page's words in its language (tracked).
    pub fn page(self) -> &'static PageText {
        page_text::of(self.get())
    }

    /// The tour's words in the page's language (tracked).
    pub fn tour(self) -> &'static TourText {
        tour_text::of(self.get())
    }
}

/// English / 中文, each button in its own language; the document's `lang` follows, so screen
/// readers and fonts pick the right language.
#[component]
pub fn LanguageSwitch() -> impl IntoView {
    let language = expect_context::<Language>();
    Effect::new(move |_| {
        let tag = match language.get() {
            Lang::En => "en",
            Lang::Zh => "zh-CN",
        };
        let root = web_sys::window()
            .and_then(|w| w.document())
            .and_then(|d| d.document_element());
        if let Some(root) = root {
            let _ = root.set_attribute("lang", tag);
        }
    });
    view! {
        <div class="language-switch" role="group" aria-label=move || language.page().language>
            {Lang::ALL
                .into_iter()
                .map(|lang| {
                    view! {
                        <button data-testid=format!("lang-{}", lang.code())
                            lang=lang.code()
                            aria-pressed=move || (language.get() == lang).to_string()
                            on:click=move |_| language.chosen.set(Some(lang))>
                            {lang.name()}
                        </button>
                    }
                })
                .collect_view()}
        </div>
    }
}
