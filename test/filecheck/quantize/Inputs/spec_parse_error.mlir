hwspec.spec "broken" {
  hwspec.integer "conv2d" {inputs = [si8, si8] output = si32}
}
