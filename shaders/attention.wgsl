// Causal self-attention: probs = softmax(cap(q k^T * scale) - alibi, masked) and
// out = probs v, and their backward. cap is the soft-cap SOFTCAP tanh(x / SOFTCAP) (Gemma 2)
// when SOFTCAP > 0, else x. Two ways:
// - fused (no dropout on the probabilities): scores, softmax and values in one pass per row
//   with an online softmax, keeping only each row's logsumexp; the backward recomputes the
//   probabilities from it. No [B, H, T, T] buffer.
// - in two products, so dropout can sit on the probabilities between them (and the
//   probabilities kernel alone draws the attention maps a page asks for).
//
// Layout: q, dq, out, dout [B, T, H, D]; k, v, dk, dv [B, T, K, D]; probs, weights, dweights,
// ds [B, H, T, T] (row (b, h, i), column j; invisible entries 0); row_max, lse, delta [B, H, T].
// Query head h reads KV head h / (H / K) (GQA; K = 1 is MQA). scale = 1 / sqrt(D).
//
// Decoding with a KV cache (B = 1): the T new tokens sit at positions start + i (dims.start; 0
// in training), and attention_fused_forward reads its keys and values from one layer's cache,
// k_cache, v_cache [P, K, D] (P = context_len positions, the first start + T filled): the
// layout of k and v with B = 1, so key j is at the same index in both.
//
// Visibility (j <= i always): PATTERN 0 full; 1 sliding window, i - j < WINDOW; 2 sparse,
// i - j < WINDOW (the local band) or (i - j) % STRIDE == 0. ALIBI subtracts
// slope_h * (i - j) with slope_h = 2^(-8 (h + 1) / H).
//
// Every output element is owned by one invocation, which sums over j (or over i and the
// heads sharing a KV head) itself: no atomics.
// attention_fused_forward: one invocation per row (b, h, i) at position p = start + i;
//   out[b, i, h, :] by an online softmax over the visible j <= p, lse = the row's logsumexp,
//   row_max as attention_probs_forward. The backward kernels run in training only (start 0).
// attention_cache_append: one invocation per element of k [T, K, D]: the new tokens' keys and
//   values into the cache rows start.. (k_cache[start + t, kv, d] = k[t, kv, d], v alike).
// attention_fused_backward_q: one invocation per row (b, h, i): delta = dout . out, and
//   dq = sum_j ds_ij k_j with p_ij = exp(s_ij - lse) and ds_ij = p_ij (dout . v_j - delta)
//   cap'(.) scale recomputed.
// attention_fused_backward_kv: one invocation per (b, j, kv): over the query heads of kv and
//   the visible i >= j, dv = sum p_ij dout_i and dk = sum ds_ij q_i.
// attention_probs_forward: one invocation per row (b, h, i); writes the probabilities and the
//   row's largest visible logit cap(q.k * scale) (before ALiBi) for the statistics.
// attention_weighted_sum: out[b, i, h, d] = sum_j w[b, h, i, j] x[b, j, kv(h), d]: the values
//   (w the probabilities, x v) and the backward's dq (w = ds, x = k).
// attention_values_backward_weights: dweights[b, h, i, j] = dout[b, i, h] . v[b, j, kv(h)], j <= i.
// attention_weighted_sum_transposed: out[b, j, kv, d] = sum over h of kv, i >= j:
//   w[b, h, i, j] y[b, i, h, d]: dv (w the probabilities, y dout) and dk (w = ds, y = q).
// attention_softmax_backward: one invocation per row, in place on the gradient:
//   ds = p (dp - sum_j p dp) * cap'(q.k * scale) * scale, cap' = 1 - (cap / SOFTCAP)^2 from the
//   logit recomputed from q and k (the forward keeps only the probabilities).

override PATTERN: u32 = 0u;
override WINDOW: u32 = 1u;
override STRIDE: u32 = 1u;
override ALIBI: bool = false;
override SOFTCAP: f32 = 0.0;

struct Dims {
    batch: u32,
    seq: u32,
    heads: u32,
    kv_heads: u32,
    d_head: u32,
    scale: f32,
    start: u32,
}

const WG: u32 = 64u;

@group(0) @binding(0) var<uniform> dims: Dims;

// Every kernel that computes logits binds q at 1 and k at 2, so one logit helper reads them
// (the fused ones v at 3 as well).
@group(0) @binding(1) var<storage, read> att_q: array<f32>;
@group(0) @binding(2) var<storage, read> att_k: array<f32>;
@group(0) @binding(3) var<storage, read> att_v: array<f32>;

@group(0) @binding(4) var<storage, read_write> ff_out: array<f32>;
@group(0) @binding(5) var<storage, read_write> ff_lse: array<f32>;
@group(0) @binding(6) var<storage, read_write> ff_row_max: array<f32>;

@group(0) @binding(4) var<storage, read> fb_dout: array<f32>;
@group(0) @binding(5) var<storage, read> fb_lse: array<f32>;

@group(0) @binding(6) var<storage, read> fq_out: array<f32>;
@group(0) @binding(7) var<storage, read_write> fq_delta: array<f32>;
@group(0) @binding(8) var<storage, read_write> fq_dq: array<f32>;

@group(0) @binding(6) var<storage, read> fkv_delta: array<f32>;
@group(0) @binding(7) var<storage, read_write> fkv_dk: array<f32>;
@group(0) @binding(8) var<storage, read_write> fkv_dv: array<f32>;

@group(0) @binding(1) var<storage, read> ca_k: array<f32>;
@group(0) @binding(2) var<storage, read> ca_v: array<f32>;
@group(0) @binding(3) var<storage, read_write> ca_k_cache: array<f32>;
@group(0) @binding(4) var<storage, read_write> ca_v_cache: array<f32>;

@group(0) @binding(3) var<storage, read_write> pf_probs: array<f32>;
@group(0) @binding(4) var<storage, read_write> pf_row_max: array<f32>;

@group(0) @binding(1) var<storage, read> ws_w: array<f32>;
@group(0) @binding(2) var<storage, read> ws_x: array<f32>;
@group(0) @binding(3) var<storage, read_write> ws_out: array<f32>;

@group(0) @binding(1) var<storage, read> vw_dout: array<f32>;
@group(0) @binding(2) var<storage, read> vw_v: array<f32>;
@group(0) @binding(3) var<storage, read_write> vw_dweights: array<f32>;

@group(0) @binding(1) var<storage, read> wt_w: array<f32>;
@group(0) @binding(2) var<storage, read> wt_y: array<f32>;
@group(0) @binding(3) var<storage, read_write> wt_out: array<f32>;

@group(0) @binding(3) var<storage, read> sb_probs: array<f32>;
@group(0) @binding(4) var<storage, read_write> sb_grad: array<f32>;

fn visible(i: u32, j: u32) -> bool {
    if (j > i) {
        return false;
    }
    let distance = i - j;
    switch PATTERN {
        case 0u: { return true; }
        case 1u: { return distance < WINDOW; }
        default: { return distance < WINDOW || distance % STRIDE == 0u; }
    }
}

// The logit of the product q.k: scaled, then soft-capped when SOFTCAP > 0 (tanh's argument
// clamped: tanh(15) is 1 in f32 and some implementations overflow exp inside tanh).
fn capped_logit(qk: f32) -> f32 {
    let x = qk * dims.scale;
    if (SOFTCAP > 0.0) {
        return SOFTCAP * tanh(clamp(x / SOFTCAP, -15.0, 15.0));
    }
    return x;
}

// ALiBi's slope for head h (0 without ALiBi).
fn alibi_slope(h: u32) -> f32 {
    if (ALIBI) {
        return exp2(-8.0 * f32(h + 1u) / f32(dims.heads));
    }
    return 0.0;
}

// The slope of the soft-cap at a capped logit: d cap / dx = 1 - (cap / SOFTCAP)^2.
fn cap_slope(capped: f32) -> f32 {
    if (SOFTCAP > 0.0) {
        let t = capped / SOFTCAP;
        return 1.0 - t * t;
    }
    return 1.0;
}

fn index(wid: vec3<u32>, nwg: vec3<u32>, lid: u32) -> u32 {
    return (wid.x + wid.y * nwg.x) * WG + lid;
}

fn q_index(b: u32, t: u32, h: u32) -> u32 {
    return ((b * dims.seq + t) * dims.heads + h) * dims.d_head;
}

fn kv_index(b: u32, t: u32, kv: u32) -> u32 {
    return ((b * dims.seq + t) * dims.kv_heads + kv) * dims.d_head;
}

fn probs_row(b: u32, h: u32, i: u32) -> u32 {
    return ((b * dims.heads + h) * dims.seq + i) * dims.seq;
}

fn group_size() -> u32 {
    return dims.heads / dims.kv_heads;
}

// The capped logit of query row qi (in att_q) and key row kj (in att_k).
fn qk_logit(qi: u32, kj: u32) -> f32 {
    var qk = 0.0;
    for (var d = 0u; d < dims.d_head; d++) {
        qk += att_q[qi + d] * att_k[kj + d];
    }
    return capped_logit(qk);
}

// dout row qi (in fb_dout) . value row kj (in att_v): the gradient of the probability p_ij.
fn dout_dot_v(qi: u32, kj: u32) -> f32 {
    var dp = 0.0;
    for (var d = 0u; d < dims.d_head; d++) {
        dp += fb_dout[qi + d] * att_v[kj + d];
    }
    return dp;
}

// The recomputed probability p_ij = exp(logit - ALiBi - lse_i) and its logit gradient
// ds_ij = p (dp_ij - delta_i) cap'(logit) scale, for both fused backward kernels.
fn fused_p_ds(qi: u32, kj: u32, distance: f32, slope: f32, lse: f32, delta: f32) -> vec2<f32> {
    let raw = qk_logit(qi, kj);
    let p = exp(raw - slope * distance - lse);
    return vec2<f32>(p, p * (dout_dot_v(qi, kj) - delta) * cap_slope(raw) * dims.scale);
}

@compute @workgroup_size(WG)
fn attention_fused_forward(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
    @builtin(local_invocation_index) lid: u32,
) {
    let r = index(wid, nwg, lid);
    if (r >= dims.batch * dims.heads * dims.seq) {
        return;
    }
    let i = r % dims.seq;
    let h = (r / dims.seq) % dims.heads;
    let b = r / (dims.seq * dims.heads);
    let kv = h / group_size();
    let qi = q_index(b, i, h);
    let slope = alibi_slope(h);
    let pos = dims.start + i;
    for (var d = 0u; d < dims.d_head; d++) {
        ff_out[qi + d] = 0.0;
    }
    // Online softmax: m the largest logit so far, sum the exps relative to it; out holds the
    // exp-weighted values relative to m, rescaled whenever m grows. The diagonal is always
    // visible, so m ends finite and sum >= 1.
    var raw_max = -3.0e38;
    var m = -3.0e38;
    var sum = 0.0;
    for (var j = 0u; j <= pos; j++) {
        if (!visible(pos, j)) {
            continue;
        }
        let kj = kv_index(b, j, kv);
        let raw = qk_logit(qi, kj);
        raw_max = max(raw_max, raw);
        let logit = raw - slope * f32(pos - j);
        if (logit > m) {
            let rescale = exp(m - logit);
            sum *= rescale;
            for (var d = 0u; d < dims.d_head; d++) {
                ff_out[qi + d] *= rescale;
            }
            m = logit;
        }
        let e = exp(logit - m);
        sum += e;
        for (var d = 0u; d < dims.d_head; d++) {
            ff_out[qi + d] += e * att_v[kj + d];
        }
    }
    for (var d = 0u; d < dims.d_head; d++) {
        ff_out[qi + d] /= sum;
    }
    ff_lse[r] = m + log(sum);
    ff_row_max[r] = raw_max;
}

@compute @workgroup_size(WG)
fn attention_cache_append(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
    @builtin(local_invocation_index) lid: u32,
) {
    let e = index(wid, nwg, lid);
    let row = dims.kv_heads * dims.d_head;
    if (e >= dims.seq * row) {
        return;
    }
    ca_k_cache[dims.start * row + e] = ca_k[e];
    ca_v_cache[dims.start * row + e] = ca_v[e];
}

@compute @workgroup_size(WG)
fn attention_fused_backward_q(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
    @builtin(local_invocation_index) lid: u32,
) {
    let r = index(wid, nwg, lid);
    if (r >= dims.batch * dims.heads * dims.seq) {
        return;
    }
    let i = r % dims.seq;
    let h = (r / dims.seq) % dims.heads;
    let b = r / (dims.seq * dims.heads);
    let kv = h / group_size();
    let qi = q_index(b, i, h);
    let slope = alibi_slope(h);
    // delta = sum_j p_ij dp_ij = dout . out, kept for the keys' and values' kernel.
    var delta = 0.0;
    for (var d = 0u; d < dims.d_head; d++) {
        delta += fb_dout[qi + d] * fq_out[qi + d];
        fq_dq[qi + d] = 0.0;
    }
    fq_delta[r] = delta;
    let lse = fb_lse[r];
    for (var j = 0u; j <= i; j++) {
        if (!visible(i, j)) {
            continue;
        }
        let kj = kv_index(b, j, kv);
        let ds = fused_p_ds(qi, kj, f32(i - j), slope, lse, delta).y;
        for (var d = 0u; d < dims.d_head; d++) {
            fq_dq[qi + d] += ds * att_k[kj + d];
        }
    }
}

@compute @workgroup_size(WG)
fn attention_fused_backward_kv(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
    @builtin(local_invocation_index) lid: u32,
) {
    let e = index(wid, nwg, lid);
    if (e >= dims.batch * dims.seq * dims.kv_heads) {
        return;
    }
    let kv = e % dims.kv_heads;
    let j = (e / dims.kv_heads) % dims.seq;
    let b = e / (dims.kv_heads * dims.seq);
    let kj = kv_index(b, j, kv);
    for (var d = 0u; d < dims.d_head; d++) {
        fkv_dk[kj + d] = 0.0;
        fkv_dv[kj + d] = 0.0;
    }
    for (var h = kv * group_size(); h < (kv + 1u) * group_size(); h++) {
        let slope = alibi_slope(h);
        for (var i = j; i < dims.seq; i++) {
            if (!visible(i, j)) {
                continue;
            }
            let qi = q_index(b, i, h);
            let r = (b * dims.heads + h) * dims.seq + i;
            let p_ds = fused_p_ds(qi, kj, f32(i - j), slope, fb_lse[r], fkv_delta[r]);
            for (var d = 0u; d < dims.d_head; d++) {
                fkv_dv[kj + d] += p_ds.x * fb_dout[qi + d];
                fkv_dk[kj + d] += p_ds.y * att_q[qi + d];
            }
        }
    }
}

@compute @workgroup_size(WG)
fn attention_probs_forward(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
    @builtin(local_invocation_index) lid: u32,
) {
    let r = index(wid, nwg, lid);
    if (r >= dims.batch * dims.heads * dims.seq) {
        return;
    }
    let i = r % dims.seq;
    let h = (r / dims.seq) % dims.heads;
    let b = r / (dims.seq * dims.heads);
    let kv = h / group_size();
    let qi = q_index(b, i, h);
    let row = r * dims.seq;
    let slope = alibi_slope(h);
    // The diagonal is always visible, so both maxima are finite.
    var raw_max = -3.0e38;
    var row_max = -3.0e38;
    for (var j = 0u; j < dims.seq; j++) {
        var logit = 0.0;
        if (visible(i, j)) {
            let raw = qk_logit(qi, kv_index(b, j, kv));
            raw_max = max(raw_max, raw);
            logit = raw - slope * f32(i - j);
            row_max = max(row_max, logit);
        }
        pf_probs[row + j] = logit;
    }
    var sum = 0.0;
    for (var j = 0u; j < dims.seq; j++) {
        var e = 0.0;
        if (visible(i, j)) {
            e = exp(pf_probs[row + j] - row_max);
        }
        sum += e;
        pf_probs[row + j] = e;
    }
    for (var j = 0u; j < dims.seq; j++) {
        pf_probs[row + j] /= sum;
    }
    pf_row_max[r] = raw_max;
}

@compute @workgroup_size(WG)
fn attention_weighted_sum(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
    @builtin(local_invocation_index) lid: u32,
) {
    let e = index(wid, nwg, lid);
    if (e >= dims.batch * dims.seq * dims.heads * dims.d_head) {
        return;
    }
    let d = e % dims.d_head;
    let h = (e / dims.d_head) % dims.heads;
    let i = (e / (dims.d_head * dims.heads)) % dims.seq;
    let b = e / (dims.d_head * dims.heads * dims.seq);
    let kv = h / group_size();
    let row = probs_row(b, h, i);
    var acc = 0.0;
    for (var j = 0u; j <= i; j++) {
        acc += ws_w[row + j] * ws_x[kv_index(b, j, kv) + d];
    }
    ws_out[e] = acc;
}

@compute @workgroup_size(WG)
fn attention_values_backward_weights(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
    @builtin(local_invocation_index) lid: u32,
) {
    let e = index(wid, nwg, lid);
    if (e >= dims.batch * dims.heads * dims.seq * dims.seq) {
        return;
    }
    let j = e % dims.seq;
    let i = (e / dims.seq) % dims.seq;
    let h = (e / (dims.seq * dims.seq)) % dims.heads;
    let b = e / (dims.seq * dims.seq * dims.heads);
    var acc = 0.0;
    if (j <= i) {
        let oi = q_index(b, i, h);
        let vj = kv_index(b, j, h / group_size());
        for (var d = 0u; d < dims.d_head; d++) {
            acc += vw_dout[oi + d] * vw_v[vj + d];
        }
    }
    vw_dweights[e] = acc;
}

@compute @workgroup_size(WG)
fn attention_weighted_sum_transposed(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
    @builtin(local_invocation_index) lid: u32,
) {
    let e = index(wid, nwg, lid);
    if (e >= dims.batch * dims.seq * dims.kv_heads * dims.d_head) {
        return;
    }
    let d = e % dims.d_head;
    let kv = (e / dims.d_head) % dims.kv_heads;
    let j = (e / (dims.d_head * dims.kv_heads)) % dims.seq;
    let b = e / (dims.d_head * dims.kv_heads * dims.seq);
    var acc = 0.0;
    for (var h = kv * group_size(); h < (kv + 1u) * group_size(); h++) {
        for (var i = j; i < dims.seq; i++) {
            acc += wt_w[probs_row(b, h, i) + j] * wt_y[q_index(b, i, h) + d];
        }
    }
    wt_out[e] = acc;
}

@compute @workgroup_size(WG)
fn attention_softmax_backward(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
    @builtin(local_invocation_index) lid: u32,
) {
    let r = index(wid, nwg, lid);
    if (r >= dims.batch * dims.heads * dims.seq) {
        return;
    }
    let row = r * dims.seq;
    var p_dot_dp = 0.0;
    for (var j = 0u; j < dims.seq; j++) {
        p_dot_dp += sb_probs[row + j] * sb_grad[row + j];
    }
    let i = r % dims.seq;
    let h = (r / dims.seq) % dims.heads;
    let b = r / (dims.seq * dims.heads);
    let qi = q_index(b, i, h);
    for (var j = 0u; j < dims.seq; j++) {
        var slope = 1.0;
        // Keys past the query have p = 0 and need no slope.
        if (SOFTCAP > 0.0 && j <= i) {
            slope = cap_slope(qk_logit(qi, kv_index(b, j, h / group_size())));
        }
        sb_grad[row + j] = sb_probs[row + j] * (sb_grad[row + j] - p_dot_dp) * slope * dims.scale;
    }
}
