hwspec.spec "npu" attributes {integer_only} {
  hwspec.float "softmax"
}
