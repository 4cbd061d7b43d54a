// Sums: the residual add, gradient accumulation where one activation feeds several ops, and
// column sums for bias gradients.
//
// Layout: a, b, out, src, dst [n] flattened; column_sum's src [rows, cols], dst [cols].
// add:        out = a + b, one invocation per element (the residual add).
// add_into:   dst += src, one invocation per element (its backward: gradients of a sum's inputs).
// column_sum: dst[c] += sum_r src[r, c], one workgroup of 64 per column, tree-reduced (no atomics):
//             a linear layer's bias gradient.

struct Dims {
    n: u32,
    rows: u32,
    cols: u32,
}

const WG: u32 = 256u;
const COLUMN_WG: u32 = 64u;

@group(0) @binding(0) var<uniform> dims: Dims;

@group(0) @binding(1) var<storage, read> add_a: array<f32>;
@group(0) @binding(2) var<storage, read> add_b: array<f32>;
@group(0) @binding(3) var<storage, read_write> add_out: array<f32>;

@group(0) @binding(1) var<storage, read> into_src: array<f32>;
@group(0) @binding(2) var<storage, read_write> into_dst: array<f32>;

@group(0) @binding(1) var<storage, read> col_src: array<f32>;
@group(0) @binding(2) var<storage, read_write> col_dst: array<f32>;

var<workgroup> partial: array<f32, COLUMN_WG>;

fn element(wid: vec3<u32>, nwg: vec3<u32>, lid: u32) -> u32 {
    return (wid.x + wid.y * nwg.x) * WG + lid;
}

@compute @workgroup_size(WG)
fn add(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
    @builtin(local_invocation_index) lid: u32,
) {
    let e = element(wid, nwg, lid);
    if (e < dims.n) {
        add_out[e] = add_a[e] + add_b[e];
    }
}

@compute @workgroup_size(WG)
fn add_into(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
    @builtin(local_invocation_index) lid: u32,
) {
    let e = element(wid, nwg, lid);
    if (e < dims.n) {
        into_dst[e] += into_src[e];
    }
}

@compute @workgroup_size(COLUMN_WG)
fn column_sum(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
    @builtin(local_invocation_index) lid: u32,
) {
    let col = wid.x + wid.y * nwg.x;
    if (col >= dims.cols) {
        return;
    }
    var s = 0.0;
    for (var r = lid; r < dims.rows; r += COLUMN_WG) {
        s += col_src[r * dims.cols + col];
    }
    partial[lid] = s;
    workgroupBarrier();
    for (var stride = COLUMN_WG / 2u; stride > 0u; stride /= 2u) {
        if (lid < stride) {
            partial[lid] += partial[lid + stride];
        }
        workgroupBarrier();
    }
    if (lid == 0u) {
        col_dst[col] += partial[0];
    }
}
