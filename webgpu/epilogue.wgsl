// epilogue: the end of a conv, shared by conv2d.wgsl, convdirect.wgsl and
// splitsum.wgsl. The Go side (shaders.go) puts it before their file, after
// out4, the switches RESIDUAL and RELU, and (for convs) conv.wgsl; it reads
// the `residual` binding, which conv.wgsl or splitsum.wgsl declares.

// epilogue takes the sum of output vec4 i with the BatchNorm-folded bias
// added, adds the residual, applies ReLU, and returns it as stored.
fn epilogue(v: vec4<f32>, i: u32) -> out4 {
  var out = v;
  if (RESIDUAL) {
    out += out4_f32(residual[i]);
  }
  if (RELU) {
    out = max(out, vec4<f32>(0.0));
  }
  return to_out4(out);
}

