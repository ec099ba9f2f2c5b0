// conv: the uniform block, the bindings and the window origins of a conv,
// shared by conv2d.wgsl and convdirect.wgsl. The Go side (shaders.go) puts it after their
// prelude (in4, weight4, out4) and before epilogue.wgsl and their file.

struct Conv {
  in_h: u32,
  in_w: u32,
  in_c4: u32,   // input channels / 4
  out_w: u32,
  out_c4: u32,  // output channels / 4
  m: u32,       // output positions, out_h * out_w
  k4: u32,      // reduction length / 4: kernel * kernel * in_c4
  kernel: u32,
  stride: u32,
  pad: u32,
  k4_split: u32, // K per workgroup along z, a multiple of TILE_K / 4, with conv2d.wgsl's SPLIT; else k4
}

@group(0) @binding(0) var<uniform> conv: Conv;
@group(0) @binding(1) var<storage, read> input: array<in4>;          // [in_h][in_w][in_c4]
@group(0) @binding(2) var<storage, read> weights: array<weight4>;    // [ky][kx][ci][out_c4]
@group(0) @binding(3) var<storage, read> bias: array<vec4<f32>>;     // [out_c4]
@group(0) @binding(4) var<storage, read> residual: array<out4>;      // [m][out_c4]; a stand-in unless RESIDUAL
@group(0) @binding(5) var<storage, read_write> output: array<out4>;  // [m][out_c4]

// A window origin that every bounds check rejects: rows past M read zeros.
const OUTSIDE = vec2<i32>(-0x100000);

// window_origin returns the input pixel (x, y) under the top-left tap of
// output position m, or OUTSIDE past the last position.
fn window_origin(m: u32) -> vec2<i32> {
  if (m >= conv.m) {
    return OUTSIDE;
  }
  return vec2<i32>(vec2<u32>(m % conv.out_w, m / conv.out_w) * conv.stride) - i32(conv.pad);
}

