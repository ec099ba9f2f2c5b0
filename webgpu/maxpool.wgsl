// maxpool: a k x k max-pool with stride and padding over an NHWC tensor, one
// thread per output vec4 of channels. Padded positions never win, as in
// PyTorch.
//
// The Go side (shaders.go) prepends the storage types in4 and out4 and
// WORKGROUP, the threads of a workgroup.

struct Pool {
  in_h: u32,
  in_w: u32,
  c4: u32,     // channels / 4
  out_w: u32,
  total: u32,  // output vec4s: out_h * out_w * c4
  kernel: u32,
  stride: u32,
  pad: u32,
}

@group(0) @binding(0) var<uniform> pool: Pool;
@group(0) @binding(1) var<storage, read> input: array<in4>;          // [in_h][in_w][c4]
@group(0) @binding(2) var<storage, read_write> output: array<out4>;  // [out_h][out_w][c4]

// Below every finite f32: what a window starts from.
const LOWEST = -3.4028234663852886e38;

@compute @workgroup_size(WORKGROUP)
fn main(@builtin(global_invocation_id) id: vec3<u32>, @builtin(num_workgroups) groups: vec3<u32>) {
  // Large outputs spread over y: one dimension holds at most 65535 workgroups.
  let i = id.y * groups.x * WORKGROUP + id.x;
  if (i >= pool.total) {
    return;
  }
  let c = i % pool.c4;
  let position = i / pool.c4;
  let y0 = i32((position / pool.out_w) * pool.stride) - i32(pool.pad);
  let x0 = i32((position % pool.out_w) * pool.stride) - i32(pool.pad);
  var best = vec4<f32>(LOWEST);
  for (var ky = 0; ky < i32(pool.kernel); ky++) {
    let y = y0 + ky;
    if (y < 0 || y >= i32(pool.in_h)) {
      continue;
    }
    for (var kx = 0; kx < i32(pool.kernel); kx++) {
      let x = x0 + kx;
      if (x < 0 || x >= i32(pool.in_w)) {
        continue;
      }
      best = max(best, in4_f32(input[(u32(y) * pool.in_w + u32(x)) * pool.c4 + c]));
    }
  }
  output[i] = to_out4(best);
}
