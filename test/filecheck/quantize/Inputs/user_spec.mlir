// A DSP that only accelerates convolutions.
hwspec.spec "my-dsp" {
  hwspec.integer "conv2d" {inputs = [si8, si8], accumulator = si32, output = si32, overflow = "saturate"}
  hwspec.float "relu"
}
