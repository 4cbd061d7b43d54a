//! Kernel timing: one real training step with every kernel in its own timestamped pass, summed
//! per kernel family (shader file) with its number of dispatches, where the device has
//! timestamp queries.

use super::engine::GpuEngine;
use crate::contract::engine::ready;
use crate::contract::{Batch, Engine, FamilyTime, Pending, StepInputs};

impl GpuEngine {
    /// Runs one training step (it updates the parameters) with each kernel timed, and reads the
    /// GPU time and the dispatches of each kernel family, largest time first; None without
    /// timestamp queries.
    pub(super) fn profile_step(
        &mut self,
        batch: &Batch,
        inputs: &StepInputs,
    ) -> Pending<Option<Vec<FamilyTime>>> {
        let ctx = self.ctx.clone();
        if !ctx
            .device
            .features()
            .contains(wgpu::Features::TIMESTAMP_QUERY)
        {
            return ready(None);
        }
        self.set_decay_embeddings(inputs.adamw.decay_embeddings);
        let (step, n) = (self.step, Engine::layout(self).total_len);
        let dropout = (self.dropout_seed, step as u32);
        let grads = self.bufs.grads.clone();
        let plan = self.plan(batch.batch, batch.seq);
        plan.prepare(&ctx, &batch.inputs, &batch.targets, Some(dropout));
        plan.set_step_inputs(&ctx, inputs, n, step as i32 + 1);
        // Two timestamps per kernel; a query set holds at most 4096.
        let kernels = &plan.kernels[..plan.kernels.len().min(2048)];
        let count = 2 * kernels.len() as u32;
        let queries = ctx.device.create_query_set(&wgpu::QuerySetDescriptor {
            label: Some("kernel timestamps"),
            ty: wgpu::QueryType::Timestamp,
            count,
        });
        let resolved = ctx.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("kernel timestamps resolved"),
            size: u64::from(count) * 8,
            usage: wgpu::BufferUsages::QUERY_RESOLVE | wgpu::BufferUsages::COPY_SRC,
            mapped_at_creation: false,
        });
        let mut encoder = ctx
            .device
            .create_command_encoder(&wgpu::CommandEncoderDescriptor {
                label: Some("profiled step"),
            });
        encoder.clear_buffer(&grads, 0, None);
        for (i, kernel) in kernels.iter().enumerate() {
            let mut pass = encoder.begin_compute_pass(&wgpu::ComputePassDescriptor {
                label: Some("profiled kernel"),
                timestamp_writes: Some(wgpu::ComputePassTimestampWrites {
                    query_set: &queries,
                    beginning_of_pass_write_index: Some(2 * i as u32),
                    end_of_pass_write_index: Some(2 * i as u32 + 1),
                }),
            });
            kernel.encode(&mut pass);
        }
        encoder.resolve_query_set(&queries, 0..count, &resolved, 0);
        ctx.queue.submit([encoder.finish()]);
        // Each u64 tick count comes back as two f32-sized words.
        let read = ctx.start_read(&resolved, 0..2 * count as usize);
        let families: Vec<&'static str> = kernels.iter().map(|k| k.family.name()).collect();
        let mut totals: Vec<FamilyTime> = Vec::new();
        for kernel in &plan.kernels {
            let family = kernel.family.name();
            match totals.iter_mut().find(|t| t.family == family) {
                Some(total) => total.dispatches += 1,
                None => totals.push(FamilyTime {
                    family,
                    ms: 0.0,
                    dispatches: 1,
                }),
            }
        }
        let ms_per_tick = f64::from(ctx.queue.get_timestamp_period()) / 1e6;
        self.step += 1;
        Box::pin(async move {
            let ticks: Vec<u64> = bytemuck::pod_collect_to_vec(&read.wait().await?);
            for (family, pair) in families.iter().zip(ticks.chunks_exact(2)) {
                // The end stamp can read below the start on some drivers: count that as 0.
                let ms = pair[1].saturating_sub(pair[0]) as f64 * ms_per_tick;
                if let Some(total) = totals.iter_mut().find(|t| t.family == *family) {
                    total.ms += ms;
                }
            }
            totals.sort_by(|a, b| b.ms.total_cmp(&a.ms));
            Ok(Some(totals))
        })
    }
}
