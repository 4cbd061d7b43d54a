// LayerNorm (CENTRED) and RMSNorm over the last dimension, forward and backward. Used at every
// norm site of the block ([B*T, C]) and for QK-norm over each head ([B*T*heads, D]).
//
// Layout: inp, out, dout, dinp [rows, dim]; weight, bias, dweight, dbias [dim];
// stats [rows, 2]: (mean, rstd) of each row, mean 0 for RMSNorm, rstd = 1 / sqrt(var + eps)
// (RMSNorm: of the raw second moment).
//
// norm_forward: one workgroup of 64 per row; tree reductions in workgroup memory.
//   out = (inp - mean) * rstd * weight (+ bias when HAS_BIAS). With ADD_RESIDUAL the input is
//   the residual add fused in: x = inp + residual, also written to sum (one dispatch for the
//   residual stream's add and the norm that reads it).
// norm_backward_input: one workgroup per row. With xhat = (x - mean) rstd, g = dout * weight:
//   dinp = rstd (g - mean(g) [CENTRED only] - xhat mean(g xhat))   (=)
//   + residual with ADD_RESIDUAL: the gradient that reached the norm's input along the
//   residual stream, added in the same dispatch.
// norm_backward_params: one workgroup per column i, reducing over the rows (no atomics):
//   dweight[i] += sum_r dout[r, i] xhat[r, i];  dbias[i] += sum_r dout[r, i] (HAS_BIAS).

override CENTRED: bool = true;
override HAS_BIAS: bool = false;
override ADD_RESIDUAL: bool = false;

struct Dims {
    rows: u32,
    dim: u32,
    eps: f32,
}

const WG: u32 = 64u;

@group(0) @binding(0) var<uniform> dims: Dims;

@group(0) @binding(1) var<storage, read> fwd_inp: array<f32>;
@group(0) @binding(2) var<storage, read> fwd_weight: array<f32>;
@group(0) @binding(3) var<storage, read> fwd_bias: array<f32>;
@group(0) @binding(4) var<storage, read_write> fwd_out: array<f32>;
@group(0) @binding(5) var<storage, read_write> fwd_stats: array<f32>;
@group(0) @binding(6) var<storage, read> fwd_residual: array<f32>;
@group(0) @binding(7) var<storage, read_write> fwd_sum: array<f32>;

@group(0) @binding(1) var<storage, read> bwd_dout: array<f32>;
@group(0) @binding(2) var<storage, read> bwd_inp: array<f32>;
@group(0) @binding(3) var<storage, read> bwd_weight: array<f32>;
@group(0) @binding(4) var<storage, read> bwd_stats: array<f32>;
@group(0) @binding(5) var<storage, read_write> bwd_dinp: array<f32>;
@group(0) @binding(6) var<storage, read> bwd_residual: array<f32>;

@group(0) @binding(1) var<storage, read> par_dout: array<f32>;
@group(0) @binding(2) var<storage, read> par_inp: array<f32>;
@group(0) @binding(3) var<storage, read> par_stats: array<f32>;
@group(0) @binding(4) var<storage, read_write> par_dweight: array<f32>;
@group(0) @binding(5) var<storage, read_write> par_dbias: array<f32>;

var<workgroup> partial: array<f32, WG>;

// The sum of `value` over the workgroup, returned to every invocation.
fn workgroup_sum(lid: u32, value: f32) -> f32 {
    partial[lid] = value;
    workgroupBarrier();
    for (var stride = WG / 2u; stride > 0u; stride /= 2u) {
        if (lid < stride) {
            partial[lid] += partial[lid + stride];
        }
        workgroupBarrier();
    }
    let total = partial[0];
    workgroupBarrier();
    return total;
}

fn workgroup_index(wid: vec3<u32>, nwg: vec3<u32>) -> u32 {
    return wid.x + wid.y * nwg.x;
}

// The forward's input element e: inp, plus the residual when the add is fused in.
fn forward_input(e: u32) -> f32 {
    if (ADD_RESIDUAL) {
        return fwd_inp[e] + fwd_residual[e];
    }
    return fwd_inp[e];
}

@compute @workgroup_size(WG)
fn norm_forward(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
    @builtin(local_invocation_index) lid: u32,
) {
    let row = workgroup_index(wid, nwg);
    if (row >= dims.rows) {
        return;
    }
    let base = row * dims.dim;
    let n = f32(dims.dim);
    var mean = 0.0;
    if (CENTRED) {
        var s = 0.0;
        for (var i = lid; i < dims.dim; i += WG) {
            s += forward_input(base + i);
        }
        mean = workgroup_sum(lid, s) / n;
    }
    var q = 0.0;
    for (var i = lid; i < dims.dim; i += WG) {
        let d = forward_input(base + i) - mean;
        q += d * d;
    }
    let rstd = 1.0 / sqrt(workgroup_sum(lid, q) / n + dims.eps);
    for (var i = lid; i < dims.dim; i += WG) {
        let x = forward_input(base + i);
        if (ADD_RESIDUAL) {
            fwd_sum[base + i] = x;
        }
        var value = (x - mean) * rstd * fwd_weight[i];
        if (HAS_BIAS) {
            value += fwd_bias[i];
        }
        fwd_out[base + i] = value;
    }
    if (lid == 0u) {
        fwd_stats[2u * row] = mean;
        fwd_stats[2u * row + 1u] = rstd;
    }
}

@compute @workgroup_size(WG)
fn norm_backward_input(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
    @builtin(local_invocation_index) lid: u32,
) {
    let row = workgroup_index(wid, nwg);
    if (row >= dims.rows) {
        return;
    }
    let base = row * dims.dim;
    let n = f32(dims.dim);
    let mean = bwd_stats[2u * row];
    let rstd = bwd_stats[2u * row + 1u];
    var sum_g = 0.0;
    var sum_g_xhat = 0.0;
    for (var i = lid; i < dims.dim; i += WG) {
        let g = bwd_dout[base + i] * bwd_weight[i];
        sum_g += g;
        sum_g_xhat += g * (bwd_inp[base + i] - mean) * rstd;
    }
    var mean_g = 0.0;
    if (CENTRED) {
        mean_g = workgroup_sum(lid, sum_g) / n;
    }
    let mean_g_xhat = workgroup_sum(lid, sum_g_xhat) / n;
    for (var i = lid; i < dims.dim; i += WG) {
        let g = bwd_dout[base + i] * bwd_weight[i];
        let xhat = (bwd_inp[base + i] - mean) * rstd;
        var d = rstd * (g - mean_g - xhat * mean_g_xhat);
        if (ADD_RESIDUAL) {
            d += bwd_residual[base + i];
        }
        bwd_dinp[base + i] = d;
    }
}

@compute @workgroup_size(WG)
fn norm_backward_params(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
    @builtin(local_invocation_index) lid: u32,
) {
    let col = workgroup_index(wid, nwg);
    if (col >= dims.dim) {
        return;
    }
    var sum_w = 0.0;
    var sum_b = 0.0;
    for (var r = lid; r < dims.rows; r += WG) {
        let d = par_dout[r * dims.dim + col];
        sum_w += d * (par_inp[r * dims.dim + col] - par_stats[2u * r]) * par_stats[2u * r + 1u];
        sum_b += d;
    }
    let dweight = workgroup_sum(lid, sum_w);
    var dbias = 0.0;
    if (HAS_BIAS) {
        dbias = workgroup_sum(lid, sum_b);
    }
    if (lid == 0u) {
        par_dweight[col] += dweight;
        if (HAS_BIAS) {
            par_dbias[col] += dbias;
        }
    }
}
