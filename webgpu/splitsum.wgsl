// splitsum: the second half of a split-K conv (conv2d.wgsl with SPLIT):
// adds the slices' partial sums of each output vec4, then the conv's
// epilogue: the BatchNorm-folded bias, the residual, ReLU. One thread per
// output vec4.
//
// The Go side (shaders.go) prepends the storage types in4 (f32: the partial
// sums) and out4, WORKGROUP, the switches RESIDUAL and RELU, and
// epilogue.wgsl.

struct Sum {
  total: u32,   // output vec4s: m * out_c4, also the stride between slices
  splits: u32,
  out_c4: u32,
}

@group(0) @binding(0) var<uniform> sum: Sum;
@group(0) @binding(1) var<storage, read> partials: array<in4>;       // [splits][m][out_c4]
@group(0) @binding(2) var<storage, read> bias: array<vec4<f32>>;     // [out_c4]
@group(0) @binding(3) var<storage, read> residual: array<out4>;      // [m][out_c4]; a stand-in unless RESIDUAL
@group(0) @binding(4) var<storage, read_write> output: array<out4>;  // [m][out_c4]

@compute @workgroup_size(WORKGROUP)
fn main(@builtin(global_invocation_id) id: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
  let i = id.y * groups.x * WORKGROUP + id.x;
  if (i >= sum.total) {
    return;
  }
  var v = bias[i % sum.out_c4];
  for (var s = 0u; s < sum.splits; s++) {
    v += in4_f32(partials[s * sum.total + i]);
  }
  output[i] = epilogue(v, i);
}
