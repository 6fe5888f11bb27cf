hwspec.spec "narrow" {
  hwspec.integer "conv2d" {inputs = [si16, si16], accumulator = si8, output = si8}
}
