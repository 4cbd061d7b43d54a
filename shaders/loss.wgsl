// Softmax cross-entropy with PaLM's z-loss coef * logsumexp^2, averaged over the targets that
// are not IGNORE (-1), forward and backward.
//
// Layout: logits, dlogits [N, V]; targets [N] i32; lse [N]; row_loss [N, 2]: (cross-entropy,
// z-loss term) of each row, 0 for ignored rows; stats [4]: (mean cross-entropy, mean z-loss,
// count of counted targets, mean lse: the softmax normaliser log Z, whatever the coefficient).
//
// cross_entropy_forward: one workgroup of 64 per row: max, then sum of exp, tree-reduced;
//   lse = max + log(sum exp(x - max)).
// cross_entropy_reduce: one workgroup sums row_loss and the counted rows' lse, and counts
//   targets (no atomics), into stats.
// cross_entropy_backward: one invocation per logit, reading the count from stats, so the
//   whole loss stays on the GPU:
//   dlogits = (softmax - onehot + 2 coef lse softmax) / count on counted rows, 0 on ignored ones.

struct Dims {
    rows: u32,
    vocab: u32,
    z_coef: f32,
}

const IGNORE: i32 = -1;
const WG: u32 = 64u;
const REDUCE_WG: u32 = 256u;

@group(0) @binding(0) var<uniform> dims: Dims;

@group(0) @binding(1) var<storage, read> fwd_logits: array<f32>;
@group(0) @binding(2) var<storage, read> fwd_targets: array<i32>;
@group(0) @binding(3) var<storage, read_write> fwd_lse: array<f32>;
@group(0) @binding(4) var<storage, read_write> fwd_row_loss: array<f32>;

@group(0) @binding(1) var<storage, read> red_targets: array<i32>;
@group(0) @binding(2) var<storage, read> red_row_loss: array<f32>;
@group(0) @binding(3) var<storage, read> red_lse: array<f32>;
@group(0) @binding(4) var<storage, read_write> red_stats: array<f32>;

@group(0) @binding(1) var<storage, read> bwd_logits: array<f32>;
@group(0) @binding(2) var<storage, read> bwd_targets: array<i32>;
@group(0) @binding(3) var<storage, read> bwd_lse: array<f32>;
@group(0) @binding(4) var<storage, read> bwd_stats: array<f32>;
@group(0) @binding(5) var<storage, read_write> bwd_dlogits: array<f32>;

var<workgroup> partial: array<f32, REDUCE_WG>;
var<workgroup> partial_z: array<f32, REDUCE_WG>;
var<workgroup> partial_count: array<f32, REDUCE_WG>;
var<workgroup> partial_lse: array<f32, REDUCE_WG>;

// The largest (take_max) or the sum of the WG invocations' values, tree-reduced in partial;
// every invocation gets it, and partial is free again on return.
fn workgroup_reduce(lid: u32, value: f32, take_max: bool) -> f32 {
    partial[lid] = value;
    workgroupBarrier();
    for (var stride = WG / 2u; stride > 0u; stride /= 2u) {
        if (lid < stride) {
            let other = partial[lid + stride];
            partial[lid] = select(partial[lid] + other, max(partial[lid], other), take_max);
        }
        workgroupBarrier();
    }
    let result = partial[0];
    workgroupBarrier();
    return result;
}

@compute @workgroup_size(WG)
fn cross_entropy_forward(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
    @builtin(local_invocation_index) lid: u32,
) {
    let row = wid.x + wid.y * nwg.x;
    if (row >= dims.rows) {
        return;
    }
    let base = row * dims.vocab;
    var m = -3.0e38;
    for (var v = lid; v < dims.vocab; v += WG) {
        m = max(m, fwd_logits[base + v]);
    }
    let row_max = workgroup_reduce(lid, m, true);
    var s = 0.0;
    for (var v = lid; v < dims.vocab; v += WG) {
        s += exp(fwd_logits[base + v] - row_max);
    }
    let total = workgroup_reduce(lid, s, false);
    if (lid == 0u) {
        let lse = row_max + log(total);
        fwd_lse[row] = lse;
        let tgt = fwd_targets[row];
        var ce = 0.0;
        var z = 0.0;
        if (tgt != IGNORE) {
            ce = lse - fwd_logits[base + u32(tgt)];
            z = dims.z_coef * lse * lse;
        }
        fwd_row_loss[2u * row] = ce;
        fwd_row_loss[2u * row + 1u] = z;
    }
}

@compute @workgroup_size(REDUCE_WG)
fn cross_entropy_reduce(@builtin(local_invocation_index) lid: u32) {
    var ce = 0.0;
    var z = 0.0;
    var count = 0.0;
    var lse = 0.0;
    for (var r = lid; r < dims.rows; r += REDUCE_WG) {
        ce += red_row_loss[2u * r];
        z += red_row_loss[2u * r + 1u];
        let counted = red_targets[r] != IGNORE;
        count += select(0.0, 1.0, counted);
        lse += select(0.0, red_lse[r], counted);
    }
    partial[lid] = ce;
    partial_z[lid] = z;
    partial_count[lid] = count;
    partial_lse[lid] = lse;
    workgroupBarrier();
    for (var stride = REDUCE_WG / 2u; stride > 0u; stride /= 2u) {
        if (lid < stride) {
            partial[lid] += partial[lid + stride];
            partial_z[lid] += partial_z[lid + stride];
            partial_count[lid] += partial_count[lid + stride];
            partial_lse[lid] += partial_lse[lid + stride];
        }
        workgroupBarrier();
    }
    if (lid == 0u) {
        let n = max(partial_count[0], 1.0);
        red_stats[0] = partial[0] / n;
        red_stats[1] = partial_z[0] / n;
        red_stats[2] = partial_count[0];
        red_stats[3] = partial_lse[0] / n;
    }
}

@compute @workgroup_size(REDUCE_WG)
fn cross_entropy_backward(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
    @builtin(local_invocation_index) lid: u32,
) {
    let e = (wid.x + wid.y * nwg.x) * REDUCE_WG + lid;
    if (e >= dims.rows * dims.vocab) {
        return;
    }
    let row = e / dims.vocab;
    let tgt = bwd_targets[row];
    if (tgt == IGNORE) {
        bwd_dlogits[e] = 0.0;
        return;
    }
    let lse = bwd_lse[row];
    let p = exp(bwd_logits[e] - lse);
    let onehot = select(0.0, 1.0, e % dims.vocab == u32(tgt));
    bwd_dlogits[e] = (p - onehot + 2.0 * dims.z_coef * lse * p) / bwd_stats[2];
}
