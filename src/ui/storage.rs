//! The browser's storage for runs across reloads: IndexedDB database `archlab`, object store
//! `saved`, two keys: `runs` (the runs' JSON) and `checkpoint` (the newest run's checkpoint
//! file, absent when none is kept). Only bytes move here; what they mean, and whether they
//! are whole, is `lab::store`'s.

use js_sys::{Promise, Uint8Array};
use wasm_bindgen::closure::Closure;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{DomException, IdbDatabase, IdbObjectStore, IdbRequest, IdbTransactionMode};

const DATABASE: &str = "archlab";
const STORE: &str = "saved";
const RUNS: &str = "runs";
const CHECKPOINT: &str = "checkpoint";

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

/// What was kept: the runs' JSON and the checkpoint file, or None when nothing was.
pub async fn load() -> Result<Option<(String, Option<Vec<u8>>)>, String> {
    let database = open().await?;
    let store = store(&database, IdbTransactionMode::Readonly)?;
    let get = |key: &str| store.get(&key.into()).map_err(|e| reason(&e));
    let (runs, checkpoint) = (get(RUNS)?, get(CHECKPOINT)?);
    let (runs, checkpoint) = (Waiting::on(&runs), Waiting::on(&checkpoint));
    let (runs, checkpoint) = (runs.result().await?, checkpoint.result().await?);
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
    Ok(Some((runs, checkpoint)))
}

/// Keeps the runs' JSON and the checkpoint file (None deletes the one kept before), in one
/// transaction: both or neither.
pub async fn save(runs: &str, checkpoint: Option<&[u8]>) -> Result<(), String> {
    let database = open().await?;
    let store = store(&database, IdbTransactionMode::Readwrite)?;
    let put = store.put_with_key(&runs.into(), &RUNS.into());
    let put_checkpoint = match checkpoint {
        Some(bytes) => store.put_with_key(&Uint8Array::from(bytes).into(), &CHECKPOINT.into()),
        None => store.delete(&CHECKPOINT.into()),
    };
    put.and(put_checkpoint).map_err(|e| reason(&e))?;
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
