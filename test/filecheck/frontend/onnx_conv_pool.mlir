// ONNX convolutions (strides, dilations, groups, depthwise, SAME padding) and pooling: each imported from a one-node model
// built by test/onnx_models.py (seeded weights, no network; lit writes them to %models_dir).

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
