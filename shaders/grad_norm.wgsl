// Global reductions without atomics: root sums of squares (two passes) and clipping to a maximum
// norm. The same two passes give the gradient norm, each layer's gradient norm, the parameter
// norm and each activation stream's root sum of squares, and `max_all` each layer's largest
// attention logit, so that a step's statistics need no full read-back.
//
// Layout: ranges [R] (start, len, out_index, _): a table of the sums a plan takes; input [..];
// partials [R * PARTIALS]; out [..]: range r's result goes to out[ranges[r].out_index].
// sum_squares_partial: a grid of W x count workgroups of 256 over ranges index.. of the table,
//   W <= PARTIALS chosen by the launcher from the longest range (about 8 elements an
//   invocation: a software adapter pays for every invocation and barrier of a grid far larger
//   than its data); invocation l of workgroup (w, y) sums x^2 over the grid-strided elements
//   w * 256 + l + k * W * 256 of range r = index + y, then the workgroup tree-sums into
//   partials[r * PARTIALS + w]. Partials past W are never written and stay zero. One dispatch
//   covers every range of one buffer (the gradient norm and all the layers' norms).
// sum_squares_final: workgroup x tree-sums range r = index + x's partials; out = sqrt(total).
//   One dispatch finishes every range of the table.
// max_all: one workgroup; invocation l takes the maximum of elements l + k * 256, then the
//   workgroup tree-maximum (inputs are small: one value per attention row).
// clip_gradients: g *= max_norm / norm where 0 < max_norm < norm: exactly the CPU's f32 scale
//   (`train::optim::clip_grad_norm`; PyTorch would divide by norm + 1e-6).

struct Dims {
    n: u32,
    max_norm: f32,
    // max_all: where its result goes; the sums of squares: their first range in the table.
    index: u32,
    _pad: u32,
}

struct Range {
    start: u32,
    len: u32,
    out_index: u32,
    _pad: u32,
}

const WG: u32 = 256u;
const PARTIALS: u32 = 256u;

@group(0) @binding(0) var<uniform> dims: Dims;

@group(0) @binding(1) var<storage, read> sq_ranges: array<Range>;
@group(0) @binding(2) var<storage, read> sq_input: array<f32>;
@group(0) @binding(3) var<storage, read_write> sq_partials: array<f32>;

@group(0) @binding(1) var<storage, read> fin_ranges: array<Range>;
@group(0) @binding(2) var<storage, read> fin_partials: array<f32>;
@group(0) @binding(3) var<storage, read_write> fin_out: array<f32>;

@group(0) @binding(1) var<storage, read> clip_norm: array<f32>;
@group(0) @binding(2) var<storage, read_write> clip_grads: array<f32>;

@group(0) @binding(1) var<storage, read> max_in: array<f32>;
@group(0) @binding(2) var<storage, read_write> max_out: array<f32>;

var<workgroup> partial: array<f32, WG>;

fn workgroup_sum(lid: u32, value: f32) -> f32 {
    partial[lid] = value;
    workgroupBarrier();
    for (var stride = WG / 2u; stride > 0u; stride /= 2u) {
        if (lid < stride) {
            partial[lid] += partial[lid + stride];
        }
        workgroupBarrier();
    }
    return partial[0];
}

@compute @workgroup_size(WG)
fn sum_squares_partial(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
    @builtin(local_invocation_index) lid: u32,
) {
    let r = dims.index + wid.y;
    let range = sq_ranges[r];
    var s = 0.0;
    for (var e = wid.x * WG + lid; e < range.len; e += nwg.x * WG) {
        let x = sq_input[range.start + e];
        s += x * x;
    }
    let total = workgroup_sum(lid, s);
    if (lid == 0u) {
        sq_partials[r * PARTIALS + wid.x] = total;
    }
}

@compute @workgroup_size(WG)
fn sum_squares_final(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(local_invocation_index) lid: u32,
) {
    let r = dims.index + wid.x;
    let total = workgroup_sum(lid, fin_partials[r * PARTIALS + lid]);
    if (lid == 0u) {
        fin_out[fin_ranges[r].out_index] = sqrt(total);
    }
}

@compute @workgroup_size(WG)
fn max_all(@builtin(local_invocation_index) lid: u32) {
    // The lowest finite f32, as the CPU's fold starts from f32::MIN.
    var m = -0x1.fffffep+127f;
    for (var e = lid; e < dims.n; e += WG) {
        m = max(m, max_in[e]);
    }
    partial[lid] = m;
    workgroupBarrier();
    for (var stride = WG / 2u; stride > 0u; stride /= 2u) {
        if (lid < stride) {
            partial[lid] = max(partial[lid], partial[lid + stride]);
        }
        workgroupBarrier();
    }
    if (lid == 0u) {
        max_out[dims.index] = partial[0];
    }
}

@compute @workgroup_size(WG)
fn clip_gradients(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
    @builtin(local_invocation_index) lid: u32,
) {
    let e = (wid.x + wid.y * nwg.x) * WG + lid;
    let norm = clip_norm[0];
    if (e >= dims.n || !(dims.max_norm > 0.0 && norm > dims.max_norm)) {
        return;
    }
    clip_grads[e] *= dims.max_norm / norm;
}
