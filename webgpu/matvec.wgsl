// matvec: the fully connected layer, output = weights^T x features + bias,
// with the weights laid out as a 1x1 conv's ([k][out_c4], vec4 along the
// outputs). A workgroup computes COLUMNS output vec4s; for each, SLICES
// threads sum every SLICES-th feature vec4, then the workgroup adds the
// slices up in workgroup memory.
//
// The Go side (shaders.go) prepends the storage types in4, weight4 and out4
// and the sizes COLUMNS and SLICES (SLICES a power of two).

struct MatVec {
  k4: u32,      // features / 4
  out_c4: u32,  // outputs / 4
}

@group(0) @binding(0) var<uniform> mv: MatVec;
@group(0) @binding(1) var<storage, read> input: array<in4>;          // [k4]
@group(0) @binding(2) var<storage, read> weights: array<weight4>;    // [k][out_c4]
@group(0) @binding(3) var<storage, read> bias: array<vec4<f32>>;     // [out_c4]
@group(0) @binding(5) var<storage, read_write> output: array<out4>;  // [out_c4]

var<workgroup> sums: array<vec4<f32>, COLUMNS * SLICES>;

@compute @workgroup_size(COLUMNS, SLICES)
fn main(@builtin(workgroup_id) group: vec3<u32>, @builtin(local_invocation_id) local: vec3<u32>) {
  let n4 = group.x * COLUMNS + local.x;
  var acc = vec4<f32>(0.0);
  if (n4 < mv.out_c4) {
    for (var k4 = local.y; k4 < mv.k4; k4 += SLICES) {
      let a = in4_f32(input[k4]);
      let row = 4u * k4 * mv.out_c4 + n4;
      acc = fma(vec4<f32>(a.x), weight4_f32(weights[row]), acc);
      acc = fma(vec4<f32>(a.y), weight4_f32(weights[row + mv.out_c4]), acc);
      acc = fma(vec4<f32>(a.z), weight4_f32(weights[row + 2u * mv.out_c4]), acc);
      acc = fma(vec4<f32>(a.w), weight4_f32(weights[row + 3u * mv.out_c4]), acc);
    }
  }
  sums[local.y * COLUMNS + local.x] = acc;
  workgroupBarrier();
  for (var stride = SLICES / 2u; stride > 0u; stride /= 2u) {
    if (local.y < stride) {
      sums[local.y * COLUMNS + local.x] += sums[(local.y + stride) * COLUMNS + local.x];
    }
    workgroupBarrier();
  }
  if (local.y == 0u && n4 < mv.out_c4) {
    output[n4] = to_out4(sums[local.x] + bias[n4]);
  }
}
