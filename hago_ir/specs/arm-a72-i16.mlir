// ARM Cortex-A72 (Raspberry Pi 4), NEON: `vmlal.s8` (smlal on .8h lanes) multiplies
// signed 8-bit values and accumulates into 16-bit lanes, wrapping on overflow;
// `vmlal.s16` does the same for 16-bit inputs into 32-bit lanes. The i8 x i8 -> i16
// path is twice as wide as the i16 one, and safe only when the effective bits of
// the inputs keep the sums inside int16: the HAGO paper's case for searching bits.
hwspec.spec "arm-a72-i16" {
  hwspec.integer "conv2d" {inputs = [si8, si8], accumulator = si16, output = si16, overflow = "wrap"}
  hwspec.integer "conv2d" {inputs = [si16, si16], accumulator = si32, output = si32, overflow = "wrap"}
  hwspec.integer "dense" {inputs = [si8, si8], accumulator = si16, output = si16, overflow = "wrap"}
  hwspec.integer "dense" {inputs = [si16, si16], accumulator = si32, output = si32, overflow = "wrap"}
  hwspec.integer "add" {inputs = [si8], accumulator = si16, output = si8}
  hwspec.float "add"
  hwspec.integer "relu" {inputs = [si8], output = si8}
  hwspec.float "relu"
  hwspec.integer "clip" {inputs = [si8], output = si8}
  hwspec.float "clip"
  hwspec.integer "max_pool2d" {inputs = [si8], output = si8}
  hwspec.float "max_pool2d"
  hwspec.integer "global_avg_pool2d" {inputs = [si8], accumulator = si32, output = si8}
  hwspec.float "global_avg_pool2d"
  hwspec.float "avg_pool2d"
  hwspec.float "concat"
  hwspec.float "softmax"
  hwspec.integer "reshape" {inputs = [si8], output = si8}
  hwspec.float "reshape"
  hwspec.integer "transpose" {inputs = [si8], output = si8}
  hwspec.float "transpose"
}
