// RUN: hago-opt %s | hago-opt | filecheck %s
// RUN: hago-opt %s --print-op-generic | hago-opt | filecheck %s

// Every op of the qsim dialect prints in its custom form and parses back.

// CHECK-LABEL: func.func @cnn(
// CHECK-SAME:    %x: tensor<1x4x8x8xf32> {qsim.name = "input"}) -> (tensor<1x10xf32> {qsim.name = "logits"})
func.func @cnn(%x: tensor<1x4x8x8xf32> {qsim.name = "input"}) -> (tensor<1x10xf32> {qsim.name = "logits"}) {
  // CHECK-NEXT: %w = qsim.constant "conv.weight" dense<5.000000e-01> : tensor<8x4x3x3xf32>
  %w = qsim.constant "conv.weight" dense<0.5> : tensor<8x4x3x3xf32>
  // CHECK-NEXT: %b = qsim.constant dense<[1.000000e+00, 2.000000e+00
  %b = qsim.constant dense<[1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0]> : tensor<8xf32>
  // CHECK-NEXT: %conv = qsim.conv2d %x, %w, %b {strides = array<i64: 2, 2>, pads = array<i64: 1, 1, 1, 1>, dilations = array<i64: 1, 1>, groups = 1 : i64} : (tensor<1x4x8x8xf32>, tensor<8x4x3x3xf32>, tensor<8xf32>) -> tensor<1x8x4x4xf32>
  %conv = qsim.conv2d %x, %w, %b {strides = array<i64: 2, 2>, pads = array<i64: 1, 1, 1, 1>, dilations = array<i64: 1, 1>, groups = 1 : i64} : (tensor<1x4x8x8xf32>, tensor<8x4x3x3xf32>, tensor<8xf32>) -> tensor<1x8x4x4xf32>
  // CHECK-NEXT: %dw_w = qsim.constant dense<2.500000e-01> : tensor<8x1x3x3xf32>
  %dw_w = qsim.constant dense<0.25> : tensor<8x1x3x3xf32>
  // CHECK-NEXT: %dw = qsim.conv2d %conv, %dw_w {strides = array<i64: 1, 1>, pads = array<i64: 2, 2, 2, 2>, dilations = array<i64: 2, 2>, groups = 8 : i64} : (tensor<1x8x4x4xf32>, tensor<8x1x3x3xf32>) -> tensor<1x8x4x4xf32>
  %dw = qsim.conv2d %conv, %dw_w {strides = array<i64: 1, 1>, pads = array<i64: 2, 2, 2, 2>, dilations = array<i64: 2, 2>, groups = 8 : i64} : (tensor<1x8x4x4xf32>, tensor<8x1x3x3xf32>) -> tensor<1x8x4x4xf32>
  // CHECK-NEXT: %bn_s = qsim.constant dense<1.000000e+00> : tensor<8xf32>
  %bn_s = qsim.constant dense<1.0> : tensor<8xf32>
  // CHECK-NEXT: %bn = qsim.batch_norm %dw, %bn_s, %bn_s, %bn_s, %bn_s {epsilon = 1.000000e-05 : f64} : (tensor<1x8x4x4xf32>, tensor<8xf32>, tensor<8xf32>, tensor<8xf32>, tensor<8xf32>) -> tensor<1x8x4x4xf32>
  %bn = qsim.batch_norm %dw, %bn_s, %bn_s, %bn_s, %bn_s {epsilon = 1.0e-05 : f64} : (tensor<1x8x4x4xf32>, tensor<8xf32>, tensor<8xf32>, tensor<8xf32>, tensor<8xf32>) -> tensor<1x8x4x4xf32>
  // CHECK-NEXT: %relu = qsim.relu %bn : tensor<1x8x4x4xf32>
  %relu = qsim.relu %bn : tensor<1x8x4x4xf32>
  // CHECK-NEXT: %relu6 = qsim.clip %relu {min = 0.000000e+00 : f64, max = 6.000000e+00 : f64} : tensor<1x8x4x4xf32>
  %relu6 = qsim.clip %relu {min = 0.0 : f64, max = 6.0 : f64} : tensor<1x8x4x4xf32>
  // CHECK-NEXT: %sum = qsim.add %relu6, %relu : tensor<1x8x4x4xf32>, tensor<1x8x4x4xf32> -> tensor<1x8x4x4xf32>
  %sum = qsim.add %relu6, %relu : tensor<1x8x4x4xf32>, tensor<1x8x4x4xf32> -> tensor<1x8x4x4xf32>
  // CHECK-NEXT: %b2 = qsim.constant dense<1.000000e+00> : tensor<8x1x1xf32>
  %b2 = qsim.constant dense<1.0> : tensor<8x1x1xf32>
  // CHECK-NEXT: %diff = qsim.sub %sum, %b2 : tensor<1x8x4x4xf32>, tensor<8x1x1xf32> -> tensor<1x8x4x4xf32>
  %diff = qsim.sub %sum, %b2 : tensor<1x8x4x4xf32>, tensor<8x1x1xf32> -> tensor<1x8x4x4xf32>
  // CHECK-NEXT: %prod = qsim.mul %diff, %b2 : tensor<1x8x4x4xf32>, tensor<8x1x1xf32> -> tensor<1x8x4x4xf32>
  %prod = qsim.mul %diff, %b2 : tensor<1x8x4x4xf32>, tensor<8x1x1xf32> -> tensor<1x8x4x4xf32>
  // CHECK-NEXT: %quot = qsim.div %prod, %b2 : tensor<1x8x4x4xf32>, tensor<8x1x1xf32> -> tensor<1x8x4x4xf32>
  %quot = qsim.div %prod, %b2 : tensor<1x8x4x4xf32>, tensor<8x1x1xf32> -> tensor<1x8x4x4xf32>
  // CHECK-NEXT: %maxp = qsim.max_pool2d %quot {kernel = array<i64: 3, 3>, strides = array<i64: 2, 2>, pads = array<i64: 1, 1, 1, 1>, ceil_mode = false, dilations = array<i64: 1, 1>} : tensor<1x8x4x4xf32> -> tensor<1x8x2x2xf32>
  %maxp = qsim.max_pool2d %quot {kernel = array<i64: 3, 3>, strides = array<i64: 2, 2>, pads = array<i64: 1, 1, 1, 1>, ceil_mode = false, dilations = array<i64: 1, 1>} : tensor<1x8x4x4xf32> -> tensor<1x8x2x2xf32>
  // CHECK-NEXT: %avgp = qsim.avg_pool2d %quot {kernel = array<i64: 2, 2>, strides = array<i64: 2, 2>, pads = array<i64: 0, 0, 0, 0>, ceil_mode = true, count_include_pad = false} : tensor<1x8x4x4xf32> -> tensor<1x8x2x2xf32>
  %avgp = qsim.avg_pool2d %quot {kernel = array<i64: 2, 2>, strides = array<i64: 2, 2>, pads = array<i64: 0, 0, 0, 0>, ceil_mode = true, count_include_pad = false} : tensor<1x8x4x4xf32> -> tensor<1x8x2x2xf32>
  // CHECK-NEXT: %cat = qsim.concat %maxp, %avgp {axis = 1 : i64} : (tensor<1x8x2x2xf32>, tensor<1x8x2x2xf32>) -> tensor<1x16x2x2xf32>
  %cat = qsim.concat %maxp, %avgp {axis = 1 : i64} : (tensor<1x8x2x2xf32>, tensor<1x8x2x2xf32>) -> tensor<1x16x2x2xf32>
  // CHECK-NEXT: %padded = qsim.pad %cat {pads = array<i64: 0, 0, 1, 1, 0, 0, 1, 1>, value = 0.000000e+00 : f64} : tensor<1x16x2x2xf32> -> tensor<1x16x4x4xf32>
  %padded = qsim.pad %cat {pads = array<i64: 0, 0, 1, 1, 0, 0, 1, 1>, value = 0.0 : f64} : tensor<1x16x2x2xf32> -> tensor<1x16x4x4xf32>
  // CHECK-NEXT: %gap = qsim.global_avg_pool2d %padded : tensor<1x16x4x4xf32> -> tensor<1x16x1x1xf32>
  %gap = qsim.global_avg_pool2d %padded : tensor<1x16x4x4xf32> -> tensor<1x16x1x1xf32>
  // CHECK-NEXT: %flat = qsim.reshape %gap : tensor<1x16x1x1xf32> -> tensor<1x16xf32>
  %flat = qsim.reshape %gap : tensor<1x16x1x1xf32> -> tensor<1x16xf32>
  // CHECK-NEXT: %fc_w = qsim.constant "fc.weight" dense<1.000000e-01> : tensor<10x16xf32>
  %fc_w = qsim.constant "fc.weight" dense<0.1> : tensor<10x16xf32>
  // CHECK-NEXT: %fc = qsim.dense %flat, %fc_w : (tensor<1x16xf32>, tensor<10x16xf32>) -> tensor<1x10xf32>
  %fc = qsim.dense %flat, %fc_w : (tensor<1x16xf32>, tensor<10x16xf32>) -> tensor<1x10xf32>
  // CHECK-NEXT: %sq = qsim.simulated_quantize %fc {kind = "activation", dtype = i8, signed = true, effective_bits = 6 : i64, min_bits = 4 : i64, max_bits = 8 : i64, threshold = [4.000000e+00 : f64], accumulator = i16, overflow = "wrap"} : tensor<1x10xf32>
  %sq = qsim.simulated_quantize %fc {kind = "activation", dtype = i8, signed = true, effective_bits = 6 : i64, min_bits = 4 : i64, max_bits = 8 : i64, threshold = [4.0 : f64], accumulator = i16, overflow = "wrap"} : tensor<1x10xf32>
  // CHECK-NEXT: func.return %sq : tensor<1x10xf32>
  func.return %sq : tensor<1x10xf32>
}

// CHECK-LABEL: func.func @transformer(
func.func @transformer(%t: tensor<1x4x8xf32>) -> tensor<1x4x8xf32> {
  %w = qsim.constant dense<0.1> : tensor<8x8xf32>
  // CHECK: %heads = qsim.reshape %t : tensor<1x4x8xf32> -> tensor<1x4x2x4xf32>
  %heads = qsim.reshape %t : tensor<1x4x8xf32> -> tensor<1x4x2x4xf32>
  // CHECK-NEXT: %q = qsim.transpose %heads {perm = array<i64: 0, 2, 1, 3>} : tensor<1x4x2x4xf32> -> tensor<1x2x4x4xf32>
  %q = qsim.transpose %heads {perm = array<i64: 0, 2, 1, 3>} : tensor<1x4x2x4xf32> -> tensor<1x2x4x4xf32>
  // CHECK-NEXT: %scores = qsim.matmul %q, %q : tensor<1x2x4x4xf32>, tensor<1x2x4x4xf32> -> tensor<1x2x4x4xf32>
  %scores = qsim.matmul %q, %q : tensor<1x2x4x4xf32>, tensor<1x2x4x4xf32> -> tensor<1x2x4x4xf32>
  // CHECK-NEXT: %probs = qsim.softmax %scores {axis = 3 : i64} : tensor<1x2x4x4xf32>
  %probs = qsim.softmax %scores {axis = 3 : i64} : tensor<1x2x4x4xf32>
  // CHECK-NEXT: %mean = qsim.reduce_mean %probs {axes = array<i64: 3>, keepdims = true} : tensor<1x2x4x4xf32> -> tensor<1x2x4x1xf32>
  %mean = qsim.reduce_mean %probs {axes = array<i64: 3>, keepdims = true} : tensor<1x2x4x4xf32> -> tensor<1x2x4x1xf32>
  // CHECK-NEXT: %sq = qsim.pow %mean {exponent = 2.000000e+00 : f64} : tensor<1x2x4x1xf32>
  %sq = qsim.pow %mean {exponent = 2.0 : f64} : tensor<1x2x4x1xf32>
  // CHECK-NEXT: %root = qsim.sqrt %sq : tensor<1x2x4x1xf32>
  %root = qsim.sqrt %sq : tensor<1x2x4x1xf32>
  // CHECK-NEXT: %e = qsim.erf %root : tensor<1x2x4x1xf32>
  %e = qsim.erf %root : tensor<1x2x4x1xf32>
  // CHECK-NEXT: %s = qsim.sigmoid %e : tensor<1x2x4x1xf32>
  %s = qsim.sigmoid %e : tensor<1x2x4x1xf32>
  // CHECK-NEXT: %th = qsim.tanh %s : tensor<1x2x4x1xf32>
  %th = qsim.tanh %s : tensor<1x2x4x1xf32>
  // CHECK-NEXT: %fc = qsim.dense %t, %w : (tensor<1x4x8xf32>, tensor<8x8xf32>) -> tensor<1x4x8xf32>
  %fc = qsim.dense %t, %w : (tensor<1x4x8xf32>, tensor<8x8xf32>) -> tensor<1x4x8xf32>
  // CHECK-NEXT: %g = qsim.gelu %fc : tensor<1x4x8xf32>
  %g = qsim.gelu %fc : tensor<1x4x8xf32>
  %gamma = qsim.constant dense<1.0> : tensor<8xf32>
  // CHECK: %ln = qsim.layer_norm %g, %gamma, %gamma {axis = 2 : i64, epsilon = 1.000000e-05 : f64} : (tensor<1x4x8xf32>, tensor<8xf32>, tensor<8xf32>) -> tensor<1x4x8xf32>
  %ln = qsim.layer_norm %g, %gamma, %gamma {axis = 2 : i64, epsilon = 1.0e-05 : f64} : (tensor<1x4x8xf32>, tensor<8xf32>, tensor<8xf32>) -> tensor<1x4x8xf32>
  // CHECK-NEXT: %wq = qsim.simulated_quantize %w {kind = "weight", dtype = i8, signed = true, effective_bits = 8 : i64, min_bits = 4 : i64, max_bits = 8 : i64, threshold = [1.000000e+00 : f64, 2.000000e+00 : f64, 3.000000e+00 : f64, 4.000000e+00 : f64, 5.000000e+00 : f64, 6.000000e+00 : f64, 7.000000e+00 : f64, 8.000000e+00 : f64], axis = 0 : i64} : tensor<8x8xf32>
  %wq = qsim.simulated_quantize %w {kind = "weight", dtype = i8, signed = true, effective_bits = 8 : i64, min_bits = 4 : i64, max_bits = 8 : i64, threshold = [1.0 : f64, 2.0 : f64, 3.0 : f64, 4.0 : f64, 5.0 : f64, 6.0 : f64, 7.0 : f64, 8.0 : f64], axis = 0 : i64} : tensor<8x8xf32>
  func.return %ln : tensor<1x4x8xf32>
}
