//! Step reports on their way back from the GPU: each step's statistics and views are copied
//! into a staging buffer at the end of its submit and mapped asynchronously. The queue keeps
//! them in step order, reuses staging buffers once read (two suffice when reading keeps up),
//! and wakes whoever awaits the oldest.

use std::collections::VecDeque;
use std::future::Future;
use std::sync::{Arc, Mutex};

use futures_channel::oneshot;

use super::context::{poll_then_wait, take_mapped};
use super::plan::STEP_NORMS_LAYERS_AT;
use super::{GpuContext, GpuError};
use crate::contract::{LayerNorms, StepReport, StepStats, ViewStats};

/// A step's read-back, in floats: the loss statistics (`loss::STATS_LEN`: mean cross-entropy,
/// mean z-loss, count, mean log Z), then the plan's step norms (gradient, parameters, each
/// layer's gradient: `plan::STEP_NORMS_LAYERS_AT + L`), then the view statistics (`4 L`).
pub(super) fn step_read_back_len(n_layers: usize) -> usize {
    VIEWS_AT_LAYER_0 + 5 * n_layers
}

/// Where the step norms start in a step's read-back.
pub(super) const STEP_NORMS_AT: usize = super::loss::STATS_LEN;

/// Where the view statistics start in a step's read-back, less one float per layer.
const VIEWS_AT_LAYER_0: usize = STEP_NORMS_AT + STEP_NORMS_LAYERS_AT;

/// The views of a forward from its view statistics' floats (`graph::ModelActs::view_stats`):
/// roots of sums of squares over `stream_len` elements, then maxima.
pub(super) fn view_stats_from_floats(values: &[f32], stream_len: usize) -> ViewStats {
    let n_layers = values.len() / 4;
    let rms =
        |root_sum_squares: f32| (f64::from(root_sum_squares) / (stream_len as f64).sqrt()) as f32;
    let norms = values[..3 * n_layers]
        .chunks_exact(3)
        .map(|layer| LayerNorms {
            residual: rms(layer[0]),
            attn: rms(layer[1]),
            mlp: rms(layer[2]),
        })
        .collect();
    ViewStats {
        max_attention_logits: values[3 * n_layers..4 * n_layers].to_vec(),
        norms,
    }
}

/// Where a step's read-back mapping stands: its result once the callback ran, and the page's
/// loop if it waits for it. Shared with the callback, which natively must be `Send`.
#[derive(Default)]
struct Mapping {
    result: Option<Result<(), wgpu::BufferAsyncError>>,
    waiter: Option<oneshot::Sender<()>>,
}

/// A step whose statistics are on their way back.
struct InFlight {
    step: usize,
    lr: f32,
    /// Elements of each stream the step's view statistics summed over.
    stream_len: usize,
    staging: wgpu::Buffer,
    mapping: Arc<Mutex<Mapping>>,
}

/// The steps in flight, oldest first, and the staging buffers to reuse.
#[derive(Default)]
pub(super) struct ReportQueue {
    in_flight: VecDeque<InFlight>,
    /// Staging buffers whose statistics were read: reused before any new one is made.
    free_staging: Vec<wgpu::Buffer>,
    /// Staging buffers made so far: 2 when double buffering kept up.
    pub(super) staging_made: usize,
}

impl ReportQueue {
    /// A staging buffer of `floats` for the next step's report: a free one, or a new one.
    pub(super) fn staging(&mut self, ctx: &GpuContext, floats: usize) -> wgpu::Buffer {
        self.free_staging.pop().unwrap_or_else(|| {
            self.staging_made += 1;
            ctx.device.create_buffer(&wgpu::BufferDescriptor {
                label: Some("stats read-back"),
                size: (floats * 4) as u64,
                usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
                mapped_at_creation: false,
            })
        })
    }

    /// Starts mapping `staging`, whose copies were just submitted with step `step`.
    pub(super) fn push(&mut self, step: usize, lr: f32, stream_len: usize, staging: wgpu::Buffer) {
        let mapping = Arc::new(Mutex::new(Mapping::default()));
        let shared = mapping.clone();
        staging.map_async(wgpu::MapMode::Read, .., move |result| {
            let mut mapping = shared.lock().unwrap_or_else(|e| e.into_inner());
            mapping.result = Some(result);
            if let Some(waiter) = mapping.waiter.take() {
                // The waiter is gone only if the page stopped waiting; nothing to tell.
                let _ = waiter.send(());
            }
        });
        self.in_flight.push_back(InFlight {
            step,
            lr,
            stream_len,
            staging,
            mapping,
        });
    }

    /// Steps submitted whose reports have not been collected.
    pub(super) fn len(&self) -> usize {
        self.in_flight.len()
    }

    /// The oldest in-flight step's mapping result, once its callback ran.
    fn front_result(&self) -> Option<Result<(), wgpu::BufferAsyncError>> {
        let flight = self.in_flight.front()?;
        let mapping = flight.mapping.lock().unwrap_or_else(|e| e.into_inner());
        mapping.result.clone()
    }

    /// The report of the oldest in-flight step, whose mapping has resolved.
    fn take(&mut self, result: Result<(), wgpu::BufferAsyncError>) -> Result<StepReport, GpuError> {
        let flight = self.in_flight.pop_front().expect("a step in flight");
        result.map_err(|e| GpuError::ReadBack(e.to_string()))?;
        let values = take_mapped(&flight.staging)?;
        self.free_staging.push(flight.staging);
        let n_layers = (values.len() - VIEWS_AT_LAYER_0) / 5;
        let norms = &values[STEP_NORMS_AT..VIEWS_AT_LAYER_0 + n_layers];
        Ok(StepReport {
            stats: StepStats {
                step: flight.step,
                loss: values[0],
                z_loss: values[1],
                grad_norm: norms[0],
                lr: flight.lr,
                log_z: values[3],
                param_norm: norms[1],
            },
            views: view_stats_from_floats(
                &values[VIEWS_AT_LAYER_0 + n_layers..],
                flight.stream_len,
            ),
            layer_grad_norms: norms[STEP_NORMS_LAYERS_AT..].to_vec(),
        })
    }

    /// The report of every step whose read-back has arrived, oldest first, without waiting
    /// (natively the device is polled once; in a browser the event loop delivers).
    pub(super) fn poll(&mut self, ctx: &GpuContext) -> Result<Vec<StepReport>, GpuError> {
        ctx.check_device()?;
        // A poll that finds nothing ready is not an error.
        let _ = ctx.device.poll(wgpu::PollType::Poll);
        let mut done = Vec::new();
        while let Some(result) = self.front_result() {
            done.push(self.take(result)?);
        }
        Ok(done)
    }

    /// Resolves when the oldest step in flight has its report ready for `poll` (at once if it
    /// has, or if nothing is in flight). Borrows nothing, so the page's loop can await it and
    /// yield to the browser, which delivers the mapping; natively it waits for the device.
    pub(super) fn next_report(
        &self,
        device: &wgpu::Device,
    ) -> impl Future<Output = Result<(), GpuError>> + 'static {
        let (sender, receiver) = oneshot::channel();
        match self.in_flight.front() {
            Some(flight) => {
                let mut mapping = flight.mapping.lock().unwrap_or_else(|e| e.into_inner());
                if mapping.result.is_some() {
                    let _ = sender.send(());
                } else {
                    mapping.waiter = Some(sender);
                }
            }
            None => {
                let _ = sender.send(());
            }
        }
        let device = device.clone();
        let mut receiver = receiver;
        async move {
            if poll_then_wait(&device, &mut receiver).await?.is_none() {
                // A dropped sender (the engine is gone) ends the wait just the same.
                let _ = receiver.await;
            }
            Ok(())
        }
    }
}
