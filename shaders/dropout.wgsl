// Dropout from a counter-based hash, bit-identical to the CPU's (`cpu::dropout`): element
// `index` of a site is kept iff hash(seed, step, site, index) >= threshold, and kept elements
// are scaled by `scale` = 1 / (1 - p). The mask is recomputed, never stored.
//
// Layout: inp, out, grad [n] flattened. One invocation per element.
// dropout_forward: out = keep ? inp * scale : 0
// dropout_backward: grad = keep ? grad * scale : 0, in place (dropout is linear in its input).

struct Params {
    n: u32,
    seed: u32,
    step: u32,
    site: u32,
    threshold: u32,
    scale: f32,
}

const WG: u32 = 256u;

@group(0) @binding(0) var<uniform> params: Params;

@group(0) @binding(1) var<storage, read> fwd_inp: array<f32>;
@group(0) @binding(2) var<storage, read_write> fwd_out: array<f32>;

@group(0) @binding(1) var<storage, read_write> bwd_grad: array<f32>;

// lowbias32 (Chris Wellons' integer hash); u32 arithmetic wraps in WGSL as in the CPU's
// wrapping_mul.
fn mix(v: u32) -> u32 {
    var x = v;
    x ^= x >> 16u;
    x *= 0x7feb352du;
    x ^= x >> 15u;
    x *= 0x846ca68bu;
    x ^= x >> 16u;
    return x;
}

fn keep(index: u32) -> bool {
    let key = mix(params.site ^ mix(params.step ^ mix(params.seed)));
    return mix(index ^ key) >= params.threshold;
}

@compute @workgroup_size(WG)
fn dropout_forward(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
    @builtin(local_invocation_index) lid: u32,
) {
    let e = (wid.x + wid.y * nwg.x) * WG + lid;
    if (e >= params.n) {
        return;
    }
    fwd_out[e] = select(0.0, fwd_inp[e] * params.scale, keep(e));
}

@compute @workgroup_size(WG)
fn dropout_backward(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
    @builtin(local_invocation_index) lid: u32,
) {
    let e = (wid.x + wid.y * nwg.x) * WG + lid;
    if (e >= params.n) {
        return;
    }
    bwd_grad[e] = select(0.0, bwd_grad[e] * params.scale, keep(e));
}
