// image: the caller's image, NHWC float32 with C channels as written by
// Model.Run in one writeBuffer, to the network's input layout: channels
// padded to a multiple of 4 with zeros, stored as in4's type. One thread per
// output vec4.
//
// The Go side (shaders.go) prepends the storage type out4 and WORKGROUP.

struct Image {
  total: u32,     // output vec4s: pixels * c4
  channels: u32,  // C
  c4: u32,        // vec4s a pixel: ceil(C / 4)
}

@group(0) @binding(0) var<uniform> image: Image;
@group(0) @binding(1) var<storage, read> pixels: array<f32>;         // [h][w][C]
@group(0) @binding(2) var<storage, read_write> output: array<out4>;  // [h][w][c4]

@compute @workgroup_size(WORKGROUP)
fn main(@builtin(global_invocation_id) id: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
  let i = id.y * groups.x * WORKGROUP + id.x;
  if (i >= image.total) {
    return;
  }
  let pixel = i / image.c4;
  let first = 4u * (i % image.c4); // the first channel of this vec4
  var v = vec4<f32>(0.0);
  for (var j = 0u; j < 4u && first + j < image.channels; j++) {
    v[j] = pixels[pixel * image.channels + first + j];
  }
  output[i] = to_out4(v);
}
