func.func @main(%x: tensor<1x10xf32>) -> tensor<1x10xf32> {
  %p = qsim.softmax %x {axis = 1 : i64} : tensor<1x10xf32>
  func.return %p : tensor<1x10xf32>
}
