//! The GPU context: one device and queue, built once and shared by every kernel launcher, with
//! caches of shader modules, bind-group layouts and pipelines so that a training step only
//! records commands.

use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use super::budget::gpu_budget;
use super::kernel::View;
use super::shaders::Shader;
use crate::model::MemoryBudget;

/// Why no GPU context could be made.
#[derive(Debug, thiserror::Error)]
pub enum GpuError {
    /// No adapter: no driver natively, or `navigator.gpu` missing / `requestAdapter()` null.
    #[error("no WebGPU adapter found: {0}")]
    NoAdapter(String),
    /// The adapter refused a device with WebGPU's default limits.
    #[error("the adapter refused a device: {0}")]
    NoDevice(String),
    /// A buffer could not be mapped for reading back.
    #[error("reading a GPU buffer back failed: {0}")]
    ReadBack(String),
    /// The device reported an error (an invalid shader or command, lost memory): results
    /// computed since are not to be trusted.
    #[error("the GPU device reported an error: {0}")]
    Device(String),
}

/// What one storage or uniform binding of a kernel is, in binding order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Binding {
    /// A small uniform block of sizes and flags.
    Uniform,
    /// A storage buffer the kernel only reads.
    Read,
    /// A storage buffer the kernel writes.
    ReadWrite,
}

/// A compute pipeline's identity: the shader family, its entry point and its override constants.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct PipelineKey {
    shader: Shader,
    entry_point: &'static str,
    /// Override constants as (name, bits of the f64 value): f64 itself is not `Hash`.
    constants: Vec<(&'static str, u64)>,
}

/// The adapter's description and the limits that matter for training, for `archlab info` and the
/// page's status panel.
#[derive(Clone, Debug, PartialEq)]
pub struct AdapterSummary {
    /// Adapter name (natively) or description (in a browser); may be empty in a browser.
    pub name: String,
    /// Vulkan, Metal, Dx12, Gl or BrowserWebGpu.
    pub backend: String,
    /// Discrete, integrated, virtual, CPU or other.
    pub device_type: String,
    /// A software adapter (lavapipe, SwiftShader, or the browser's `isFallbackAdapter`).
    pub is_software: bool,
    /// Driver name and version, when the platform reports them.
    pub driver: String,
    /// The adapter's own limits (the device itself is created with WebGPU's default limits).
    pub max_storage_buffer_binding_size: u64,
    pub max_buffer_size: u64,
    pub max_storage_buffers_per_shader_stage: u32,
    pub max_compute_workgroup_storage_size: u32,
    pub max_compute_invocations_per_workgroup: u32,
    pub max_compute_workgroups_per_dimension: u32,
    /// GPU timestamps are available for per-kernel timing.
    pub timestamp_query: bool,
    /// Half precision in shaders (not needed: every kernel has an f32 path).
    pub shader_f16: bool,
}

impl AdapterSummary {
    /// An adapter for tests of what the page decides and shows from one: a browser's, with
    /// SwiftShader's limits.
    #[cfg(test)]
    pub fn example(name: &str, is_software: bool) -> Self {
        Self {
            name: name.into(),
            backend: "BrowserWebGpu".into(),
            device_type: if is_software { "Cpu" } else { "Other" }.into(),
            is_software,
            driver: String::new(),
            max_storage_buffer_binding_size: 1 << 27,
            max_buffer_size: 1 << 28,
            max_storage_buffers_per_shader_stage: 8,
            max_compute_workgroup_storage_size: 16384,
            max_compute_invocations_per_workgroup: 256,
            max_compute_workgroups_per_dimension: 65535,
            timestamp_query: false,
            shader_f16: false,
        }
    }

    fn new(adapter: &wgpu::Adapter) -> Self {
        let info = adapter.get_info();
        let limits = adapter.limits();
        let features = adapter.features();
        Self {
            name: info.name,
            backend: format!("{:?}", info.backend),
            device_type: format!("{:?}", info.device_type),
            is_software: info.device_type == wgpu::DeviceType::Cpu,
            driver: format!("{} {}", info.driver, info.driver_info)
                .trim()
                .to_string(),
            max_storage_buffer_binding_size: limits.max_storage_buffer_binding_size,
            max_buffer_size: limits.max_buffer_size,
            max_storage_buffers_per_shader_stage: limits.max_storage_buffers_per_shader_stage,
            max_compute_workgroup_storage_size: limits.max_compute_workgroup_storage_size,
            max_compute_invocations_per_workgroup: limits.max_compute_invocations_per_workgroup,
            max_compute_workgroups_per_dimension: limits.max_compute_workgroups_per_dimension,
            timestamp_query: features.contains(wgpu::Features::TIMESTAMP_QUERY),
            shader_f16: features.contains(wgpu::Features::SHADER_F16),
        }
    }

    /// Label and value rows, in the order the page and the command line show them.
    pub fn rows(&self) -> Vec<(&'static str, String)> {
        let mib = |bytes: u64| format!("{} MiB", bytes >> 20);
        let yes_no = |flag: bool| if flag { "yes" } else { "no" }.to_string();
        let name = if self.name.is_empty() {
            "(not disclosed by the browser)".to_string()
        } else {
            self.name.clone()
        };
        vec![
            ("adapter", name),
            ("backend", self.backend.clone()),
            ("device type", self.device_type.clone()),
            ("software / fallback adapter", yes_no(self.is_software)),
            ("driver", self.driver.clone()),
            (
                "max storage binding",
                mib(self.max_storage_buffer_binding_size),
            ),
            ("max buffer", mib(self.max_buffer_size)),
            (
                "storage buffers per stage",
                self.max_storage_buffers_per_shader_stage.to_string(),
            ),
            (
                "workgroup storage",
                format!("{} KiB", self.max_compute_workgroup_storage_size / 1024),
            ),
            (
                "invocations per workgroup",
                self.max_compute_invocations_per_workgroup.to_string(),
            ),
            (
                "workgroups per dimension",
                self.max_compute_workgroups_per_dimension.to_string(),
            ),
            ("timestamp queries", yes_no(self.timestamp_query)),
            ("shader-f16", yes_no(self.shader_f16)),
        ]
    }
}

/// `summary` named "google / swiftshader" where the browser left the adapter's description
/// empty (wgpu reads only that): the vendor and architecture its device reports
/// (`GPUDevice.adapterInfo`); the engine choice names a software renderer by them. Read from
/// the device rather than from a second `requestAdapter`, which costs a main-thread task of
/// about 125 ms on SwiftShader.
#[cfg(target_arch = "wasm32")]
fn named_by_browser(summary: AdapterSummary, device: &wgpu::Device) -> AdapterSummary {
    if !summary.name.is_empty() {
        return summary;
    }
    AdapterSummary {
        name: vendor_and_architecture(device).unwrap_or_default(),
        ..summary
    }
}

#[cfg(target_arch = "wasm32")]
fn vendor_and_architecture(device: &wgpu::Device) -> Option<String> {
    use js_sys::Reflect;
    let info = Reflect::get(device.as_webgpu()?, &"adapterInfo".into()).ok()?;
    let field = |name: &str| {
        Reflect::get(&info, &name.into())
            .ok()
            .and_then(|value| value.as_string())
            .filter(|value| !value.is_empty())
    };
    let parts: Vec<String> = ["vendor", "architecture"]
        .into_iter()
        .filter_map(field)
        .collect();
    (!parts.is_empty()).then(|| parts.join(" / "))
}

/// One device and queue with caches, shared by every launcher.
pub struct GpuContext {
    pub device: wgpu::Device,
    pub queue: wgpu::Queue,
    pub adapter: AdapterSummary,
    modules: RefCell<HashMap<Shader, wgpu::ShaderModule>>,
    layouts: RefCell<HashMap<Vec<Binding>, (wgpu::BindGroupLayout, wgpu::PipelineLayout)>>,
    pipelines: RefCell<HashMap<PipelineKey, wgpu::ComputePipeline>>,
    /// Bound where a kernel's variant never touches a binding (no bias, no gate): one for
    /// read-only bindings, one for writable ones. A real tensor cannot stand in, nor one
    /// buffer for both: WebGPU rejects a writable binding overlapping another binding of the
    /// same dispatch.
    placeholders: [wgpu::Buffer; 2],
    /// The first error the device reported outside an error scope, if any. In a browser such
    /// errors only reach the console as warnings, so the page asks for it (natively wgpu's
    /// default handler panics instead).
    device_error: Arc<Mutex<Option<String>>>,
    /// Receives why the device was lost, once, when it is (taken by [`Self::take_lost`]).
    lost: RefCell<Option<futures_channel::oneshot::Receiver<String>>>,
}

impl GpuContext {
    /// Finds an adapter (a high-performance one where there is a choice) and creates a device
    /// with WebGPU's default limits, so that whatever runs here runs on any WebGPU device.
    pub async fn new() -> Result<Self, GpuError> {
        let instance = wgpu::Instance::new(wgpu::InstanceDescriptor::new_without_display_handle());
        let adapter = instance
            .request_adapter(&wgpu::RequestAdapterOptions {
                power_preference: wgpu::PowerPreference::HighPerformance,
                ..Default::default()
            })
            .await
            .map_err(|e| GpuError::NoAdapter(e.to_string()))?;
        let summary = AdapterSummary::new(&adapter);
        let (device, queue) = adapter
            .request_device(&wgpu::DeviceDescriptor {
                label: Some("archlab"),
                // Timestamps time each kernel family in `archlab bench` where the adapter has them.
                required_features: adapter.features() & wgpu::Features::TIMESTAMP_QUERY,
                required_limits: wgpu::Limits::default(),
                ..Default::default()
            })
            .await
            .map_err(|e| GpuError::NoDevice(e.to_string()))?;
        #[cfg(target_arch = "wasm32")]
        let summary = named_by_browser(summary, &device);
        let device_error = Arc::new(Mutex::new(None));
        #[cfg(target_arch = "wasm32")]
        {
            let first = device_error.clone();
            device.on_uncaptured_error(Arc::new(move |error: wgpu::Error| {
                let mut first = first.lock().unwrap_or_else(|e| e.into_inner());
                first.get_or_insert_with(|| error.to_string());
            }));
        }
        // A lost device (destroyed, a driver reset, the GPU reclaimed) fails every later read
        // through `check_device`, and whoever took `lost` hears why.
        let (lost_sender, lost) = futures_channel::oneshot::channel();
        let lost_sender = Mutex::new(Some(lost_sender));
        let first = device_error.clone();
        device.set_device_lost_callback(move |reason, message| {
            let why = lost_reason(reason, &message);
            let mut first = first.lock().unwrap_or_else(|e| e.into_inner());
            first.get_or_insert_with(|| format!("the device was lost ({why})"));
            let sender = lost_sender.lock().unwrap_or_else(|e| e.into_inner()).take();
            if let Some(sender) = sender {
                // No one listening (the command line) is fine: `check_device` reports it.
                let _ = sender.send(why);
            }
        });
        let placeholders = ["unused read binding", "unused writable binding"].map(|label| {
            device.create_buffer(&wgpu::BufferDescriptor {
                label: Some(label),
                size: 16,
                usage: wgpu::BufferUsages::STORAGE,
                mapped_at_creation: false,
            })
        });
        Ok(Self {
            placeholders,
            device,
            queue,
            adapter: summary,
            modules: RefCell::default(),
            layouts: RefCell::default(),
            pipelines: RefCell::default(),
            device_error,
            lost: RefCell::new(Some(lost)),
        })
    }

    /// Resolves with why the device was lost, when it is (the page's notice says so). Only the
    /// first caller gets it.
    pub fn take_lost(&self) -> Option<futures_channel::oneshot::Receiver<String>> {
        self.lost.borrow_mut().take()
    }

    /// What this device may hold: one buffer at most `max_buffer_size` and, since every kernel
    /// binds whole tensors as storage, `max_storage_buffer_binding_size` (the device's limits:
    /// WebGPU's defaults); all buffers together at most [`super::GPU_TOTAL`] (WebGPU does not say
    /// how much memory a device has).
    pub fn memory_budget(&self) -> MemoryBudget {
        gpu_budget(&self.device.limits())
    }

    /// The pipeline for `shader`'s `entry_point` with these override constants, compiled once.
    /// Its bind-group layout follows `bindings` (binding i is `bindings[i]`, group 0).
    pub fn pipeline(
        &self,
        shader: Shader,
        entry_point: &'static str,
        bindings: &[Binding],
        constants: &[(&'static str, f64)],
    ) -> wgpu::ComputePipeline {
        let key = PipelineKey {
            shader,
            entry_point,
            constants: constants
                .iter()
                .map(|&(name, value)| (name, value.to_bits()))
                .collect(),
        };
        if let Some(pipeline) = self.pipelines.borrow().get(&key) {
            return pipeline.clone();
        }
        let module = self.module(shader);
        let layout = self.layouts(bindings).1;
        let label = format!("{}.{}", shader.name(), entry_point);
        let pipeline = self
            .device
            .create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
                label: Some(&label),
                layout: Some(&layout),
                module: &module,
                entry_point: Some(entry_point),
                compilation_options: wgpu::PipelineCompilationOptions {
                    constants,
                    ..Default::default()
                },
                cache: None,
            });
        self.pipelines.borrow_mut().insert(key, pipeline.clone());
        pipeline
    }

    /// What to bind where a kernel's variant never touches a binding of kind `binding`.
    pub fn placeholder(&self, binding: Binding) -> View<'_> {
        match binding {
            Binding::ReadWrite => View::from(&self.placeholders[1]),
            Binding::Read | Binding::Uniform => View::from(&self.placeholders[0]),
        }
    }

    /// A bind group for a kernel whose bindings are `bindings`, binding `views[i]` at i.
    pub fn bind_group(&self, label: &str, bindings: &[Binding], views: &[View]) -> wgpu::BindGroup {
        assert_eq!(bindings.len(), views.len(), "{label}: one view per binding");
        let entries: Vec<wgpu::BindGroupEntry> = views
            .iter()
            .enumerate()
            .map(|(i, view)| wgpu::BindGroupEntry {
                binding: i as u32,
                resource: wgpu::BindingResource::Buffer(view.binding()),
            })
            .collect();
        self.device.create_bind_group(&wgpu::BindGroupDescriptor {
            label: Some(label),
            layout: &self.layouts(bindings).0,
            entries: &entries,
        })
    }

    /// A storage buffer holding `data` (f32s, or the u32 / i32 of token ids and targets),
    /// usable as a copy source and destination.
    pub fn storage_buffer<T: bytemuck::Pod>(&self, label: &str, data: &[T]) -> wgpu::Buffer {
        use wgpu::util::DeviceExt;
        self.device
            .create_buffer_init(&wgpu::util::BufferInitDescriptor {
                label: Some(label),
                contents: bytemuck::cast_slice(data),
                usage: wgpu::BufferUsages::STORAGE
                    | wgpu::BufferUsages::COPY_SRC
                    | wgpu::BufferUsages::COPY_DST,
            })
    }

    /// A zeroed storage buffer of `len` floats (at least one, as WebGPU has no empty bindings).
    pub fn zeros(&self, label: &str, len: usize) -> wgpu::Buffer {
        self.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some(label),
            size: (len.max(1) * std::mem::size_of::<f32>()) as u64,
            usage: wgpu::BufferUsages::STORAGE
                | wgpu::BufferUsages::COPY_SRC
                | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        })
    }

    /// A uniform buffer holding `bytes`, zero-padded to a multiple of 16 (uniform blocks are
    /// 16-byte aligned); rewritable with `queue.write_buffer` (per-step values: the learning
    /// rate, the dropout step).
    pub fn uniform_bytes(&self, label: &str, bytes: &[u8]) -> wgpu::Buffer {
        use wgpu::util::DeviceExt;
        let mut contents = bytes.to_vec();
        contents.resize(bytes.len().div_ceil(16).max(1) * 16, 0);
        self.device
            .create_buffer_init(&wgpu::util::BufferInitDescriptor {
                label: Some(label),
                contents: &contents,
                usage: wgpu::BufferUsages::UNIFORM | wgpu::BufferUsages::COPY_DST,
            })
    }

    /// The first error the device reported, as [`GpuError::Device`].
    pub fn check_device(&self) -> Result<(), GpuError> {
        let error = self.device_error.lock().unwrap_or_else(|e| e.into_inner());
        match error.as_ref() {
            Some(message) => Err(GpuError::Device(message.clone())),
            None => Ok(()),
        }
    }

    /// Copies `buffer` into a mappable buffer and awaits the mapping. Natively the device is
    /// polled; in a browser `poll` does nothing and the await yields to the event loop, which
    /// resolves the mapping.
    pub async fn read_f32(&self, buffer: &wgpu::Buffer) -> Result<Vec<f32>, GpuError> {
        let floats = (buffer.size() / 4) as usize;
        self.start_read(buffer, 0..floats).wait().await
    }

    /// Submits the copy of `floats` of `buffer` into a mappable buffer and starts mapping it:
    /// work submitted later cannot change what is read, and the returned read-back borrows
    /// nothing, so the page can await it while the engine goes on.
    pub fn start_read(&self, buffer: &wgpu::Buffer, floats: std::ops::Range<usize>) -> PendingRead {
        let size = (floats.len() * 4) as u64;
        let staging = self.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("read-back staging"),
            size,
            usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        });
        let (sender, mapped) = futures_channel::oneshot::channel();
        // After a device error (a lost device natively, where mapping a buffer of a lost
        // device would panic) the read fails with it rather than starting.
        let failed = self.check_device().err();
        if failed.is_none() {
            let mut encoder = self
                .device
                .create_command_encoder(&wgpu::CommandEncoderDescriptor {
                    label: Some("read-back copy"),
                });
            encoder.copy_buffer_to_buffer(buffer, (floats.start * 4) as u64, &staging, 0, size);
            self.queue.submit([encoder.finish()]);
            staging.map_async(wgpu::MapMode::Read, .., move |result| {
                // The receiver is gone only if the read-back was dropped; nothing to tell.
                let _ = sender.send(result);
            });
        }
        PendingRead {
            device: self.device.clone(),
            staging,
            mapped,
            failed,
            device_error: self.device_error.clone(),
        }
    }

    fn module(&self, shader: Shader) -> wgpu::ShaderModule {
        self.modules
            .borrow_mut()
            .entry(shader)
            .or_insert_with(|| {
                self.device
                    .create_shader_module(wgpu::ShaderModuleDescriptor {
                        label: Some(shader.name()),
                        source: wgpu::ShaderSource::Wgsl(shader.source().into()),
                    })
            })
            .clone()
    }

    fn layouts(&self, bindings: &[Binding]) -> (wgpu::BindGroupLayout, wgpu::PipelineLayout) {
        self.layouts
            .borrow_mut()
            .entry(bindings.to_vec())
            .or_insert_with(|| {
                let entries: Vec<wgpu::BindGroupLayoutEntry> = bindings
                    .iter()
                    .enumerate()
                    .map(|(i, binding)| wgpu::BindGroupLayoutEntry {
                        binding: i as u32,
                        visibility: wgpu::ShaderStages::COMPUTE,
                        ty: wgpu::BindingType::Buffer {
                            ty: match binding {
                                Binding::Uniform => wgpu::BufferBindingType::Uniform,
                                Binding::Read => {
                                    wgpu::BufferBindingType::Storage { read_only: true }
                                }
                                Binding::ReadWrite => {
                                    wgpu::BufferBindingType::Storage { read_only: false }
                                }
                            },
                            has_dynamic_offset: false,
                            min_binding_size: None,
                        },
                        count: None,
                    })
                    .collect();
                let bind_group_layout =
                    self.device
                        .create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
                            label: Some("kernel bindings"),
                            entries: &entries,
                        });
                let pipeline_layout =
                    self.device
                        .create_pipeline_layout(&wgpu::PipelineLayoutDescriptor {
                            label: Some("kernel pipeline layout"),
                            bind_group_layouts: &[Some(&bind_group_layout)],
                            immediate_size: 0,
                        });
                (bind_group_layout, pipeline_layout)
            })
            .clone()
    }
}

/// A read-back whose copy is submitted and whose mapping is under way.
pub struct PendingRead {
    device: wgpu::Device,
    staging: wgpu::Buffer,
    mapped: futures_channel::oneshot::Receiver<Result<(), wgpu::BufferAsyncError>>,
    /// The device's error when the read was asked for: it never started.
    failed: Option<GpuError>,
    /// The context's first device error: a mapping that fails on a lost device says so.
    device_error: Arc<Mutex<Option<String>>>,
}

impl PendingRead {
    /// The values, once mapped.
    pub async fn wait(mut self) -> Result<Vec<f32>, GpuError> {
        if let Some(error) = self.failed {
            return Err(error);
        }
        let mapped = match poll_then_wait(&self.device, &mut self.mapped).await? {
            Some(result) => result,
            None => self
                .mapped
                .await
                .map_err(|_| GpuError::ReadBack("the mapping callback was dropped".into()))?,
        };
        mapped.map_err(|e| {
            let device = self.device_error.lock().unwrap_or_else(|e| e.into_inner());
            match device.as_ref() {
                Some(message) => GpuError::Device(message.clone()),
                None => GpuError::ReadBack(e.to_string()),
            }
        })?;
        take_mapped(&self.staging)
    }
}

/// Natively, mapping callbacks run only inside a device poll. This polls without blocking and
/// returns what `receiver` got if that delivered it; otherwise it yields once, so that a caller
/// that only checks whether a read has arrived (`contract::engine::now`) never blocks, and then
/// blocks until the device is idle. In a browser polls do nothing and the event loop delivers.
pub(super) async fn poll_then_wait<T>(
    device: &wgpu::Device,
    receiver: &mut futures_channel::oneshot::Receiver<T>,
) -> Result<Option<T>, GpuError> {
    let _ = device.poll(wgpu::PollType::Poll);
    if let Ok(Some(value)) = receiver.try_recv() {
        return Ok(Some(value));
    }
    YieldOnce(false).await;
    device
        .poll(wgpu::PollType::wait_indefinitely())
        .map_err(|e| GpuError::ReadBack(e.to_string()))?;
    Ok(None)
}

/// A future that is pending once (waking itself at once), then ready.
struct YieldOnce(bool);

impl std::future::Future for YieldOnce {
    type Output = ();

    fn poll(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<()> {
        if self.0 {
            return std::task::Poll::Ready(());
        }
        self.0 = true;
        cx.waker().wake_by_ref();
        std::task::Poll::Pending
    }
}

/// The floats of a mapped read-back buffer, which is unmapped for reuse.
pub(super) fn take_mapped(staging: &wgpu::Buffer) -> Result<Vec<f32>, GpuError> {
    let data = {
        let view = staging
            .get_mapped_range(..)
            .map_err(|e| GpuError::ReadBack(e.to_string()))?;
        bytemuck::cast_slice(&view).to_vec()
    };
    staging.unmap();
    Ok(data)
}

/// Why a device was lost, in a few words: "destroyed: Device was destroyed.".
fn lost_reason(reason: wgpu::DeviceLostReason, message: &str) -> String {
    let reason = match reason {
        wgpu::DeviceLostReason::Destroyed => "destroyed",
        wgpu::DeviceLostReason::Unknown => "unknown reason",
    };
    match message.trim() {
        "" => reason.to_string(),
        message => format!("{reason}: {message}"),
    }
}
