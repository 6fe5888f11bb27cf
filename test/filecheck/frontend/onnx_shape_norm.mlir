// ONNX data movement (concat, reshape, flatten, transpose, pad), softmax, reductions and normalizations: each imported from a one-node model
// built by test/onnx_models.py (seeded weights, no network; lit writes them to %models_dir).

// RUN: hago-opt %models_dir/concat.onnx | filecheck %s --check-prefix=CONCAT
// CONCAT: func.func @main(%x: tensor<1x4x8x8xf32> {qsim.name = "x"}, %y: tensor<1x2x8x8xf32> {qsim.name = "y"}) -> (tensor<1x6x8x8xf32> {qsim.name = "out"}) {
// CONCAT-NEXT: %out = qsim.concat %x, %y {axis = 1 : i64} : (tensor<1x4x8x8xf32>, tensor<1x2x8x8xf32>) -> tensor<1x6x8x8xf32>
// CONCAT-NEXT: func.return %out : tensor<1x6x8x8xf32>

// RUN: hago-opt %models_dir/reshape.onnx | filecheck %s --check-prefix=RESHAPE
// RESHAPE: func.func @main(%x: tensor<1x4x8x8xf32> {qsim.name = "x"}) -> (tensor<1x16x16xf32> {qsim.name = "out"}) {
// RESHAPE-NEXT: %out = qsim.reshape %x : tensor<1x4x8x8xf32> -> tensor<1x16x16xf32>
// RESHAPE-NEXT: func.return %out : tensor<1x16x16xf32>

// RUN: hago-opt %models_dir/flatten.onnx | filecheck %s --check-prefix=FLATTEN
// FLATTEN: func.func @main(%x: tensor<1x4x8x8xf32> {qsim.name = "x"}) -> (tensor<1x256xf32> {qsim.name = "out"}) {
// FLATTEN-NEXT: %out = qsim.reshape %x : tensor<1x4x8x8xf32> -> tensor<1x256xf32>
// FLATTEN-NEXT: func.return %out : tensor<1x256xf32>

// RUN: hago-opt %models_dir/transpose.onnx | filecheck %s --check-prefix=TRANSPOSE
// TRANSPOSE: func.func @main(%x: tensor<1x4x8x8xf32> {qsim.name = "x"}) -> (tensor<1x8x8x4xf32> {qsim.name = "out"}) {
// TRANSPOSE-NEXT: %out = qsim.transpose %x {perm = array<i64: 0, 2, 3, 1>} : tensor<1x4x8x8xf32> -> tensor<1x8x8x4xf32>
// TRANSPOSE-NEXT: func.return %out : tensor<1x8x8x4xf32>

// RUN: hago-opt %models_dir/pad.onnx | filecheck %s --check-prefix=PAD
// PAD: func.func @main(%x: tensor<1x4x8x8xf32> {qsim.name = "x"}) -> (tensor<1x4x10x12xf32> {qsim.name = "out"}) {
// PAD-NEXT: %out = qsim.pad %x {pads = array<i64: 0, 0, 1, 2, 0, 0, 1, 2>, value = 0.000000e+00 : f64} : tensor<1x4x8x8xf32> -> tensor<1x4x10x12xf32>
// PAD-NEXT: func.return %out : tensor<1x4x10x12xf32>

// RUN: hago-opt %models_dir/pad_opset11.onnx | filecheck %s --check-prefix=PAD-OPSET11
// PAD-OPSET11: func.func @main(%x: tensor<1x4x8x8xf32> {qsim.name = "x"}) -> (tensor<1x4x10x12xf32> {qsim.name = "out"}) {
// PAD-OPSET11-NEXT: %out = qsim.pad %x {pads = array<i64: 0, 0, 1, 2, 0, 0, 1, 2>, value = 0.000000e+00 : f64} : tensor<1x4x8x8xf32> -> tensor<1x4x10x12xf32>
// PAD-OPSET11-NEXT: func.return %out : tensor<1x4x10x12xf32>

// RUN: hago-opt %models_dir/softmax.onnx | filecheck %s --check-prefix=SOFTMAX
// SOFTMAX: func.func @main(%x: tensor<1x5x16xf32> {qsim.name = "x"}) -> (tensor<1x5x16xf32> {qsim.name = "out"}) {
// SOFTMAX-NEXT: %out = qsim.softmax %x {axis = 2 : i64} : tensor<1x5x16xf32>
// SOFTMAX-NEXT: func.return %out : tensor<1x5x16xf32>

// RUN: hago-opt %models_dir/reduce_mean.onnx | filecheck %s --check-prefix=REDUCE-MEAN
// REDUCE-MEAN: func.func @main(%x: tensor<1x5x16xf32> {qsim.name = "x"}) -> (tensor<1x5x1xf32> {qsim.name = "out"}) {
// REDUCE-MEAN-NEXT: %out = qsim.reduce_mean %x {axes = array<i64: 2>, keepdims = true} : tensor<1x5x16xf32> -> tensor<1x5x1xf32>
// REDUCE-MEAN-NEXT: func.return %out : tensor<1x5x1xf32>

// RUN: hago-opt %models_dir/batchnorm.onnx | filecheck %s --check-prefix=BATCHNORM
// BATCHNORM: func.func @main(%x: tensor<1x4x8x8xf32> {qsim.name = "x"}) -> (tensor<1x4x8x8xf32> {qsim.name = "out"}) {
// BATCHNORM: %bn.weight = qsim.constant "bn.weight" dense<{{.*}}> : tensor<4xf32>
// BATCHNORM: %bn.bias = qsim.constant "bn.bias" dense<{{.*}}> : tensor<4xf32>
// BATCHNORM: %bn.running_mean = qsim.constant "bn.running_mean" dense<{{.*}}> : tensor<4xf32>
// BATCHNORM: %bn.running_var = qsim.constant "bn.running_var" dense<{{.*}}> : tensor<4xf32>
// BATCHNORM-NEXT: %out = qsim.batch_norm %x, %bn.weight, %bn.bias, %bn.running_mean, %bn.running_var {epsilon = 9.9999997473787516e-06 : f64} : (tensor<1x4x8x8xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>) -> tensor<1x4x8x8xf32>
// BATCHNORM-NEXT: func.return %out : tensor<1x4x8x8xf32>

// RUN: hago-opt %models_dir/identity.onnx | filecheck %s --check-prefix=IDENTITY
// IDENTITY: func.func @main(%x: tensor<1x4x8x8xf32> {qsim.name = "x"}) -> (tensor<1x4x8x8xf32> {qsim.name = "out"}) {
// IDENTITY-NEXT: func.return %x : tensor<1x4x8x8xf32>

// RUN: hago-opt %models_dir/dropout.onnx | filecheck %s --check-prefix=DROPOUT
// DROPOUT: func.func @main(%x: tensor<1x4x8x8xf32> {qsim.name = "x"}) -> (tensor<1x4x8x8xf32> {qsim.name = "out"}) {
// DROPOUT-NEXT: func.return %x : tensor<1x4x8x8xf32>

// RUN: hago-opt %models_dir/layernorm.onnx | filecheck %s --check-prefix=LAYERNORM
// LAYERNORM: func.func @main(%x: tensor<1x5x16xf32> {qsim.name = "x"}) -> (tensor<1x5x16xf32> {qsim.name = "out"}) {
// LAYERNORM: %ln.weight = qsim.constant "ln.weight" dense<{{.*}}> : tensor<16xf32>
// LAYERNORM: %ln.bias = qsim.constant "ln.bias" dense<{{.*}}> : tensor<16xf32>
// LAYERNORM-NEXT: %out = qsim.layer_norm %x, %ln.weight, %ln.bias {axis = 2 : i64, epsilon = 9.9999997473787516e-06 : f64} : (tensor<1x5x16xf32>, tensor<16xf32>, tensor<16xf32>) -> tensor<1x5x16xf32>
// LAYERNORM-NEXT: func.return %out : tensor<1x5x16xf32>
