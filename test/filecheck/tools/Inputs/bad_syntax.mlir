func.func @f(%x: tensor<2xf32>) {
  %y = qsim.relu %x : 
}
