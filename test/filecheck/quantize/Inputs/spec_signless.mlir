hwspec.spec "signless" {
  hwspec.integer "conv2d" {inputs = [i8, si8], output = si32}
}
