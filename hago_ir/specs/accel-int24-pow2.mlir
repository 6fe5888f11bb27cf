// An integer-only accelerator (a fixed-function NPU): 8-bit multipliers feeding
// 24-bit saturating accumulators, requantization by shifts only (power-of-two
// scales), and no float unit at all: every op of the model must have a rule.
hwspec.spec "accel-int24-pow2" attributes {pow2_scales, symmetric, integer_only} {
  hwspec.integer "conv2d" {inputs = [si8, si8], accumulator = si24, output = si24, overflow = "saturate"}
  hwspec.integer "dense" {inputs = [si8, si8], accumulator = si24, output = si24, overflow = "saturate"}
  hwspec.integer "add" {inputs = [si8], accumulator = si24, output = si8}
  hwspec.integer "relu" {inputs = [si8], output = si8}
  hwspec.integer "clip" {inputs = [si8], output = si8}
  hwspec.integer "max_pool2d" {inputs = [si8], output = si8}
  hwspec.integer "avg_pool2d" {inputs = [si8], accumulator = si24, output = si8}
  hwspec.integer "global_avg_pool2d" {inputs = [si8], accumulator = si24, output = si8}
  hwspec.integer "concat" {inputs = [si8], output = si8}
  hwspec.integer "reshape" {inputs = [si8], output = si8}
}
