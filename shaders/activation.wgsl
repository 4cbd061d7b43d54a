// MLP non-linearities, plain h = act(a) and gated h = act(a) * gate, forward and backward.
//
// Layout: a, gate, out, dout, da, dgate [N, F] flattened to n = dims.n elements; one invocation
// per element. KIND picks act: 0 ReLU, 1 GeLU (exact, erf), 2 GeLU tanh approximation,
// 3 SiLU; GATED multiplies by `gate` (ReGLU, GeGLU, GeGLU-tanh, SwiGLU are KIND 0, 1, 2, 3 with
// GATED).
//
// activation_forward:  out = act(a) (* gate)
// activation_backward: da = dout (* gate) * act'(a) (=), and when GATED dgate = dout * act(a) (=)
//
// Logit soft-capping (Gemma 2's output logits), in place over n elements:
// softcap_forward:  x = SOFTCAP tanh(x / SOFTCAP)
// softcap_backward: grad *= 1 - (y / SOFTCAP)^2, from the capped values y (tanh' = 1 - tanh^2)

override KIND: u32 = 0u;
override GATED: bool = false;
override SOFTCAP: f32 = 1.0;

struct Dims {
    n: u32,
}

const WG: u32 = 256u;
const SQRT_2_OVER_PI: f32 = 0.7978845608028654;
const INV_SQRT_2PI: f32 = 0.3989422804014327;
const FRAC_1_SQRT_2: f32 = 0.7071067811865476;
const GELU_TANH_CUBIC: f32 = 0.044715;

@group(0) @binding(0) var<uniform> dims: Dims;

@group(0) @binding(1) var<storage, read> fwd_a: array<f32>;
@group(0) @binding(2) var<storage, read> fwd_gate: array<f32>;
@group(0) @binding(3) var<storage, read_write> fwd_out: array<f32>;

@group(0) @binding(1) var<storage, read> bwd_dout: array<f32>;
@group(0) @binding(2) var<storage, read> bwd_a: array<f32>;
@group(0) @binding(3) var<storage, read> bwd_gate: array<f32>;
@group(0) @binding(4) var<storage, read_write> bwd_da: array<f32>;
@group(0) @binding(5) var<storage, read_write> bwd_dgate: array<f32>;

@group(0) @binding(1) var<storage, read_write> cap_x: array<f32>;

@group(0) @binding(1) var<storage, read> capb_y: array<f32>;
@group(0) @binding(2) var<storage, read_write> capb_grad: array<f32>;

// erfc(x) for x >= 0 with fractional error below 1.2e-7: the Chebyshev-fitted exponent of
// Numerical Recipes (2nd ed., 6.2, erfcc). Keeping erfc's *relative* error small keeps GeLU's
// relative error small for negative inputs, where Phi(x) = erfc(-x / sqrt 2) / 2 is tiny.
fn erfc_positive(x: f32) -> f32 {
    let t = 1.0 / (1.0 + 0.5 * x);
    let poly = -1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418
        + t * (-0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587
        + t * (-0.82215223 + t * 0.17087277))))))));
    return t * exp(-x * x + poly);
}

// The standard normal CDF.
fn normal_cdf(x: f32) -> f32 {
    let tail = 0.5 * erfc_positive(abs(x) * FRAC_1_SQRT_2);
    return select(1.0 - tail, tail, x < 0.0);
}

fn sigmoid(x: f32) -> f32 {
    return 1.0 / (1.0 + exp(-x));
}

// tanh, its argument clamped because tanh(15) is 1 in f32 and some implementations overflow
// exp inside tanh for large arguments.
fn safe_tanh(x: f32) -> f32 {
    return tanh(clamp(x, -15.0, 15.0));
}

// tanh of the GeLU approximation's inner term.
fn gelu_tanh_t(x: f32) -> f32 {
    return safe_tanh(SQRT_2_OVER_PI * (x + GELU_TANH_CUBIC * x * x * x));
}

fn act(x: f32) -> f32 {
    switch KIND {
        case 0u: { return max(x, 0.0); }
        case 1u: { return x * normal_cdf(x); }
        case 2u: { return 0.5 * x * (1.0 + gelu_tanh_t(x)); }
        default: { return x * sigmoid(x); }
    }
}

fn act_grad(x: f32) -> f32 {
    switch KIND {
        case 0u: { return select(0.0, 1.0, x > 0.0); }
        case 1u: { return normal_cdf(x) + x * exp(-0.5 * x * x) * INV_SQRT_2PI; }
        case 2u: {
            let t = gelu_tanh_t(x);
            let inner_grad = SQRT_2_OVER_PI * (1.0 + 3.0 * GELU_TANH_CUBIC * x * x);
            return 0.5 * (1.0 + t) + 0.5 * x * (1.0 - t * t) * inner_grad;
        }
        default: {
            let s = sigmoid(x);
            return s * (1.0 + x * (1.0 - s));
        }
    }
}

@compute @workgroup_size(WG)
fn activation_forward(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
    @builtin(local_invocation_index) lid: u32,
) {
    let e = (wid.x + wid.y * nwg.x) * WG + lid;
    if (e >= dims.n) {
        return;
    }
    var value = act(fwd_a[e]);
    if (GATED) {
        value *= fwd_gate[e];
    }
    fwd_out[e] = value;
}

@compute @workgroup_size(WG)
fn activation_backward(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
    @builtin(local_invocation_index) lid: u32,
) {
    let e = (wid.x + wid.y * nwg.x) * WG + lid;
    if (e >= dims.n) {
        return;
    }
    let a = bwd_a[e];
    var d = bwd_dout[e];
    if (GATED) {
        bwd_dgate[e] = d * act(a);
        d *= bwd_gate[e];
    }
    bwd_da[e] = d * act_grad(a);
}

@compute @workgroup_size(WG)
fn softcap_forward(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
    @builtin(local_invocation_index) lid: u32,
) {
    let e = (wid.x + wid.y * nwg.x) * WG + lid;
    if (e >= dims.n) {
        return;
    }
    cap_x[e] = SOFTCAP * safe_tanh(cap_x[e] / SOFTCAP);
}

@compute @workgroup_size(WG)
fn softcap_backward(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
    @builtin(local_invocation_index) lid: u32,
) {
    let e = (wid.x + wid.y * nwg.x) * WG + lid;
    if (e >= dims.n) {
        return;
    }
    let t = capb_y[e] / SOFTCAP;
    capb_grad[e] *= 1.0 - t * t;
}
