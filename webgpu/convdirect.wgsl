// convdirect: a convolution over a small map (under 32 output positions on
// a software adapter: the last stages at 32x32 inputs, and the fc), the
// same sum as conv2d.wgsl,
//   output[m][n] = epilogue(sum over k of A[m][k] * weights[k][n]),
// where each thread computes every output position of 4 output channels
// and reads its weights straight from storage. With so few positions a
// weight serves one thread only, so conv2d.wgsl's tiles in workgroup
// memory, and the barriers around them, would only cost; and the threads
// of a workgroup, neighbouring channels, all read the same input values.
//
// The Go side (shaders.go) prepends the storage types and calc as for
// conv2d.wgsl, POSITIONS (out_h * out_w), WORKGROUP, the switches
// RESIDUAL, RELU and F16_ARITHMETIC (calc is f16), then conv.wgsl (the
// uniform conv and the bindings) and epilogue.wgsl.

@compute @workgroup_size(WORKGROUP)
fn main(@builtin(global_invocation_id) id: vec3<u32>) {
  let n4 = id.x;
  if (n4 >= conv.out_c4) {
    return;
  }
  let size = vec2<i32>(i32(conv.in_w), i32(conv.in_h));
  var acc: array<vec4<f32>, POSITIONS>;
  for (var ky = 0u; ky < conv.kernel; ky++) {
    for (var kx = 0u; kx < conv.kernel; kx++) {
      // Where each position's tap reads its input channels, or -1 in the
      // padding: the same in every thread, so its branch below is too.
      var at: array<i32, POSITIONS>;
      for (var m = 0u; m < POSITIONS; m++) {
        let pixel = window_origin(m) + vec2<i32>(i32(kx), i32(ky));
        let inside = all(pixel >= vec2<i32>(0)) && all(pixel < size);
        at[m] = select(-1, i32((u32(pixel.y) * conv.in_w + u32(pixel.x)) * conv.in_c4), inside);
      }
      var row = 4u * (ky * conv.kernel + kx) * conv.in_c4 * conv.out_c4 + n4; // weights[k][n4], k the tap's first
      for (var c4 = 0u; c4 < conv.in_c4; c4++) {
        let b0 = weight4_calc(weights[row]);
        let b1 = weight4_calc(weights[row + conv.out_c4]);
        let b2 = weight4_calc(weights[row + 2u * conv.out_c4]);
        let b3 = weight4_calc(weights[row + 3u * conv.out_c4]);
        row += 4u * conv.out_c4;
        for (var m = 0u; m < POSITIONS; m++) {
          if (at[m] >= 0) {
            let a = in4_calc(input[u32(at[m]) + c4]);
            if (F16_ARITHMETIC) {
              // The four products are summed in f16, then added to the
              // sum in f32: summed in f16 over all of K (up to 4608
              // products) they moved ResNet-50's logits by 1.4e-2.
              acc[m] += vec4<f32>(fma(vec4<calc>(a.x), b0, fma(vec4<calc>(a.y), b1, fma(vec4<calc>(a.z), b2, vec4<calc>(a.w) * b3))));
            } else { // calc is f32: the conversions change nothing
              let x = vec4<f32>(a);
              acc[m] = fma(vec4<f32>(x.x), vec4<f32>(b0), fma(vec4<f32>(x.y), vec4<f32>(b1), fma(vec4<f32>(x.z), vec4<f32>(b2), fma(vec4<f32>(x.w), vec4<f32>(b3), acc[m]))));
            }
          }
        }
      }
    }
  }
  let b = bias[n4];
  for (var m = 0u; m < POSITIONS; m++) {
    output[m * conv.out_c4 + n4] = epilogue(acc[m] + b, m * conv.out_c4 + n4);
  }
}
