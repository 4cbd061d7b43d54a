//! Runs kept across reloads, on the page: the lab opened from what the browser kept (or a
//! fresh one, with a notice, when that cannot be used), the runs kept again when due
//! (`SaveMark::due`: at once after a change, every `SAVE_EVERY_SECONDS` while training), and
//! the bar that says so, with the control that forgets them. A shared session's link opens in
//! their place.

use std::rc::Rc;

use leptos::prelude::*;
use leptos::task::spawn_local;

use super::lab_state::{now_ms, LabState};
use super::language::Language;
use super::storage;
use crate::gpu::GpuContext;
use crate::lab::{self, i18n, session, store, Lab, Reopened, SaveMark};

/// What the browser kept, as `storage::load` read it.
pub type Loaded = Result<Option<store::Kept>, String>;

/// The line the bar shows.
#[derive(Clone, Debug, PartialEq)]
pub enum Notice {
    /// Runs came back: what, and how the newest continues.
    Restored(String),
    /// Something kept could not be used or written, or was forgotten.
    Problem(String),
}

/// Keeping runs: what was last kept and when, and whether a save is on its way.
#[derive(Clone, Copy)]
pub struct Keeper {
    /// The runs as last kept (at first, as the page opened: a fresh run is kept once it has
    /// trained for a while, restored runs once they change).
    last_mark: StoredValue<SaveMark, LocalStorage>,
    last_ms: StoredValue<f64>,
    saving: StoredValue<bool>,
    /// Off after the visitor forgot the runs, or a write failed, until the page reloads.
    enabled: StoredValue<bool>,
    pub notice: RwSignal<Option<Notice>>,
}

/// The lab as it opened, before the page shows it: the notice the bar shows about it, and
/// whether a shared session's link opened it.
pub struct OpenedLab {
    pub lab: Lab,
    notice: Option<Notice>,
    pub from_link: bool,
    /// A fresh lab (nothing brought back): its data is built, its first run not yet started.
    fresh: bool,
}

impl OpenedLab {
    /// Starts a fresh lab's first run (see `Lab::with_data`); runs brought back are as they
    /// were.
    pub fn start_first_run(&mut self) {
        if self.fresh {
            self.lab.start_first_run();
        }
    }
}

/// The lab opened with the URL's `settings`: the kept runs back if they are whole and can be
/// rebuilt, else a fresh lab and the reason (the kept copy is then cleared).
pub fn open_lab(
    gpu: Option<Rc<GpuContext>>,
    settings: &[(String, String)],
    loaded: Loaded,
) -> OpenedLab {
    // A shared session's link (`lab::session`) opens in place of the kept runs.
    let (settings, shared) = session::from_settings(settings);
    let settings = settings.as_slice();
    let from_link = shared.is_some();
    let shared = shared.map(|read| {
        read.and_then(|restored| Lab::reopen(lab::page_defaults(), settings, gpu.clone(), restored))
    });
    let (lab, notice) = match shared {
        Some(Ok(lab)) => {
            let notice = Notice::Restored(lab.reopened_notice(Reopened::Link));
            (lab, Some(notice))
        }
        Some(Err(error)) => {
            let refused = format!("The shared link could not be opened: {error}");
            let (lab, notice) = open_kept(&gpu, settings, loaded);
            let notice = match notice {
                Some(Notice::Restored(text)) => Notice::Restored(format!("{refused}. {text}")),
                Some(Notice::Problem(text)) => Notice::Problem(format!("{refused}. {text}")),
                None => Notice::Problem(format!("{refused}.")),
            };
            (lab, Some(notice))
        }
        None => open_kept(&gpu, settings, loaded),
    };
    // A lab is fresh (`Lab::with_data`) unless runs came back, which the notice says.
    let fresh = !matches!(notice, Some(Notice::Restored(_)));
    OpenedLab {
        lab,
        notice,
        from_link,
        fresh,
    }
}

/// The lab with the runs the browser kept, or a fresh one, and the notice saying which.
fn open_kept(
    gpu: &Option<Rc<GpuContext>>,
    settings: &[(String, String)],
    loaded: Loaded,
) -> (Lab, Option<Notice>) {
    let fresh = || Lab::with_data(lab::page_defaults(), settings, gpu.clone());
    match loaded {
        Ok(None) => (fresh(), None),
        Ok(Some(kept)) => {
            let reopened = store::restore_kept(&kept).and_then(|restored| {
                Lab::reopen(lab::page_defaults(), settings, gpu.clone(), restored)
            });
            match reopened {
                Ok(lab) => {
                    let notice = Notice::Restored(lab.restored_notice());
                    (lab, Some(notice))
                }
                Err(error) => {
                    spawn_local(async {
                        let _ = storage::clear().await;
                    });
                    let notice =
                        format!("Saved runs could not be restored: {error}; they were cleared.");
                    (fresh(), Some(Notice::Problem(notice)))
                }
            }
        }
        Err(error) => (
            fresh(),
            Some(Notice::Problem(format!(
                "Saved runs could not be read: {error}."
            ))),
        ),
    }
}

impl Keeper {
    /// Keeping the runs of the lab `opened`, which are as good as kept now.
    pub fn new(opened: &OpenedLab) -> Self {
        Self {
            last_mark: StoredValue::new_local(opened.lab.save_mark()),
            last_ms: StoredValue::new(now_ms()),
            saving: StoredValue::new(false),
            enabled: StoredValue::new(true),
            notice: RwSignal::new(opened.notice.clone()),
        }
    }

    /// Whether the page opened with runs brought back (it then waits for play).
    pub fn restored(&self) -> bool {
        matches!(self.notice.get_untracked(), Some(Notice::Restored(_)))
    }
}

impl LabState {
    /// Keeps the runs in the browser's storage when due (see `SaveMark::due`), in a task of its
    /// own; one save at a time, and a check again after it.
    pub fn keep_if_due(&self) {
        let keeper = self.keeper;
        if keeper.saving.get_value() || !keeper.enabled.get_value() {
            return;
        }
        let mark = self.lab.with_value(Lab::save_mark);
        let since = (now_ms() - keeper.last_ms.get_value()) / 1000.0;
        let last = keeper.last_mark.get_value();
        if !mark.due(&last, self.playing.get_untracked(), since) {
            return;
        }
        keeper.saving.set_value(true);
        let state = *self;
        spawn_local(async move {
            state.keep().await;
            keeper.saving.set_value(false);
            // What changed meanwhile (a run that finished during the save) is kept now.
            state.keep_if_due();
        });
    }

    /// Keeps the runs, the newest run's checkpoint (within `store::CHECKPOINT_CAP`) and its
    /// imported tokenizer (`Lab::kept_tokenizer`). The checkpoint comes first, then the runs
    /// as they stand at its step. On the GPU, reading a
    /// checkpoint pauses the run and waits for its steps in flight, so while the run trains its
    /// newest resume point is kept instead (`lab::resume`, at most `RESUME_EVERY` steps old:
    /// a reload continues from there, its history cut to that step). A write the browser
    /// refuses (over its quota) clears what was kept and stops keeping, with a notice.
    async fn keep(&self) {
        let keeper = self.keeper;
        let playing_on_gpu = self.playing.get_untracked() && self.lab.with_value(Lab::on_gpu);
        let newest_fits = self.lab.with_value(|lab| {
            lab.runs.last().is_some_and(|run| {
                run.engine.is_some() && store::check_checkpoint_size(&run.session.run.model).is_ok()
            })
        });
        let checkpoint = match (newest_fits, playing_on_gpu) {
            (false, _) => None,
            (true, true) => self
                .lab
                .with_value(|lab| lab.runs.last().and_then(|run| run.resume_from().cloned())),
            (true, false) => self
                .newest_checkpoint()
                .await
                .ok()
                .map(|(_, checkpoint)| checkpoint),
        };
        let checkpoint = checkpoint.and_then(|c| store::checkpoint_file(&c).ok());
        let (kept, mark) = self.lab.with_value(|lab| {
            let kept = store::Kept {
                runs: lab.saved_runs().to_json(),
                checkpoint,
                tokenizer: lab.kept_tokenizer().map(str::to_owned),
            };
            (kept, lab.save_mark())
        });
        match storage::save(&kept).await {
            Ok(()) => {
                keeper.last_mark.set_value(mark);
                keeper.last_ms.set_value(now_ms());
            }
            Err(error) => {
                keeper.enabled.set_value(false);
                let _ = storage::clear().await;
                keeper.notice.set(Some(Notice::Problem(format!(
                    "Runs could not be kept in this browser: {error}; the saved runs were \
                     cleared, and this page keeps none until it is reloaded."
                ))));
            }
        }
    }

    /// Forgets the kept runs; this page keeps none until it is reloaded.
    pub fn forget_saved(&self) {
        let keeper = self.keeper;
        keeper.enabled.set_value(false);
        spawn_local(async move {
            let notice = match storage::clear().await {
                Ok(()) => "Saved runs forgotten: a reload starts afresh (this page keeps no \
                           runs until then)."
                    .to_string(),
                Err(error) => format!("Saved runs could not be forgotten: {error}."),
            };
            keeper.notice.set(Some(Notice::Problem(notice)));
        });
    }
}

/// The bar under the toolbar: what a reload brought back or why it did not, and the control
/// that forgets the kept runs.
#[component]
pub fn SavedRunsBar() -> impl IntoView {
    let language = expect_context::<Language>();
    let words = move || language.page();
    let state = expect_context::<LabState>();
    let notice = state.keeper.notice;
    view! {
        <div class="saved-runs" data-testid="saved-runs">
            {move || match notice.get() {
                Some(Notice::Restored(text)) => {
                    let text = i18n::translate(language.get(), &text);
                    view! { <p role="status" data-testid="saved-notice">{text}</p> }.into_any()
                }
                Some(Notice::Problem(text)) => {
                    let text = i18n::translate(language.get(), &text);
                    view! { <p class="warning" role="alert" data-testid="saved-notice">{text}</p> }
                        .into_any()
                }
                None => {
                    view! {
                        <p>{words().runs_kept}</p>
                    }
                        .into_any()
                }
            }}
            <button data-testid="forget-saved" on:click=move |_| state.forget_saved()>
                {move || words().forget_saved}
            </button>
        </div>
    }
}
