// x86 with AVX2 only: `vpmaddubsw` multiplies u8 x i8 pairs and sums each pair into
// a *saturating* signed 16-bit lane, then `vpmaddwd` widens to 32 bits. Two full
// 8-bit products (2 * 255 * 127 = 64770) overflow i16: that saturation is why other
// tools shrink weights to 7 bits. Here the accumulator is modelled as si16 with
// saturation and the search decides how many effective bits each edge keeps.
// Signed activations are shifted by +128 into u8 (and compensated), the same path.
// Requantization multiplies in float32, as on x86-vnni.
hwspec.spec "x86-avx2" attributes {float32_requantize} {
  hwspec.integer "conv2d" {inputs = [ui8, si8], accumulator = si16, output = si32, overflow = "saturate"}
  hwspec.integer "conv2d" {inputs = [si8, si8], accumulator = si16, output = si32, overflow = "saturate"}
  hwspec.integer "dense" {inputs = [ui8, si8], accumulator = si16, output = si32, overflow = "saturate"}
  hwspec.integer "dense" {inputs = [si8, si8], accumulator = si16, output = si32, overflow = "saturate"}
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
