// NVIDIA GPUs from Pascal on: `__dp4a` (PTX dp4a.s32.s32) computes a four-way dot
// product of signed 8-bit values into a 32-bit accumulator. TensorRT-style int8
// is symmetric: no zero points, signed data only.
hwspec.spec "cuda-dp4a" attributes {symmetric} {
  hwspec.integer "conv2d" {inputs = [si8, si8], accumulator = si32, output = si32, overflow = "wrap"}
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
