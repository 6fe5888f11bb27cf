hwspec.spec "gpu" attributes {symmetric} {
  hwspec.integer "conv2d" {inputs = [ui8, si8], accumulator = si32, output = si32}
}
