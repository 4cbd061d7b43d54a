//! A lost device natively (wgpu's device-lost callback): the run stops with an error naming the
//! loss and keeps its history; nothing panics or waits forever.
#![cfg(not(target_arch = "wasm32"))]

use crate::common;

use std::rc::Rc;

use archlab::contract::engine::wait;
use archlab::lab::engine::open_engine;
use archlab::train::run::RunConfig;
use archlab::train::session::Session;

#[test]
fn a_lost_device_stops_the_run_with_its_reason() {
    let Some(ctx) = common::gpu() else {
        return;
    };
    let ctx = Rc::new(ctx);
    let mut run = RunConfig::default();
    for (key, value) in [
        ("model.d_model", "16"),
        ("model.n_layers", "1"),
        ("model.n_heads", "2"),
        ("model.n_kv_heads", "2"),
        ("model.context_len", "8"),
        ("train.seq_len", "8"),
        ("train.batch_size", "2"),
        ("train.steps", "20"),
    ] {
        run.set(key, value).unwrap();
    }
    let data = run.build_data(None).unwrap();
    run.model.vocab_size = data.vocab_size();
    let mut engine = open_engine(&run, Some(&ctx)).unwrap();
    let mut session = Session::new(run, data);
    // Two steps (the first evaluates), then nothing in flight.
    let mut limit = 2;
    while session.steps_done() < 2 {
        for validation in session.pump(engine.as_mut(), &|| 0.0, 2, limit).unwrap() {
            session.wait_validation(validation).unwrap();
        }
        limit = 0;
        if engine.in_flight() > 0 {
            wait(engine.next_report()).unwrap();
        }
    }
    assert_eq!(session.steps_done(), 2);

    ctx.device.destroy();
    let error = session
        .run_blocking(engine.as_mut(), 2, &|| 0.0, |_| {})
        .expect_err("a lost device fails the run");
    assert!(
        error.0.contains("the device was lost (destroyed"),
        "the error names the loss: {error}"
    );
    assert_eq!(session.steps_done(), 2, "the history stays");
    assert!(
        wait(engine.start_state()).is_err(),
        "reads fail rather than hang"
    );
}
