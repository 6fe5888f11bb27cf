// x86 with AVX-512 VNNI (Cascade Lake and later, AMD Zen 4): `vpdpbusd` multiplies
// unsigned 8-bit activations by signed 8-bit weights, sums groups of four products
// and accumulates into 32-bit lanes. Signed activations are shifted by +128 into
// u8 and the shift is compensated with a per-channel constant, so i8 x i8 is also
// fast. Elementwise ops, pools and concat run on the same int8 data; softmax,
// normalizations and GELU stay in float. Requantization multiplies in float32
// (cvtdq2ps, vmulps, vcvtps2dq: three instructions per 16 lanes, as in
// onnxruntime's MLAS) instead of the 64-bit fixed-point multiply and shift.
hwspec.spec "x86-vnni" attributes {float32_requantize} {
  hwspec.integer "conv2d" {inputs = [ui8, si8], accumulator = si32, output = si32, overflow = "wrap"}
  hwspec.integer "conv2d" {inputs = [si8, si8], accumulator = si32, output = si32, overflow = "wrap"}
  hwspec.integer "dense" {inputs = [ui8, si8], accumulator = si32, output = si32, overflow = "wrap"}
  hwspec.integer "dense" {inputs = [si8, si8], accumulator = si32, output = si32, overflow = "wrap"}
  hwspec.integer "add" {inputs = [si8], accumulator = si32, output = si8}
  hwspec.float "add"
  hwspec.integer "relu" {inputs = [si8], output = si8}
  hwspec.float "relu"
  hwspec.integer "clip" {inputs = [si8], output = si8}
  hwspec.float "clip"
  hwspec.integer "max_pool2d" {inputs = [si8], output = si8}
  hwspec.float "max_pool2d"
  hwspec.integer "avg_pool2d" {inputs = [si8], accumulator = si32, output = si8}
  hwspec.float "avg_pool2d"
  hwspec.integer "global_avg_pool2d" {inputs = [si8], accumulator = si32, output = si8}
  hwspec.float "global_avg_pool2d"
  hwspec.integer "concat" {inputs = [si8], output = si8}
  hwspec.float "concat"
  hwspec.float "softmax"
  hwspec.float "layer_norm"
  hwspec.float "gelu"
  hwspec.integer "reshape" {inputs = [si8], output = si8}
  hwspec.float "reshape"
  hwspec.integer "transpose" {inputs = [si8], output = si8}
  hwspec.float "transpose"
}
