// conv2d: a convolution over an NHWC tensor as an implicit GEMM,
//   output[m][n] = epilogue(sum over k of A[m][k] * weights[k][n])
// where m runs over output positions, n over output channels and
// k = (ky, kx, ci) over the receptive field. A is never materialised: each
// tile of it is gathered from the input into workgroup memory. The epilogue
// adds the BatchNorm-folded bias, then the residual, then applies ReLU
// (epilogue.wgsl).
//
// The Go side (shaders.go) prepends the storage types in4, weight4 and out4
// (four f32, four f16 packed in a vec2<u32>, or a vec4<f16>; read as
// vec4<f32> through in4_f32, weight4_f32 and out4_f32, written through
// to_out4; the same in every shader here), calc, the type the tiles and
// sums are computed in (f32, or f16 with shader-f16), with in4_calc and
// weight4_calc to read as it, the tile sizes TILE_M, TILE_N, TILE_K and
// THREAD_M, the switches POINTWISE, SPLIT, RESIDUAL, RELU and
// F16_ARITHMETIC (calc is f16), then
// conv.wgsl (the uniform conv and the bindings) and epilogue.wgsl. Channels
// are padded to multiples of 4, so every load and store moves a whole vec4
// and K counts whole vec4s (k4). The epilogue computes in f32.
//
// SPLIT (split-K, for layers with too few output tiles to fill a GPU):
// workgroup z sums only the z-th slice of K, k4_split long, and writes its
// raw sums to output[z][m][out_c4] (f32); splitsum.wgsl adds the slices and
// applies the epilogue.

const N4 = TILE_N / 4u;         // vec4 columns of a tile: one per thread along x
const K4 = TILE_K / 4u;         // vec4s of reduction per tile row
const ROWS = TILE_M / THREAD_M; // threads along y
const THREADS = N4 * ROWS;

var<workgroup> tile_a: array<vec4<calc>, TILE_M * K4>;  // [row][k4]: A, vec4 along k
var<workgroup> tile_b: array<vec4<calc>, TILE_K * N4>;  // [k][n4]: B, vec4 along n

// Staging A: each thread loads the same K4-column of A_ROWS rows every
// round, so it finds those rows' input windows once, before the K loop.
const A_ROW_STEP = THREADS / K4;        // rows between a thread's A loads
const A_ROWS = TILE_M / A_ROW_STEP;     // A loads per thread per round
const_assert THREADS % K4 == 0u;
const_assert TILE_M % A_ROW_STEP == 0u;
// gather_a returns A[m][4*k4 .. 4*k4+3] for the output position whose
// window starts at origin: four input channels of the tap k4 / in_c4, or
// zeros in the padding and past the edges of A.
fn gather_a(origin: vec2<i32>, m: u32, k4: u32) -> vec4<calc> {
  if (k4 >= conv.k4) {
    return vec4<calc>(0.0);
  }
  if (POINTWISE) { // 1x1, stride 1, no padding: A is the input itself
    if (m >= conv.m) {
      return vec4<calc>(0.0);
    }
    return in4_calc(input[m * conv.in_c4 + k4]);
  }
  let tap = k4 / conv.in_c4;
  let ky = tap / conv.kernel;
  let pixel = origin + vec2<i32>(i32(tap - ky * conv.kernel), i32(ky));
  if (any(pixel < vec2<i32>(0)) || any(pixel >= vec2<i32>(i32(conv.in_w), i32(conv.in_h)))) {
    return vec4<calc>(0.0);
  }
  return in4_calc(input[(u32(pixel.y) * conv.in_w + u32(pixel.x)) * conv.in_c4 + k4 - tap * conv.in_c4]);
}

// load_b returns weights[k][4*n4 .. 4*n4+3], or zeros past the edges of B.
fn load_b(k: u32, n4: u32) -> vec4<calc> {
  if (k >= conv.k4 * 4u || n4 >= conv.out_c4) {
    return vec4<calc>(0.0);
  }
  return weight4_calc(weights[k * conv.out_c4 + n4]);
}

// Each thread computes THREAD_M output positions x 4 output channels.
@compute @workgroup_size(N4, ROWS)
fn main(@builtin(workgroup_id) group: vec3<u32>,
        @builtin(local_invocation_id) local: vec3<u32>,
        @builtin(local_invocation_index) thread: u32) {
  let m0 = group.y * TILE_M;
  let n4 = group.x * N4 + local.x;
  let row0 = local.y * THREAD_M;
  var acc: array<vec4<calc>, THREAD_M>;
  // With f16 arithmetic acc holds one K tile's sums (TILE_K products),
  // which then go into f32 totals: one f16 sum over all of K (up to 4608
  // products) moved ResNet-50's logits by 1.4e-2 of the largest.
  var totals: array<vec4<f32>, THREAD_M>;

  let a_col = thread % K4;
  let a_row0 = thread / K4;
  var origins: array<vec2<i32>, A_ROWS>;
  for (var j = 0u; j < A_ROWS; j++) {
    origins[j] = window_origin(m0 + a_row0 + j * A_ROW_STEP);
  }

  let k_begin = group.z * conv.k4_split;
  let k_end = min(conv.k4, k_begin + conv.k4_split);
  for (var k0 = k_begin; k0 < k_end; k0 += K4) {
    for (var j = 0u; j < A_ROWS; j++) {
      let row = a_row0 + j * A_ROW_STEP;
      tile_a[row * K4 + a_col] = gather_a(origins[j], m0 + row, k0 + a_col);
    }
    for (var i = thread; i < TILE_K * N4; i += THREADS) {
      tile_b[i] = load_b(k0 * 4u + i / N4, group.x * N4 + i % N4);
    }
    workgroupBarrier();
    for (var kk = 0u; kk < K4; kk++) {
      let b0 = tile_b[(4u * kk) * N4 + local.x];
      let b1 = tile_b[(4u * kk + 1u) * N4 + local.x];
      let b2 = tile_b[(4u * kk + 2u) * N4 + local.x];
      let b3 = tile_b[(4u * kk + 3u) * N4 + local.x];
      for (var r = 0u; r < THREAD_M; r++) {
        let a = tile_a[(row0 + r) * K4 + kk];
        acc[r] = fma(vec4<calc>(a.x), b0, fma(vec4<calc>(a.y), b1, fma(vec4<calc>(a.z), b2, fma(vec4<calc>(a.w), b3, acc[r]))));
      }
    }
    workgroupBarrier();
    if (F16_ARITHMETIC) {
      for (var r = 0u; r < THREAD_M; r++) {
        totals[r] += vec4<f32>(acc[r]);
        acc[r] = vec4<calc>(0.0);
      }
    }
  }

  if (n4 >= conv.out_c4) {
    return;
  }
  if (SPLIT) {
    for (var r = 0u; r < THREAD_M; r++) {
      let m = m0 + row0 + r;
      if (m < conv.m) {
        output[(group.z * conv.m + m) * conv.out_c4 + n4] = to_out4(totals[r] + vec4<f32>(acc[r]));
      }
    }
    return;
  }
  let b = bias[n4];
  for (var r = 0u; r < THREAD_M; r++) {
    let m = m0 + row0 + r;
    if (m >= conv.m) {
      return;
    }
    output[m * conv.out_c4 + n4] = epilogue(totals[r] + vec4<f32>(acc[r]) + b, m * conv.out_c4 + n4);
  }
}
