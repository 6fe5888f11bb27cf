func.func @main(%x: tensor<1x2x4x4xf32>) -> tensor<1x4xf32> {
  %w = qsim.constant dense<0.5> : tensor<4x2x1x1xf32>
  %c = qsim.conv2d %x, %w {strides = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, dilations = array<i64: 1, 1>, groups = 1 : i64} : (tensor<1x2x4x4xf32>, tensor<4x2x1x1xf32>) -> tensor<1x4x4x4xf32>
  %g = qsim.global_avg_pool2d %c : tensor<1x4x4x4xf32> -> tensor<1x4x1x1xf32>
  %f = qsim.reshape %g : tensor<1x4x1x1xf32> -> tensor<1x4xf32>
  %p = qsim.softmax %f {axis = 1 : i64} : tensor<1x4xf32>
  func.return %p : tensor<1x4xf32>
}
