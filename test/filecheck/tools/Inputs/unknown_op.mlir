func.func @f(%x: tensor<2xf32>) {
  %y = qsim.frobnicate %x : tensor<2xf32>
  func.return
}
