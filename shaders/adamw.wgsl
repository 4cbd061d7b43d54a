// AdamW with decoupled weight decay (PyTorch's), over the whole flat parameter buffer.
//
// Layout: params, grads, m, v [n] laid out by `ParamLayout`; decay_mask [ceil(n / 32)] u32,
// bit i % 32 of word i / 32 set where element i belongs to a decaying tensor (built once per
// layout). Padding between tensors has zero gradient and moments, so its update is 0 / eps = 0
// and it stays zero, as on the CPU, which skips it.
//
// adamw_update: one invocation per element:
//   m = b1 m + (1 - b1) g;  v = b2 v + (1 - b2) g^2;
//   p -= lr (wd p [decaying only] + (m / c1) / (sqrt(v / c2) + eps)),
//   with the bias corrections c1 = 1 - b1^t, c2 = 1 - b2^t computed on the CPU each step.
// The optimizer has no backward.

struct Params {
    n: u32,
    lr: f32,
    beta1: f32,
    beta2: f32,
    eps: f32,
    weight_decay: f32,
    c1: f32,
    c2: f32,
}

const WG: u32 = 256u;

@group(0) @binding(0) var<uniform> hyper: Params;
@group(0) @binding(1) var<storage, read> grads: array<f32>;
@group(0) @binding(2) var<storage, read> decay_mask: array<u32>;
@group(0) @binding(3) var<storage, read_write> params: array<f32>;
@group(0) @binding(4) var<storage, read_write> m: array<f32>;
@group(0) @binding(5) var<storage, read_write> v: array<f32>;

@compute @workgroup_size(WG)
fn adamw_update(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
    @builtin(local_invocation_index) lid: u32,
) {
    let e = (wid.x + wid.y * nwg.x) * WG + lid;
    if (e >= hyper.n) {
        return;
    }
    let g = grads[e];
    let m_new = hyper.beta1 * m[e] + (1.0 - hyper.beta1) * g;
    let v_new = hyper.beta2 * v[e] + (1.0 - hyper.beta2) * g * g;
    let decays = ((decay_mask[e / 32u] >> (e % 32u)) & 1u) == 1u;
    let wd = select(0.0, hyper.weight_decay, decays);
    let p = params[e];
    let update = (m_new / hyper.c1) / (sqrt(v_new / hyper.c2) + hyper.eps);
    params[e] = p - hyper.lr * (wd * p + update);
    m[e] = m_new;
    v[e] = v_new;
}
