// Token embedding plus a position table, and its backward.
//
// Layout: tokens [N] u32, N = B*T rows, row n at position t = n % T (T = dims.seq);
// tok_emb [V, C]; pos [T, C] (the learned table, or the constant sinusoidal one);
// out, dout [N, C]; dtok [V, C]; dpos [T, C]. C = dims.c.
//
// embedding_forward: out[n, i] = SCALE * tok_emb[tokens[n], i] (+ pos[n % T, i] when HAS_POS);
//   one invocation per element. SCALE is √C for Gemma's scaled embeddings, else 1.
// The backward has no float atomics: every gradient element is owned by one invocation.
// embedding_backward_tokens: dtok[v, i] += SCALE * sum over n with tokens[n] = v of dout[n, i], one
//   invocation per (v, i) walking n in order (the CPU's order, so the sums match it exactly).
//   The row of token PADDING gets nothing (PyTorch's padding_idx); none when PADDING = 2^32-1.
// embedding_backward_positions: dpos[t, i] += sum over b of dout[b*T + t, i].

override HAS_POS: bool = false;
override PADDING: u32 = 4294967295u;
override SCALE: f32 = 1.0;

struct Dims {
    rows: u32,
    seq: u32,
    c: u32,
    vocab: u32,
}

const WG: u32 = 256u;

@group(0) @binding(0) var<uniform> dims: Dims;

@group(0) @binding(1) var<storage, read> fwd_tokens: array<u32>;
@group(0) @binding(2) var<storage, read> fwd_tok_emb: array<f32>;
@group(0) @binding(3) var<storage, read> fwd_pos: array<f32>;
@group(0) @binding(4) var<storage, read_write> fwd_out: array<f32>;

@group(0) @binding(1) var<storage, read> bwd_tokens: array<u32>;
@group(0) @binding(2) var<storage, read> bwd_dout: array<f32>;
@group(0) @binding(3) var<storage, read_write> bwd_dtok: array<f32>;

@group(0) @binding(1) var<storage, read> pos_dout: array<f32>;
@group(0) @binding(2) var<storage, read_write> pos_dpos: array<f32>;

fn element(wid: vec3<u32>, nwg: vec3<u32>, lid: u32) -> u32 {
    return (wid.x + wid.y * nwg.x) * WG + lid;
}

@compute @workgroup_size(WG)
fn embedding_forward(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
    @builtin(local_invocation_index) lid: u32,
) {
    let e = element(wid, nwg, lid);
    if (e >= dims.rows * dims.c) {
        return;
    }
    let n = e / dims.c;
    let i = e % dims.c;
    var value = SCALE * fwd_tok_emb[fwd_tokens[n] * dims.c + i];
    if (HAS_POS) {
        value += fwd_pos[(n % dims.seq) * dims.c + i];
    }
    fwd_out[e] = value;
}

@compute @workgroup_size(WG)
fn embedding_backward_tokens(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
    @builtin(local_invocation_index) lid: u32,
) {
    let e = element(wid, nwg, lid);
    if (e >= dims.vocab * dims.c) {
        return;
    }
    let v = e / dims.c;
    let i = e % dims.c;
    if (v == PADDING) {
        return;
    }
    var acc = bwd_dtok[e];
    for (var n = 0u; n < dims.rows; n++) {
        if (bwd_tokens[n] == v) {
            acc += SCALE * bwd_dout[n * dims.c + i];
        }
    }
    bwd_dtok[e] = acc;
}

@compute @workgroup_size(WG)
fn embedding_backward_positions(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
    @builtin(local_invocation_index) lid: u32,
) {
    let e = element(wid, nwg, lid);
    if (e >= dims.seq * dims.c) {
        return;
    }
    var acc = pos_dpos[e];
    for (var n = e / dims.c; n < dims.rows; n += dims.seq) {
        acc += pos_dout[n * dims.c + e % dims.c];
    }
    pos_dpos[e] = acc;
}
