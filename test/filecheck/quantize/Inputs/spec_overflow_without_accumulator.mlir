hwspec.spec "no-acc" {
  hwspec.integer "conv2d" {inputs = [si8, si8], output = si32, overflow = "wrap"}
}
