// A realized conv2d with an int16 accumulator: legal on arm-a72-i16, not on x86-vnni.
builtin.module {
  func.func @main(%x: tensor<1x1x2x2xsi8>, %w: tensor<2x1x1x1xsi8>) -> tensor<1x2x2x2xsi16> {
    // expected-error@+1 {{conv2d (i8, i8) -> i16 wrap is not legal under spec 'x86-vnni'}}
    %c = qnn.conv2d %x, %w {strides = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, dilations = array<i64: 1, 1>, groups = 1 : i64, overflow = "wrap"} : (tensor<1x1x2x2xsi8>, tensor<2x1x1x1xsi8>) -> tensor<1x2x2x2xsi16>
    func.return %c : tensor<1x2x2x2xsi16>
  }
}
