//! A whole session to share: the runs being compared (configurations, names, statuses,
//! histories) and the page's experiment, as the JSON the page keeps across reloads
//! (`store::SavedRuns`). As a link, that JSON is deflated and written in base64url under the
//! URL's `session` key, beside the newest run's settings; a link longer than [`LINK_LIMIT`]
//! leaves the histories out, and when even that is too long only the session file (the JSON,
//! downloaded) carries it. No parameters travel: the newest run and a training experiment
//! start again when the visitor asks, and the notice says so.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;

use super::engine_choice::{self, EngineChoice};
use super::store::{self, Restored, SavedRuns, StoreError};
use super::{url, Lab};
use crate::train::corpus::TEXT_LIMIT;
use crate::train::session::RunStatus;

/// The longest link the page offers, in bytes of URL: links of 8 KB pass through browsers,
/// servers and chat programs that cut longer ones.
pub const LINK_LIMIT: usize = 8 * 1024;
/// The URL's key for the session.
pub const URL_KEY: &str = "session";
/// The session file's name.
pub const FILE_NAME: &str = "archlab-session.json";
/// The most bytes a link's session may inflate to: the visitor's text (at most
/// [`TEXT_LIMIT`]) and as much again of runs. A link is at most [`LINK_LIMIT`] long, so this
/// only stops a crafted link from exhausting memory.
const INFLATED_LIMIT: usize = 2 * TEXT_LIMIT;

/// What the link holds.
#[derive(Clone, Debug, PartialEq)]
pub enum Link {
    /// Runs and experiment with their histories.
    Whole(String),
    /// Configurations only: with their histories it was over [`LINK_LIMIT`].
    WithoutHistories(String),
    /// Over [`LINK_LIMIT`] even without histories (this many bytes): only the file carries it.
    TooLong(usize),
}

/// A session read, or why it cannot be.
pub type Opened = Result<Restored, StoreError>;

/// A session to share: the link and the file's JSON (always whole).
#[derive(Clone, Debug, PartialEq)]
pub struct Shared {
    pub link: Link,
    pub file: String,
}

/// `saved` as a link's value: its JSON deflated, in base64url.
pub fn encode(saved: &SavedRuns) -> String {
    let deflated = miniz_oxide::deflate::compress_to_vec(saved.to_json().as_bytes(), 9);
    URL_SAFE_NO_PAD.encode(deflated)
}

/// A link's value back as the session's JSON, or why it cannot be read.
pub fn decode(value: &str) -> Result<String, StoreError> {
    let refused = |reason: &str| StoreError(format!("the link's session {reason}"));
    let deflated = URL_SAFE_NO_PAD
        .decode(value)
        .map_err(|_| refused("is not base64url (the link was cut or changed)"))?;
    let json = miniz_oxide::inflate::decompress_to_vec_with_limit(&deflated, INFLATED_LIMIT)
        .map_err(|_| refused("does not inflate (the link was cut or changed)"))?;
    String::from_utf8(json).map_err(|_| refused("is not text"))
}

/// `saved` without its histories: the runs' and lanes' configurations, the experiment to
/// train again from step 0.
fn without_histories(mut saved: SavedRuns) -> SavedRuns {
    for run in &mut saved.runs {
        run.history.clear();
    }
    if let Some(experiment) = &mut saved.experiment {
        experiment.stopped = false;
        for lane in &mut experiment.lanes {
            lane.history.clear();
            lane.status = RunStatus::Training;
        }
    }
    saved
}

/// Reads a session file's bytes (see [`store::restore`]; no checkpoint).
pub fn read_file(bytes: &[u8]) -> Result<Restored, StoreError> {
    let refused = |reason: String| StoreError(format!("the session file: {reason}"));
    let json = std::str::from_utf8(bytes).map_err(|_| refused("it is not text (UTF-8)".into()))?;
    store::restore(json, None).map_err(|e| refused(e.0))
}

/// The session in a page's URL `settings`, if there is one: the settings without it, and the
/// session read (or why it cannot be).
pub fn from_settings(settings: &[(String, String)]) -> (Vec<(String, String)>, Option<Opened>) {
    let (session, rest): (Vec<_>, Vec<_>) =
        (settings.iter().cloned()).partition(|(key, _)| key == URL_KEY);
    let read = session.last().map(|(_, value)| {
        decode(value).and_then(|json| {
            store::restore(&json, None).map_err(|e| StoreError(format!("the link's session: {e}")))
        })
    });
    (rest, read)
}

impl Lab {
    /// The session to share from the page at `page` (its address without query or fragment):
    /// the link with histories if it fits in [`LINK_LIMIT`], else without them if that fits;
    /// the file whole.
    pub fn share(&self, page: &str) -> Shared {
        let whole = self.saved_runs();
        let file = whole.to_json();
        let link_to = |saved: &SavedRuns| {
            let mut settings = self.session_settings(saved);
            settings.push((URL_KEY.to_string(), encode(saved)));
            format!("{page}{}", url::encode(&settings))
        };
        let with_histories = link_to(&whole);
        let link = if with_histories.len() <= LINK_LIMIT {
            Link::Whole(with_histories)
        } else {
            let bare = link_to(&without_histories(whole));
            match bare.len() <= LINK_LIMIT {
                true => Link::WithoutHistories(bare),
                false => Link::TooLong(bare.len()),
            }
        };
        Shared { link, file }
    }

    /// The page opened with the session file `bytes` in place of this one, on the same device
    /// and engine choice; this page stays as it is when the file is refused.
    pub fn open_session_file(&self, bytes: &[u8]) -> Result<Lab, StoreError> {
        let restored = read_file(bytes)?;
        let settings = self.session_settings(&restored.runs);
        Lab::reopen(self.base.clone(), &settings, self.device.clone(), restored)
            .map_err(|e| StoreError(format!("the session file: {e}")))
    }

    /// The settings a session opens with: the newest run's (so that no run starts of its own),
    /// or the controls' when there is none; and this page's engine choice.
    fn session_settings(&self, saved: &SavedRuns) -> Vec<(String, String)> {
        let Some(newest) = saved.runs.last() else {
            return self.url_settings();
        };
        let mut settings = newest.requested.settings_differing_from(&self.base);
        if self.engine_choice != EngineChoice::Auto {
            let choice = self.engine_choice.as_str().to_string();
            settings.push((engine_choice::URL_KEY.to_string(), choice));
        }
        settings
    }
}

// Natively: the CPU engine's steps complete at once.
#[cfg(test)]
#[cfg(not(target_arch = "wasm32"))]
mod tests {
    use super::*;
    use crate::lab::i18n::Lang;
    use crate::lab::page_defaults;
    use crate::lab::tests::{clock, settings};

    const PAGE: &str = "http://127.0.0.1:8000/";

    /// Two runs of `steps` steps at a tiny scale, the second with QK-norm, and an experiment
    /// one round in.
    fn session_lab(steps: &str) -> Lab {
        let tiny = [
            ("model.d_model", "16"),
            ("model.n_layers", "1"),
            ("train.steps", steps),
        ];
        let mut lab = Lab::new(page_defaults(), &settings(&tiny), None);
        let now = clock();
        while lab.train(1.0, &now) > 0 {}
        lab.change("model.qk_norm", "true");
        while lab.train(1.0, &now) > 0 {}
        lab.start_experiment("final-norm").unwrap();
        lab.train(0.0, &now);
        lab
    }

    /// Opens `link` as the page does: its query's settings, the session among them.
    fn open_link(link: &str) -> Lab {
        let query = link.strip_prefix(PAGE).expect("the page's address");
        let (rest, session) = from_settings(&url::decode(query));
        Lab::reopen(page_defaults(), &rest, None, session.unwrap().unwrap()).unwrap()
    }

    /// Each run's (id, name, status, steps, losses), and the experiment's banner and lanes.
    fn shown(lab: &Lab) -> (Vec<String>, String, Vec<usize>) {
        let runs = (lab.runs.iter())
            .map(|r| {
                let losses: Vec<f32> = r.session.history.iter().map(|h| h.loss).collect();
                let steps = r.session.steps_done();
                format!(
                    "{} {} {:?} {steps} {losses:?}",
                    r.id,
                    r.name(Lang::En),
                    r.session.status
                )
            })
            .collect();
        let experiment = lab.experiment.as_ref().unwrap();
        let lanes = (experiment.lockstep.lanes.iter())
            .map(|l| l.session.history.len())
            .collect();
        (runs, experiment.banner(Lang::En), lanes)
    }

    #[test]
    fn a_short_session_travels_whole_in_its_link() {
        let lab = session_lab("3");
        let shared = lab.share(PAGE);
        let Link::Whole(link) = &shared.link else {
            panic!("fits: {:?}", shared.link);
        };
        assert!(link.len() <= LINK_LIMIT, "{}", link.len());
        assert!(link.starts_with(&format!("{PAGE}?")), "{link}");
        let back = open_link(link);
        assert_eq!(back.runs.len(), 2, "the same runs, none started");
        let (runs, banner, lanes) = shown(&back);
        assert_eq!((&runs, &lanes), (&shown(&lab).0, &shown(&lab).2));
        assert!(
            runs[1].starts_with("2 run 2: +QK-norm Finished 3 "),
            "{runs:?}"
        );
        assert_eq!(
            banner,
            "experiment final-norm: step 1 of 3 (play restarts it from step 0), 2 variants × 2 \
             seeds"
        );
        assert_eq!(lanes, [1; 4]);
        assert_eq!(
            back.draft, lab.runs[1].requested,
            "the newest run's settings"
        );
        let notice = back.reopened_notice(crate::lab::Reopened::Link);
        assert!(
            notice.starts_with(
                "Restored 2 runs from the shared link; run 2: +QK-norm's parameters do not \
                 travel in a shared session: Reset trains it again; experiment final-norm"
            ),
            "{notice}"
        );
        assert!(
            notice.contains("so play restarts it from step 0"),
            "{notice}"
        );
        // The file holds the same.
        let from_file = lab.open_session_file(shared.file.as_bytes()).unwrap();
        assert_eq!(shown(&from_file), shown(&back));
    }

    #[test]
    fn a_long_session_leaves_its_histories_to_the_file() {
        let lab = session_lab("300");
        let shared = lab.share(PAGE);
        let Link::WithoutHistories(link) = &shared.link else {
            panic!("without histories: {:?}", shared.link);
        };
        assert!(link.len() <= LINK_LIMIT);
        let back = open_link(link);
        let (runs, banner, lanes) = shown(&back);
        assert_eq!(runs.len(), 2);
        assert!(runs[0].starts_with("1 run 1: "), "{runs:?}");
        assert!(back.runs.iter().all(|r| r.session.history.is_empty()));
        assert_eq!(lanes, [0; 4], "the experiment's configurations only");
        assert!(
            banner.contains("step 0 of 300 (play restarts it"),
            "{banner}"
        );
        // The file carries everything.
        let whole = lab.open_session_file(shared.file.as_bytes()).unwrap();
        let ((runs, _, lanes), (all_runs, _, all_lanes)) = (shown(&whole), shown(&lab));
        assert_eq!((runs, lanes), (all_runs, all_lanes));
    }

    #[test]
    fn a_session_over_the_limit_even_without_histories_is_file_only() {
        let mut lab = Lab::new(page_defaults(), &settings(&[("train.steps", "2")]), None);
        // 20 000 letters that deflate poorly: a multiplicative congruential sequence.
        let mut x: u64 = 1;
        let text: String = (0..20_000)
            .map(|_| {
                x = x
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                char::from(b'a' + (x >> 59) as u8 % 26)
            })
            .collect();
        assert!(lab.train_on_text(text.as_bytes()));
        let shared = lab.share(PAGE);
        let Link::TooLong(bytes) = shared.link else {
            panic!("too long: {:?}", shared.link);
        };
        assert!(bytes > LINK_LIMIT, "{bytes}");
        let back = lab.open_session_file(shared.file.as_bytes()).unwrap();
        assert_eq!(back.user_text, text, "the file holds the visitor's text");
        assert_eq!(back.runs.len(), lab.runs.len());
    }

    #[test]
    fn bad_links_and_files_are_refused_with_the_reason() {
        let lab = session_lab("3");
        let file = lab.share(PAGE).file;
        let refused = |bytes: &[u8]| lab.open_session_file(bytes).err().expect("refused").0;
        assert_eq!(
            refused(b"\xff\xfe"),
            "the session file: it is not text (UTF-8)"
        );
        let version = file.replace("\"version\":1", "\"version\":2");
        assert_eq!(
            refused(version.as_bytes()),
            "the session file: they were saved in version 2 of the format, and this page reads \
             version 1"
        );
        let unknown = file.replace("\"final-norm\"", "\"no-such\"");
        assert_eq!(
            refused(unknown.as_bytes()),
            "the session file: unknown experiment \"no-such\""
        );
        assert!(refused(b"{\"format\":\"other\"}").contains("not archlab's saved runs"));
        // A run too big for the engine's memory is refused before its batches are allocated.
        let huge = file.replace("\"batch_size\":8", "\"batch_size\":800000000000");
        let reason = refused(huge.as_bytes());
        assert!(
            reason.starts_with("the session file: run 1 cannot be rebuilt: ")
                && reason.contains("more than"),
            "{reason}"
        );
        for cut in (0..file.len()).step_by(97) {
            let reason = refused(&file.as_bytes()[..cut]);
            assert!(reason.starts_with("the session file: "), "{cut}: {reason}");
        }
        // The link's value, cut or changed.
        let value = encode(&lab.saved_runs());
        let read = |value: &str| {
            let (_, session) = from_settings(&[(URL_KEY.to_string(), value.to_string())]);
            session.unwrap().expect_err("refused").0
        };
        assert_eq!(
            read(&value[..value.len() / 8 * 4]),
            "the link's session does not inflate (the link was cut or changed)"
        );
        assert_eq!(
            read("not base64!"),
            "the link's session is not base64url (the link was cut or changed)"
        );
        let other = encode(&{
            let mut saved = lab.saved_runs();
            saved.next_id = 1;
            saved
        });
        assert!(read(&other).starts_with("the link's session: run 1: its id"));
        // Settings without a session have none, and keep every other pair.
        let plain = settings(&[("train.lr", "0.01")]);
        assert_eq!(from_settings(&plain), (plain.clone(), None));
    }
}
