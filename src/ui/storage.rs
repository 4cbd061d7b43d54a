//! The browser's storage for runs across reloads: IndexedDB database `archlab`, object store
//! `saved`, three keys: `runs` (the runs' JSON), `checkpoint` (the newest run's checkpoint
//! file) and `tokenizer` (the newest run's imported `tokenizer.json`), the last two absent
//! when none is kept. Only bytes move here (`lab::store::Kept`); what they mean, and whether
//! they are whole, is `lab::store`'s.

use js_sys::{Promise, Uint8Array};
use wasm_bindgen::closure::Closure;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{DomException, IdbDatabase, IdbObjectStore, IdbRequest, IdbTransactionMode};

use crate::lab::store::Kept;

const DATABASE: &str = "archlab";
const STORE: &str = "saved";
const RUNS: &str = "runs";
const CHECKPOINT: &str = "checkpoint";
const TOKENIZER: &str = "tokenizer";

/// What the browser said went wrong, as "QuotaExceededError: ...".
fn reason(error: &JsValue) -> String {
    if let Some(dom) = error.dyn_ref::<DomException>() {
        return format!("{}: {}", dom.name(), dom.message());
    }
    if let Some(error) = error.dyn_ref::<js_sys::Error>() {
        return format!("{}: {}", error.name(), error.message());
    }
    error.as_string().unwrap_or_else(|| format!("{error:?}"))
}

/// A request whose handlers are set at once (before any await, so no event is missed).
struct Waiting<'a> {
    request: &'a IdbRequest,
    settled: JsFuture,
}

impl<'a> Waiting<'a> {
    fn on(request: &'a IdbRequest) -> Self {
        let promise = Promise::new(&mut |resolve, reject| {
            request.set_onsuccess(Some(&resolve));
            request.set_onerror(Some(&reject));
        });
        Self {
            request,
            settled: JsFuture::from(promise),
        }
    }

    /// The request's result, or the browser's reason.
    async fn result(self) -> Result<JsValue, String> {
        match self.settled.await {
            Ok(_) => self.request.result().map_err(|e| reason(&e)),
            Err(_) => Err(match self.request.error() {
                Ok(Some(error)) => reason(&error.into()),
                _ => "the request failed".into(),
            }),
        }
    }
}

/// The database, made with its store on first use.
async fn open() -> Result<IdbDatabase, String> {
    let factory = web_sys::window()
        .and_then(|w| w.indexed_db().ok().flatten())
        .ok_or("this browser offers no IndexedDB")?;
    let request = factory.open_with_u32(DATABASE, 1).map_err(|e| reason(&e))?;
    let create = Closure::<dyn FnMut(web_sys::Event)>::new(|event: web_sys::Event| {
        let database = event
            .target()
            .and_then(|t| t.unchecked_into::<IdbRequest>().result().ok());
        if let Some(database) = database {
            let _ = database
                .unchecked_into::<IdbDatabase>()
                .create_object_store(STORE);
        }
    });
    request.set_onupgradeneeded(Some(create.as_ref().unchecked_ref()));
    let database = Waiting::on(&request).result().await;
    request.set_onupgradeneeded(None);
    Ok(database?.unchecked_into())
}

/// The store in a transaction of `mode`.
fn store(database: &IdbDatabase, mode: IdbTransactionMode) -> Result<IdbObjectStore, String> {
    database
        .transaction_with_str_and_mode(STORE, mode)
        .and_then(|t| t.object_store(STORE))
        .map_err(|e| reason(&e))
}

/// Resolves once the store's transaction is committed, or says why it was not (a write over
/// the browser's quota aborts it with QuotaExceededError).
async fn committed(store: &IdbObjectStore) -> Result<(), String> {
    let transaction = store.transaction();
    let promise = Promise::new(&mut |resolve, reject| {
        transaction.set_oncomplete(Some(&resolve));
        transaction.set_onerror(Some(&reject));
        transaction.set_onabort(Some(&reject));
    });
    JsFuture::from(promise).await.map(|_| ()).map_err(|_| {
        transaction
            .error()
            .map_or_else(|| "the write was aborted".into(), |e| reason(&e.into()))
    })
}

/// What was kept, or None when nothing was.
pub async fn load() -> Result<Option<Kept>, String> {
    let database = open().await?;
    let store = store(&database, IdbTransactionMode::Readonly)?;
    let get = |key: &str| store.get(&key.into()).map_err(|e| reason(&e));
    let requests = (get(RUNS)?, get(CHECKPOINT)?, get(TOKENIZER)?);
    let waiting = (
        Waiting::on(&requests.0),
        Waiting::on(&requests.1),
        Waiting::on(&requests.2),
    );
    let runs = waiting.0.result().await?;
    let checkpoint = waiting.1.result().await?;
    let tokenizer = waiting.2.result().await?;
    database.close();
    if runs.is_undefined() {
        return Ok(None);
    }
    let runs = runs.as_string().ok_or("the saved runs are not text")?;
    let checkpoint = match checkpoint.dyn_into::<Uint8Array>() {
        Ok(bytes) => Some(bytes.to_vec()),
        Err(value) if value.is_undefined() => None,
        Err(_) => return Err("the saved checkpoint is not bytes".into()),
    };
    let tokenizer = match tokenizer.as_string() {
        Some(text) => Some(text),
        None if tokenizer.is_undefined() => None,
        None => return Err("the saved tokenizer is not text".into()),
    };
    Ok(Some(Kept {
        runs,
        checkpoint,
        tokenizer,
    }))
}

/// Keeps the runs' JSON, the checkpoint file and the tokenizer (None deletes the one kept
/// before), in one transaction: all or none.
pub async fn save(kept: &Kept) -> Result<(), String> {
    let database = open().await?;
    let store = store(&database, IdbTransactionMode::Readwrite)?;
    let put = store.put_with_key(&kept.runs.as_str().into(), &RUNS.into());
    let put_checkpoint = match &kept.checkpoint {
        Some(bytes) => store.put_with_key(
            &Uint8Array::from(bytes.as_slice()).into(),
            &CHECKPOINT.into(),
        ),
        None => store.delete(&CHECKPOINT.into()),
    };
    let put_tokenizer = match &kept.tokenizer {
        Some(text) => store.put_with_key(&text.as_str().into(), &TOKENIZER.into()),
        None => store.delete(&TOKENIZER.into()),
    };
    (put.and(put_checkpoint).and(put_tokenizer)).map_err(|e| reason(&e))?;
    let done = committed(&store).await;
    database.close();
    done
}

/// Forgets everything kept.
pub async fn clear() -> Result<(), String> {
    let database = open().await?;
    let store = store(&database, IdbTransactionMode::Readwrite)?;
    store.clear().map_err(|e| reason(&e))?;
    let done = committed(&store).await;
    database.close();
    done
}
