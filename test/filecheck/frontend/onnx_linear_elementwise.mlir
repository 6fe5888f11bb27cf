// ONNX Gemm / MatMul and the elementwise operators: each imported from a one-node model
// built by test/onnx_models.py (seeded weights, no network; lit writes them to %models_dir).

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

// RUN: hago-opt %models_dir/sqrt.onnx | filecheck %s --check-prefix=SQRT
// SQRT: func.func @main(%x: tensor<1x4x8x8xf32> {qsim.name = "x"}) -> (tensor<1x4x8x8xf32> {qsim.name = "out"}) {
// SQRT-NEXT: %square = qsim.mul %x, %x : tensor<1x4x8x8xf32>, tensor<1x4x8x8xf32> -> tensor<1x4x8x8xf32>
// SQRT-NEXT: %out = qsim.sqrt %square : tensor<1x4x8x8xf32>
// SQRT-NEXT: func.return %out : tensor<1x4x8x8xf32>

// RUN: hago-opt %models_dir/pow.onnx | filecheck %s --check-prefix=POW
// POW: func.func @main(%x: tensor<1x4x8x8xf32> {qsim.name = "x"}) -> (tensor<1x4x8x8xf32> {qsim.name = "out"}) {
// POW-NEXT: %out = qsim.pow %x {exponent = 2.000000e+00 : f64} : tensor<1x4x8x8xf32>
// POW-NEXT: func.return %out : tensor<1x4x8x8xf32>

// RUN: hago-opt %models_dir/erf.onnx | filecheck %s --check-prefix=ERF
// ERF: func.func @main(%x: tensor<1x4x8x8xf32> {qsim.name = "x"}) -> (tensor<1x4x8x8xf32> {qsim.name = "out"}) {
// ERF-NEXT: %out = qsim.erf %x : tensor<1x4x8x8xf32>
// ERF-NEXT: func.return %out : tensor<1x4x8x8xf32>
