// avgpool: the global average over all positions of an NHWC tensor, one
// thread per vec4 of channels: the features the fully connected layer reads.
//
// The Go side (shaders.go) prepends the storage types in4 and out4 and
// WORKGROUP, the threads of a workgroup.

struct Average {
  positions: u32,
  c4: u32,  // channels / 4
}

@group(0) @binding(0) var<uniform> average: Average;
@group(0) @binding(1) var<storage, read> input: array<in4>;          // [positions][c4]
@group(0) @binding(2) var<storage, read_write> output: array<out4>;  // [c4]

@compute @workgroup_size(WORKGROUP)
fn main(@builtin(global_invocation_id) id: vec3<u32>) {
  let c = id.x;
  if (c >= average.c4) {
    return;
  }
  var sum = vec4<f32>(0.0);
  for (var p = 0u; p < average.positions; p++) {
    sum += in4_f32(input[p * average.c4 + c]);
  }
  output[c] = to_out4(sum / f32(average.positions));
}
