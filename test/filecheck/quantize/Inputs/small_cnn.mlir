// A small residual CNN in the qsim dialect (hand-written, tiny weights) used by
// the topology and simulated-quantize tests.
func.func @main(%x: tensor<1x2x4x4xf32> {qsim.name = "input"}) -> (tensor<1x3xf32> {qsim.name = "logits"}) {
  %w1 = qsim.constant "conv1.weight" dense<0.5> : tensor<4x2x3x3xf32>
  %b1 = qsim.constant "conv1.bias" dense<0.1> : tensor<4xf32>
  %conv1 = qsim.conv2d %x, %w1, %b1 {strides = array<i64: 1, 1>, pads = array<i64: 1, 1, 1, 1>, dilations = array<i64: 1, 1>, groups = 1 : i64} : (tensor<1x2x4x4xf32>, tensor<4x2x3x3xf32>, tensor<4xf32>) -> tensor<1x4x4x4xf32>
  %relu1 = qsim.relu %conv1 : tensor<1x4x4x4xf32>
  %w2 = qsim.constant "conv2.weight" dense<-0.25> : tensor<4x4x3x3xf32>
  %conv2 = qsim.conv2d %relu1, %w2 {strides = array<i64: 1, 1>, pads = array<i64: 1, 1, 1, 1>, dilations = array<i64: 1, 1>, groups = 1 : i64} : (tensor<1x4x4x4xf32>, tensor<4x4x3x3xf32>) -> tensor<1x4x4x4xf32>
  %sum = qsim.add %conv2, %relu1 : tensor<1x4x4x4xf32>, tensor<1x4x4x4xf32> -> tensor<1x4x4x4xf32>
  %pool = qsim.global_avg_pool2d %sum : tensor<1x4x4x4xf32> -> tensor<1x4x1x1xf32>
  %flat = qsim.reshape %pool : tensor<1x4x1x1xf32> -> tensor<1x4xf32>
  %wfc = qsim.constant "fc.weight" dense<0.125> : tensor<3x4xf32>
  %fc = qsim.dense %flat, %wfc : (tensor<1x4xf32>, tensor<3x4xf32>) -> tensor<1x3xf32>
  func.return %fc : tensor<1x3xf32>
}
