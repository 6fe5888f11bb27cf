// Each ONNX operator the frontend supports, imported from a one-node model
// built by test/onnx_models.py (seeded weights, no network).

// RUN: hago-opt %models_dir/conv.onnx | filecheck %s --check-prefix=CONV
// CONV: func.func @main(%x: tensor<1x4x8x8xf32> {qsim.name = "x"}) -> (tensor<1x8x8x8xf32> {qsim.name = "out"}) {
// CONV: %conv.weight = qsim.constant "conv.weight" dense<{{.*}}> : tensor<8x4x3x3xf32>
// CONV: %conv.bias = qsim.constant "conv.bias" dense<{{.*}}> : tensor<8xf32>
// CONV-NEXT: %out = qsim.conv2d %x, %conv.weight, %conv.bias {strides = array<i64: 1, 1>, pads = array<i64: 1, 1, 1, 1>, dilations = array<i64: 1, 1>, groups = 1 : i64} : (tensor<1x4x8x8xf32>, tensor<8x4x3x3xf32>, tensor<8xf32>) -> tensor<1x8x8x8xf32>
// CONV-NEXT: func.return %out : tensor<1x8x8x8xf32>

// RUN: hago-opt %models_dir/conv_nobias.onnx | filecheck %s --check-prefix=CONV-NOBIAS
// CONV-NOBIAS: func.func @main(%x: tensor<1x4x8x8xf32> {qsim.name = "x"}) -> (tensor<1x8x8x8xf32> {qsim.name = "out"}) {
// CONV-NOBIAS: %conv.weight = qsim.constant "conv.weight" dense<{{.*}}> : tensor<8x4x3x3xf32>
// CONV-NOBIAS-NEXT: %out = qsim.conv2d %x, %conv.weight {strides = array<i64: 1, 1>, pads = array<i64: 1, 1, 1, 1>, dilations = array<i64: 1, 1>, groups = 1 : i64} : (tensor<1x4x8x8xf32>, tensor<8x4x3x3xf32>) -> tensor<1x8x8x8xf32>
// CONV-NOBIAS-NEXT: func.return %out : tensor<1x8x8x8xf32>

// RUN: hago-opt %models_dir/conv_stride2.onnx | filecheck %s --check-prefix=CONV-STRIDE2
// CONV-STRIDE2: func.func @main(%x: tensor<1x4x8x8xf32> {qsim.name = "x"}) -> (tensor<1x8x4x4xf32> {qsim.name = "out"}) {
// CONV-STRIDE2: %conv.weight = qsim.constant "conv.weight" dense<{{.*}}> : tensor<8x4x3x3xf32>
// CONV-STRIDE2: %conv.bias = qsim.constant "conv.bias" dense<{{.*}}> : tensor<8xf32>
// CONV-STRIDE2-NEXT: %out = qsim.conv2d %x, %conv.weight, %conv.bias {strides = array<i64: 2, 2>, pads = array<i64: 1, 1, 1, 1>, dilations = array<i64: 1, 1>, groups = 1 : i64} : (tensor<1x4x8x8xf32>, tensor<8x4x3x3xf32>, tensor<8xf32>) -> tensor<1x8x4x4xf32>
// CONV-STRIDE2-NEXT: func.return %out : tensor<1x8x4x4xf32>

// RUN: hago-opt %models_dir/conv_dilation2.onnx | filecheck %s --check-prefix=CONV-DILATION2
// CONV-DILATION2: func.func @main(%x: tensor<1x4x8x8xf32> {qsim.name = "x"}) -> (tensor<1x8x8x8xf32> {qsim.name = "out"}) {
// CONV-DILATION2: %conv.weight = qsim.constant "conv.weight" dense<{{.*}}> : tensor<8x4x3x3xf32>
// CONV-DILATION2: %conv.bias = qsim.constant "conv.bias" dense<{{.*}}> : tensor<8xf32>
// CONV-DILATION2-NEXT: %out = qsim.conv2d %x, %conv.weight, %conv.bias {strides = array<i64: 1, 1>, pads = array<i64: 2, 2, 2, 2>, dilations = array<i64: 2, 2>, groups = 1 : i64} : (tensor<1x4x8x8xf32>, tensor<8x4x3x3xf32>, tensor<8xf32>) -> tensor<1x8x8x8xf32>
// CONV-DILATION2-NEXT: func.return %out : tensor<1x8x8x8xf32>

// RUN: hago-opt %models_dir/conv_group2.onnx | filecheck %s --check-prefix=CONV-GROUP2
// CONV-GROUP2: func.func @main(%x: tensor<1x4x8x8xf32> {qsim.name = "x"}) -> (tensor<1x8x8x8xf32> {qsim.name = "out"}) {
// CONV-GROUP2: %conv.weight = qsim.constant "conv.weight" dense<{{.*}}> : tensor<8x2x3x3xf32>
// CONV-GROUP2: %conv.bias = qsim.constant "conv.bias" dense<{{.*}}> : tensor<8xf32>
// CONV-GROUP2-NEXT: %out = qsim.conv2d %x, %conv.weight, %conv.bias {strides = array<i64: 1, 1>, pads = array<i64: 1, 1, 1, 1>, dilations = array<i64: 1, 1>, groups = 2 : i64} : (tensor<1x4x8x8xf32>, tensor<8x2x3x3xf32>, tensor<8xf32>) -> tensor<1x8x8x8xf32>
// CONV-GROUP2-NEXT: func.return %out : tensor<1x8x8x8xf32>

// RUN: hago-opt %models_dir/conv_depthwise.onnx | filecheck %s --check-prefix=CONV-DEPTHWISE
// CONV-DEPTHWISE: func.func @main(%x: tensor<1x4x8x8xf32> {qsim.name = "x"}) -> (tensor<1x4x8x8xf32> {qsim.name = "out"}) {
// CONV-DEPTHWISE: %conv.weight = qsim.constant "conv.weight" dense<{{.*}}> : tensor<4x1x3x3xf32>
// CONV-DEPTHWISE: %conv.bias = qsim.constant "conv.bias" dense<{{.*}}> : tensor<4xf32>
// CONV-DEPTHWISE-NEXT: %out = qsim.conv2d %x, %conv.weight, %conv.bias {strides = array<i64: 1, 1>, pads = array<i64: 1, 1, 1, 1>, dilations = array<i64: 1, 1>, groups = 4 : i64} : (tensor<1x4x8x8xf32>, tensor<4x1x3x3xf32>, tensor<4xf32>) -> tensor<1x4x8x8xf32>
// CONV-DEPTHWISE-NEXT: func.return %out : tensor<1x4x8x8xf32>

// RUN: hago-opt %models_dir/conv_same_upper.onnx | filecheck %s --check-prefix=CONV-SAME-UPPER
// CONV-SAME-UPPER: func.func @main(%x: tensor<1x4x8x8xf32> {qsim.name = "x"}) -> (tensor<1x8x8x8xf32> {qsim.name = "out"}) {
// CONV-SAME-UPPER: %conv_same.weight = qsim.constant "conv_same.weight" dense<{{.*}}> : tensor<8x4x3x3xf32>
// CONV-SAME-UPPER-NEXT: %out = qsim.conv2d %x, %conv_same.weight {strides = array<i64: 1, 1>, pads = array<i64: 1, 1, 1, 1>, dilations = array<i64: 1, 1>, groups = 1 : i64} : (tensor<1x4x8x8xf32>, tensor<8x4x3x3xf32>) -> tensor<1x8x8x8xf32>
// CONV-SAME-UPPER-NEXT: func.return %out : tensor<1x8x8x8xf32>

// RUN: hago-opt %models_dir/conv_bn.onnx | filecheck %s --check-prefix=CONV-BN
// CONV-BN: func.func @main(%x: tensor<1x4x8x8xf32> {qsim.name = "x"}) -> (tensor<1x8x8x8xf32> {qsim.name = "out"}) {
// CONV-BN: %conv.weight = qsim.constant "conv.weight" dense<{{.*}}> : tensor<8x4x3x3xf32>
// CONV-BN-NEXT: %conv = qsim.conv2d %x, %conv.weight {strides = array<i64: 1, 1>, pads = array<i64: 1, 1, 1, 1>, dilations = array<i64: 1, 1>, groups = 1 : i64} : (tensor<1x4x8x8xf32>, tensor<8x4x3x3xf32>) -> tensor<1x8x8x8xf32>
// CONV-BN: %bn.weight = qsim.constant "bn.weight" dense<{{.*}}> : tensor<8xf32>
// CONV-BN: %bn.bias = qsim.constant "bn.bias" dense<{{.*}}> : tensor<8xf32>
// CONV-BN: %bn.running_mean = qsim.constant "bn.running_mean" dense<{{.*}}> : tensor<8xf32>
// CONV-BN: %bn.running_var = qsim.constant "bn.running_var" dense<{{.*}}> : tensor<8xf32>
// CONV-BN-NEXT: %out = qsim.batch_norm %conv, %bn.weight, %bn.bias, %bn.running_mean, %bn.running_var {epsilon = 9.9999997473787516e-06 : f64} : (tensor<1x8x8x8xf32>, tensor<8xf32>, tensor<8xf32>, tensor<8xf32>, tensor<8xf32>) -> tensor<1x8x8x8xf32>
// CONV-BN-NEXT: func.return %out : tensor<1x8x8x8xf32>

// RUN: hago-opt %models_dir/gemm.onnx | filecheck %s --check-prefix=GEMM
// GEMM: func.func @main(%x: tensor<2x8xf32> {qsim.name = "x"}) -> (tensor<2x16xf32> {qsim.name = "out"}) {
// GEMM: %gemm.bias = qsim.constant "gemm.bias" dense<{{.*}}> : tensor<16xf32>
// GEMM: %gemm.weight = qsim.constant "gemm.weight" dense<{{.*}}> : tensor<16x8xf32>
// GEMM-NEXT: %out = qsim.dense %x, %gemm.weight, %gemm.bias : (tensor<2x8xf32>, tensor<16x8xf32>, tensor<16xf32>) -> tensor<2x16xf32>
// GEMM-NEXT: func.return %out : tensor<2x16xf32>

// RUN: hago-opt %models_dir/gemm_transb0.onnx | filecheck %s --check-prefix=GEMM-TRANSB0
// GEMM-TRANSB0: func.func @main(%x: tensor<2x8xf32> {qsim.name = "x"}) -> (tensor<2x16xf32> {qsim.name = "out"}) {
// GEMM-TRANSB0: %gemm.bias = qsim.constant "gemm.bias" dense<{{.*}}> : tensor<16xf32>
// GEMM-TRANSB0: %gemm.weight = qsim.constant "gemm.weight" dense<{{.*}}> : tensor<16x8xf32>
// GEMM-TRANSB0-NEXT: %out = qsim.dense %x, %gemm.weight, %gemm.bias : (tensor<2x8xf32>, tensor<16x8xf32>, tensor<16xf32>) -> tensor<2x16xf32>
// GEMM-TRANSB0-NEXT: func.return %out : tensor<2x16xf32>

// RUN: hago-opt %models_dir/matmul_2d.onnx | filecheck %s --check-prefix=MATMUL-2D
// MATMUL-2D: func.func @main(%x: tensor<2x8xf32> {qsim.name = "x"}) -> (tensor<2x16xf32> {qsim.name = "out"}) {
// MATMUL-2D: %weight.T = qsim.constant "weight.T" dense<{{.*}}> : tensor<16x8xf32>
// MATMUL-2D-NEXT: %out = qsim.dense %x, %weight.T : (tensor<2x8xf32>, tensor<16x8xf32>) -> tensor<2x16xf32>
// MATMUL-2D-NEXT: func.return %out : tensor<2x16xf32>

// RUN: hago-opt %models_dir/matmul_3d.onnx | filecheck %s --check-prefix=MATMUL-3D
// MATMUL-3D: func.func @main(%x: tensor<1x5x16xf32> {qsim.name = "x"}) -> (tensor<1x5x8xf32> {qsim.name = "out"}) {
// MATMUL-3D: %weight.T = qsim.constant "weight.T" dense<{{.*}}> : tensor<8x16xf32>
// MATMUL-3D-NEXT: %out = qsim.dense %x, %weight.T : (tensor<1x5x16xf32>, tensor<8x16xf32>) -> tensor<1x5x8xf32>
// MATMUL-3D-NEXT: func.return %out : tensor<1x5x8xf32>

// RUN: hago-opt %models_dir/matmul_two_inputs.onnx | filecheck %s --check-prefix=MATMUL-TWO-INPUTS
// MATMUL-TWO-INPUTS: func.func @main(%x: tensor<1x4x5x8xf32> {qsim.name = "x"}, %y: tensor<1x4x8x5xf32> {qsim.name = "y"}) -> (tensor<1x4x5x5xf32> {qsim.name = "out"}) {
// MATMUL-TWO-INPUTS-NEXT: %out = qsim.matmul %x, %y : tensor<1x4x5x8xf32>, tensor<1x4x8x5xf32> -> tensor<1x4x5x5xf32>
// MATMUL-TWO-INPUTS-NEXT: func.return %out : tensor<1x4x5x5xf32>

// RUN: hago-opt %models_dir/add.onnx | filecheck %s --check-prefix=ADD
// ADD: func.func @main(%x: tensor<1x4x8x8xf32> {qsim.name = "x"}, %y: tensor<1x4x8x8xf32> {qsim.name = "y"}) -> (tensor<1x4x8x8xf32> {qsim.name = "out"}) {
// ADD-NEXT: %out = qsim.add %x, %y : tensor<1x4x8x8xf32>, tensor<1x4x8x8xf32> -> tensor<1x4x8x8xf32>
// ADD-NEXT: func.return %out : tensor<1x4x8x8xf32>

// RUN: hago-opt %models_dir/add_const.onnx | filecheck %s --check-prefix=ADD-CONST
// ADD-CONST: func.func @main(%x: tensor<1x4x8x8xf32> {qsim.name = "x"}) -> (tensor<1x4x8x8xf32> {qsim.name = "out"}) {
// ADD-CONST: %c = qsim.constant "c" dense<{{.*}}> : tensor<1x4x1x1xf32>
// ADD-CONST-NEXT: %out = qsim.add %x, %c : tensor<1x4x8x8xf32>, tensor<1x4x1x1xf32> -> tensor<1x4x8x8xf32>
// ADD-CONST-NEXT: func.return %out : tensor<1x4x8x8xf32>

// RUN: hago-opt %models_dir/sub.onnx | filecheck %s --check-prefix=SUB
// SUB: func.func @main(%x: tensor<1x4x8x8xf32> {qsim.name = "x"}, %y: tensor<1x4x8x8xf32> {qsim.name = "y"}) -> (tensor<1x4x8x8xf32> {qsim.name = "out"}) {
// SUB-NEXT: %out = qsim.sub %x, %y : tensor<1x4x8x8xf32>, tensor<1x4x8x8xf32> -> tensor<1x4x8x8xf32>
// SUB-NEXT: func.return %out : tensor<1x4x8x8xf32>

// RUN: hago-opt %models_dir/sub_const.onnx | filecheck %s --check-prefix=SUB-CONST
// SUB-CONST: func.func @main(%x: tensor<1x4x8x8xf32> {qsim.name = "x"}) -> (tensor<1x4x8x8xf32> {qsim.name = "out"}) {
// SUB-CONST: %c = qsim.constant "c" dense<{{.*}}> : tensor<1xf32>
// SUB-CONST-NEXT: %out = qsim.sub %x, %c : tensor<1x4x8x8xf32>, tensor<1xf32> -> tensor<1x4x8x8xf32>
// SUB-CONST-NEXT: func.return %out : tensor<1x4x8x8xf32>

// RUN: hago-opt %models_dir/mul.onnx | filecheck %s --check-prefix=MUL
// MUL: func.func @main(%x: tensor<1x4x8x8xf32> {qsim.name = "x"}, %y: tensor<1x4x8x8xf32> {qsim.name = "y"}) -> (tensor<1x4x8x8xf32> {qsim.name = "out"}) {
// MUL-NEXT: %out = qsim.mul %x, %y : tensor<1x4x8x8xf32>, tensor<1x4x8x8xf32> -> tensor<1x4x8x8xf32>
// MUL-NEXT: func.return %out : tensor<1x4x8x8xf32>

// RUN: hago-opt %models_dir/mul_const.onnx | filecheck %s --check-prefix=MUL-CONST
// MUL-CONST: func.func @main(%x: tensor<1x4x8x8xf32> {qsim.name = "x"}) -> (tensor<1x4x8x8xf32> {qsim.name = "out"}) {
// MUL-CONST: %c = qsim.constant "c" dense<{{.*}}> : tensor<8xf32>
// MUL-CONST-NEXT: %out = qsim.mul %x, %c : tensor<1x4x8x8xf32>, tensor<8xf32> -> tensor<1x4x8x8xf32>
// MUL-CONST-NEXT: func.return %out : tensor<1x4x8x8xf32>

// RUN: hago-opt %models_dir/div_const.onnx | filecheck %s --check-prefix=DIV-CONST
// DIV-CONST: func.func @main(%x: tensor<1x4x8x8xf32> {qsim.name = "x"}) -> (tensor<1x4x8x8xf32> {qsim.name = "out"}) {
// DIV-CONST: %c = qsim.constant "c" dense<{{.*}}> : tensor<1x4x1x1xf32>
// DIV-CONST-NEXT: %out = qsim.div %x, %c : tensor<1x4x8x8xf32>, tensor<1x4x1x1xf32> -> tensor<1x4x8x8xf32>
// DIV-CONST-NEXT: func.return %out : tensor<1x4x8x8xf32>

// RUN: hago-opt %models_dir/relu.onnx | filecheck %s --check-prefix=RELU
// RELU: func.func @main(%x: tensor<1x4x8x8xf32> {qsim.name = "x"}) -> (tensor<1x4x8x8xf32> {qsim.name = "out"}) {
// RELU-NEXT: %out = qsim.relu %x : tensor<1x4x8x8xf32>
// RELU-NEXT: func.return %out : tensor<1x4x8x8xf32>

// RUN: hago-opt %models_dir/sigmoid.onnx | filecheck %s --check-prefix=SIGMOID
// SIGMOID: func.func @main(%x: tensor<1x4x8x8xf32> {qsim.name = "x"}) -> (tensor<1x4x8x8xf32> {qsim.name = "out"}) {
// SIGMOID-NEXT: %out = qsim.sigmoid %x : tensor<1x4x8x8xf32>
// SIGMOID-NEXT: func.return %out : tensor<1x4x8x8xf32>

// RUN: hago-opt %models_dir/tanh.onnx | filecheck %s --check-prefix=TANH
// TANH: func.func @main(%x: tensor<1x4x8x8xf32> {qsim.name = "x"}) -> (tensor<1x4x8x8xf32> {qsim.name = "out"}) {
// TANH-NEXT: %out = qsim.tanh %x : tensor<1x4x8x8xf32>
// TANH-NEXT: func.return %out : tensor<1x4x8x8xf32>

// RUN: hago-opt %models_dir/clip.onnx | filecheck %s --check-prefix=CLIP
// CLIP: func.func @main(%x: tensor<1x4x8x8xf32> {qsim.name = "x"}) -> (tensor<1x4x8x8xf32> {qsim.name = "out"}) {
// CLIP-NEXT: %out = qsim.clip %x {min = 0.000000e+00 : f64, max = 6.000000e+00 : f64} : tensor<1x4x8x8xf32>
// CLIP-NEXT: func.return %out : tensor<1x4x8x8xf32>

// RUN: hago-opt %models_dir/clip_opset11.onnx | filecheck %s --check-prefix=CLIP-OPSET11
// CLIP-OPSET11: func.func @main(%x: tensor<1x4x8x8xf32> {qsim.name = "x"}) -> (tensor<1x4x8x8xf32> {qsim.name = "out"}) {
// CLIP-OPSET11-NEXT: %out = qsim.clip %x {min = 0.000000e+00 : f64, max = 6.000000e+00 : f64} : tensor<1x4x8x8xf32>
// CLIP-OPSET11-NEXT: func.return %out : tensor<1x4x8x8xf32>

// RUN: hago-opt %models_dir/maxpool.onnx | filecheck %s --check-prefix=MAXPOOL
// MAXPOOL: func.func @main(%x: tensor<1x4x8x8xf32> {qsim.name = "x"}) -> (tensor<1x4x4x4xf32> {qsim.name = "out"}) {
// MAXPOOL-NEXT: %out = qsim.max_pool2d %x {kernel = array<i64: 3, 3>, strides = array<i64: 2, 2>, pads = array<i64: 1, 1, 1, 1>, ceil_mode = false, dilations = array<i64: 1, 1>} : tensor<1x4x8x8xf32> -> tensor<1x4x4x4xf32>
// MAXPOOL-NEXT: func.return %out : tensor<1x4x4x4xf32>

// RUN: hago-opt %models_dir/avgpool.onnx | filecheck %s --check-prefix=AVGPOOL
// AVGPOOL: func.func @main(%x: tensor<1x4x8x8xf32> {qsim.name = "x"}) -> (tensor<1x4x4x4xf32> {qsim.name = "out"}) {
// AVGPOOL-NEXT: %out = qsim.avg_pool2d %x {kernel = array<i64: 2, 2>, strides = array<i64: 2, 2>, pads = array<i64: 0, 0, 0, 0>, ceil_mode = false, count_include_pad = false} : tensor<1x4x8x8xf32> -> tensor<1x4x4x4xf32>
// AVGPOOL-NEXT: func.return %out : tensor<1x4x4x4xf32>

// RUN: hago-opt %models_dir/avgpool_pads.onnx | filecheck %s --check-prefix=AVGPOOL-PADS
// AVGPOOL-PADS: func.func @main(%x: tensor<1x4x8x8xf32> {qsim.name = "x"}) -> (tensor<1x4x4x4xf32> {qsim.name = "out"}) {
// AVGPOOL-PADS-NEXT: %out = qsim.avg_pool2d %x {kernel = array<i64: 3, 3>, strides = array<i64: 2, 2>, pads = array<i64: 1, 1, 1, 1>, ceil_mode = false, count_include_pad = false} : tensor<1x4x8x8xf32> -> tensor<1x4x4x4xf32>
// AVGPOOL-PADS-NEXT: func.return %out : tensor<1x4x4x4xf32>

// RUN: hago-opt %models_dir/global_avgpool.onnx | filecheck %s --check-prefix=GLOBAL-AVGPOOL
// GLOBAL-AVGPOOL: func.func @main(%x: tensor<1x4x8x8xf32> {qsim.name = "x"}) -> (tensor<1x4x1x1xf32> {qsim.name = "out"}) {
// GLOBAL-AVGPOOL-NEXT: %out = qsim.global_avg_pool2d %x : tensor<1x4x8x8xf32> -> tensor<1x4x1x1xf32>
// GLOBAL-AVGPOOL-NEXT: func.return %out : tensor<1x4x1x1xf32>

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

// RUN: hago-opt %models_dir/sqrt.onnx | filecheck %s --check-prefix=SQRT
// SQRT: func.func @main(%x: tensor<1x4x8x8xf32> {qsim.name = "x"}) -> (tensor<1x4x8x8xf32> {qsim.name = "out"}) {
// SQRT-NEXT: %square = qsim.mul %x, %x : tensor<1x4x8x8xf32>, tensor<1x4x8x8xf32> -> tensor<1x4x8x8xf32>
// SQRT-NEXT: %out = qsim.sqrt %square : tensor<1x4x8x8xf32>
// SQRT-NEXT: func.return %out : tensor<1x4x8x8xf32>

// RUN: hago-opt %models_dir/pow.onnx | filecheck %s --check-prefix=POW
// POW: func.func @main(%x: tensor<1x4x8x8xf32> {qsim.name = "x"}) -> (tensor<1x4x8x8xf32> {qsim.name = "out"}) {
// POW-NEXT: %out = qsim.pow %x {exponent = 2.000000e+00 : f64} : tensor<1x4x8x8xf32>
// POW-NEXT: func.return %out : tensor<1x4x8x8xf32>

// RUN: hago-opt %models_dir/reduce_mean.onnx | filecheck %s --check-prefix=REDUCE-MEAN
// REDUCE-MEAN: func.func @main(%x: tensor<1x5x16xf32> {qsim.name = "x"}) -> (tensor<1x5x1xf32> {qsim.name = "out"}) {
// REDUCE-MEAN-NEXT: %out = qsim.reduce_mean %x {axes = array<i64: 2>, keepdims = true} : tensor<1x5x16xf32> -> tensor<1x5x1xf32>
// REDUCE-MEAN-NEXT: func.return %out : tensor<1x5x1xf32>

// RUN: hago-opt %models_dir/erf.onnx | filecheck %s --check-prefix=ERF
// ERF: func.func @main(%x: tensor<1x4x8x8xf32> {qsim.name = "x"}) -> (tensor<1x4x8x8xf32> {qsim.name = "out"}) {
// ERF-NEXT: %out = qsim.erf %x : tensor<1x4x8x8xf32>
// ERF-NEXT: func.return %out : tensor<1x4x8x8xf32>

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