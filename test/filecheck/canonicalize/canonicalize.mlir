// RUN: hago-opt %s -p hago-canonicalize --split-input-file | filecheck %s

// Batch norm after conv folds into the conv's weight and bias:
// multiplier = scale / sqrt(var + eps) = [4, 4] / sqrt([3, 15] + 1) = [2, 1],
// weight' = weight * multiplier = [2, 2], bias' = (0 - mean) * multiplier + bias = [0.5, 0.5].
// CHECK-LABEL: func.func @conv_bn
// CHECK-NEXT:    %conv.weight = qsim.constant "conv.weight" dense<2.000000e+00> : tensor<2x1x1x1xf32>
// CHECK-NEXT:    %conv.bias = qsim.constant "conv.bias" dense<5.000000e-01> : tensor<2xf32>
// CHECK-NEXT:    %conv = qsim.conv2d %x, %conv.weight, %conv.bias {{.*}}groups = 1 : i64} : (tensor<1x1x4x4xf32>, tensor<2x1x1x1xf32>, tensor<2xf32>) -> tensor<1x2x4x4xf32>
// CHECK-NEXT:    func.return %conv
func.func @conv_bn(%x: tensor<1x1x4x4xf32>) -> tensor<1x2x4x4xf32> {
  %w = qsim.constant "conv.weight" dense<[[[[1.0]]], [[[2.0]]]]> : tensor<2x1x1x1xf32>
  %conv = qsim.conv2d %x, %w {strides = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, dilations = array<i64: 1, 1>, groups = 1 : i64} : (tensor<1x1x4x4xf32>, tensor<2x1x1x1xf32>) -> tensor<1x2x4x4xf32>
  %scale = qsim.constant "bn.weight" dense<4.0> : tensor<2xf32>
  %bias = qsim.constant "bn.bias" dense<1.0> : tensor<2xf32>
  %mean = qsim.constant "bn.running_mean" dense<[0.25, 0.5]> : tensor<2xf32>
  %var = qsim.constant "bn.running_var" dense<[3.0, 15.0]> : tensor<2xf32>
  %bn = qsim.batch_norm %conv, %scale, %bias, %mean, %var {epsilon = 1.0 : f64} : (tensor<1x2x4x4xf32>, tensor<2xf32>, tensor<2xf32>, tensor<2xf32>, tensor<2xf32>) -> tensor<1x2x4x4xf32>
  func.return %bn : tensor<1x2x4x4xf32>
}

// -----

// A conv whose result has other users keeps its own output: the batch norm
// becomes a per-channel multiply-add instead.
// CHECK-LABEL: func.func @shared_conv
// CHECK:         %conv = qsim.conv2d
// CHECK:         qsim.constant "bn.multiplier" dense<[{{\[\[}}2.000000e+00]], {{\[\[}}1.000000e+00]]]> : tensor<2x1x1xf32>
// CHECK:         qsim.constant "bn.shift" dense<5.000000e-01> : tensor<2x1x1xf32>
// CHECK:         qsim.mul %conv
// CHECK:         %bn = qsim.add
// CHECK-NOT:     qsim.batch_norm
func.func @shared_conv(%x: tensor<1x1x4x4xf32>) -> (tensor<1x2x4x4xf32>, tensor<1x2x4x4xf32>) {
  %w = qsim.constant "conv.weight" dense<[[[[1.0]]], [[[2.0]]]]> : tensor<2x1x1x1xf32>
  %conv = qsim.conv2d %x, %w {strides = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, dilations = array<i64: 1, 1>, groups = 1 : i64} : (tensor<1x1x4x4xf32>, tensor<2x1x1x1xf32>) -> tensor<1x2x4x4xf32>
  %scale = qsim.constant "bn.weight" dense<4.0> : tensor<2xf32>
  %bias = qsim.constant "bn.bias" dense<1.0> : tensor<2xf32>
  %mean = qsim.constant "bn.running_mean" dense<[0.25, 0.5]> : tensor<2xf32>
  %var = qsim.constant "bn.running_var" dense<[3.0, 15.0]> : tensor<2xf32>
  %bn = qsim.batch_norm %conv, %scale, %bias, %mean, %var {epsilon = 1.0 : f64} : (tensor<1x2x4x4xf32>, tensor<2xf32>, tensor<2xf32>, tensor<2xf32>, tensor<2xf32>) -> tensor<1x2x4x4xf32>
  func.return %bn, %conv : tensor<1x2x4x4xf32>, tensor<1x2x4x4xf32>
}

// -----

// Ops on constants only are evaluated; dead constants disappear.
// CHECK-LABEL: func.func @fold_constants
// CHECK-NEXT:    %{{.*}} = qsim.constant dense<[1.000000e+00, 3.000000e+00]> : tensor<2xf32>
// CHECK-NEXT:    %sum = qsim.add %x, %{{.*}}
// CHECK-NEXT:    func.return %sum
func.func @fold_constants(%x: tensor<2xf32>) -> tensor<2xf32> {
  %a = qsim.constant dense<[1.0, 9.0]> : tensor<2xf32>
  %root = qsim.sqrt %a : tensor<2xf32>
  %unused = qsim.relu %a : tensor<2xf32>
  %sum = qsim.add %x, %root : tensor<2xf32>, tensor<2xf32> -> tensor<2xf32>
  func.return %sum : tensor<2xf32>
}

// -----

// Identities go: same-shape reshape, identity transpose, zero pad, infinite
// clip, + 0, - 0, * 1, / 1, single-operand concat. Broadcasting ones stay.
// CHECK-LABEL: func.func @identities
// CHECK-NEXT:    %zero = qsim.constant dense<0.000000e+00> : tensor<2x3xf32>
// CHECK-NEXT:    %wide = qsim.add %x, %zero : tensor<1x3xf32>, tensor<2x3xf32> -> tensor<2x3xf32>
// CHECK-NEXT:    func.return %x, %wide
func.func @identities(%x: tensor<1x3xf32>) -> (tensor<1x3xf32>, tensor<2x3xf32>) {
  %zero = qsim.constant dense<0.0> : tensor<2x3xf32>
  %zero1 = qsim.constant dense<0.0> : tensor<1x3xf32>
  %one = qsim.constant dense<1.0> : tensor<1xf32>
  %r = qsim.reshape %x : tensor<1x3xf32> -> tensor<1x3xf32>
  %t = qsim.transpose %r {perm = array<i64: 0, 1>} : tensor<1x3xf32> -> tensor<1x3xf32>
  %p = qsim.pad %t {pads = array<i64: 0, 0, 0, 0>, value = 0.0 : f64} : tensor<1x3xf32> -> tensor<1x3xf32>
  %c = qsim.clip %p {min = 0xFFF0000000000000 : f64, max = 0x7FF0000000000000 : f64} : tensor<1x3xf32>
  %a = qsim.add %c, %zero1 : tensor<1x3xf32>, tensor<1x3xf32> -> tensor<1x3xf32>
  %s = qsim.sub %a, %zero1 : tensor<1x3xf32>, tensor<1x3xf32> -> tensor<1x3xf32>
  %m = qsim.mul %one, %s : tensor<1xf32>, tensor<1x3xf32> -> tensor<1x3xf32>
  %d = qsim.div %m, %one : tensor<1x3xf32>, tensor<1xf32> -> tensor<1x3xf32>
  %cat = qsim.concat %d {axis = 1 : i64} : (tensor<1x3xf32>) -> tensor<1x3xf32>
  %wide = qsim.add %x, %zero : tensor<1x3xf32>, tensor<2x3xf32> -> tensor<2x3xf32>
  func.return %cat, %wide : tensor<1x3xf32>, tensor<2x3xf32>
}

// -----

// torch's Linear at opset 13 is MatMul + Add: the bias folds into qsim.dense.
// CHECK-LABEL: func.func @dense_bias
// CHECK:         %y = qsim.dense %x, %w, %fc.bias : (tensor<1x5x8xf32>, tensor<4x8xf32>, tensor<4xf32>) -> tensor<1x5x4xf32>
// CHECK-NOT:     qsim.add
func.func @dense_bias(%x: tensor<1x5x8xf32>) -> tensor<1x5x4xf32> {
  %w = qsim.constant "fc.weight" dense<0.5> : tensor<4x8xf32>
  %b = qsim.constant "fc.bias" dense<[1.0, 2.0, 3.0, 4.0]> : tensor<4xf32>
  %mm = qsim.dense %x, %w : (tensor<1x5x8xf32>, tensor<4x8xf32>) -> tensor<1x5x4xf32>
  %y = qsim.add %mm, %b : tensor<1x5x4xf32>, tensor<4xf32> -> tensor<1x5x4xf32>
  func.return %y : tensor<1x5x4xf32>
}

// -----

// torch's exact GELU, x * 0.5 * (1 + erf(x / sqrt 2)), fuses into qsim.gelu.
// CHECK-LABEL: func.func @gelu
// CHECK-NEXT:    %out = qsim.gelu %x : tensor<4xf32>
// CHECK-NEXT:    func.return %out
func.func @gelu(%x: tensor<4xf32>) -> tensor<4xf32> {
  %sqrt2 = qsim.constant dense<1.41421354> : tensor<f32>
  %one = qsim.constant dense<1.0> : tensor<f32>
  %half = qsim.constant dense<0.5> : tensor<f32>
  %scaled = qsim.div %x, %sqrt2 : tensor<4xf32>, tensor<f32> -> tensor<4xf32>
  %e = qsim.erf %scaled : tensor<4xf32>
  %plus = qsim.add %e, %one : tensor<4xf32>, tensor<f32> -> tensor<4xf32>
  %times = qsim.mul %x, %plus : tensor<4xf32>, tensor<4xf32> -> tensor<4xf32>
  %out = qsim.mul %times, %half : tensor<4xf32>, tensor<f32> -> tensor<4xf32>
  func.return %out : tensor<4xf32>
}
