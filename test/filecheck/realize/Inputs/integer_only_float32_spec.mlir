// An invalid spec: an integer-only accelerator cannot requantize in float32.
hwspec.spec "npu" attributes {integer_only, float32_requantize} {
  hwspec.integer "relu" {inputs = [si8], output = si8}
}
