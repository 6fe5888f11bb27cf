// RUN: hago-opt %s --split-input-file --verify-diagnostics | filecheck %s
// RUN: not hago-opt %s --split-input-file 2>&1 | filecheck %s --check-prefix=NOFLAG

// Every verifier diagnostic of the qsim dialect, one per chunk, at the op.
// Without --verify-diagnostics the first failure is an error with the op marked.
// NOFLAG: hago-opt: error: conv2d input must be NCHW (rank 4), got rank 3
// NOFLAG: qsim.conv2d
// NOFLAG: Operation does not verify: conv2d input must be NCHW

// CHECK: conv2d input must be NCHW (rank 4), got rank 3
// CHECK: Operation does not verify: conv2d input must be NCHW (rank 4), got rank 3
func.func @case0(%x: tensor<4x8x8xf32>) {
  %w = qsim.constant dense<0.5> : tensor<8x4x3x3xf32>
  %y = qsim.conv2d %x, %w {strides = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, dilations = array<i64: 1, 1>, groups = 1 : i64} : (tensor<4x8x8xf32>, tensor<8x4x3x3xf32>) -> tensor<1x8x6x6xf32>
  func.return
}
// -----
// CHECK: conv2d weight must be OIHW (rank 4), got rank 2
// CHECK: Operation does not verify: conv2d weight must be OIHW (rank 4), got rank 2
func.func @case1(%x: tensor<1x4x8x8xf32>) {
  %w = qsim.constant dense<0.5> : tensor<8x4xf32>
  %y = qsim.conv2d %x, %w {strides = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, dilations = array<i64: 1, 1>, groups = 1 : i64} : (tensor<1x4x8x8xf32>, tensor<8x4xf32>) -> tensor<1x8x6x6xf32>
  func.return
}
// -----
// CHECK: strides must be 2 positive ints, got [0, 1]
// CHECK: Operation does not verify: strides must be 2 positive ints, got [0, 1]
func.func @case2(%x: tensor<1x4x8x8xf32>) {
  %w = qsim.constant dense<0.5> : tensor<8x4x3x3xf32>
  %y = qsim.conv2d %x, %w {strides = array<i64: 0, 1>, pads = array<i64: 0, 0, 0, 0>, dilations = array<i64: 1, 1>, groups = 1 : i64} : (tensor<1x4x8x8xf32>, tensor<8x4x3x3xf32>) -> tensor<1x8x6x6xf32>
  func.return
}
// -----
// CHECK: dilations must be 2 positive ints, got [1]
// CHECK: Operation does not verify: dilations must be 2 positive ints, got [1]
func.func @case3(%x: tensor<1x4x8x8xf32>) {
  %w = qsim.constant dense<0.5> : tensor<8x4x3x3xf32>
  %y = qsim.conv2d %x, %w {strides = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, dilations = array<i64: 1>, groups = 1 : i64} : (tensor<1x4x8x8xf32>, tensor<8x4x3x3xf32>) -> tensor<1x8x6x6xf32>
  func.return
}
// -----
// CHECK: pads must be 4 non-negative ints [top, left, bottom, right], got [0, 0, -1, 0]
// CHECK: Operation does not verify: pads must be 4 non-negative ints [top, left, bottom, right], got [0, 0, -1, 0]
func.func @case4(%x: tensor<1x4x8x8xf32>) {
  %w = qsim.constant dense<0.5> : tensor<8x4x3x3xf32>
  %y = qsim.conv2d %x, %w {strides = array<i64: 1, 1>, pads = array<i64: 0, 0, -1, 0>, dilations = array<i64: 1, 1>, groups = 1 : i64} : (tensor<1x4x8x8xf32>, tensor<8x4x3x3xf32>) -> tensor<1x8x6x6xf32>
  func.return
}
// -----
// CHECK: groups=3 does not divide the 4 input channels
// CHECK: Operation does not verify: groups=3 does not divide the 4 input channels
func.func @case5(%x: tensor<1x4x8x8xf32>) {
  %w = qsim.constant dense<0.5> : tensor<8x1x3x3xf32>
  %y = qsim.conv2d %x, %w {strides = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, dilations = array<i64: 1, 1>, groups = 3 : i64} : (tensor<1x4x8x8xf32>, tensor<8x1x3x3xf32>) -> tensor<1x8x6x6xf32>
  func.return
}
// -----
// CHECK: groups=4 does not divide the 6 output channels
// CHECK: Operation does not verify: groups=4 does not divide the 6 output channels
func.func @case6(%x: tensor<1x4x8x8xf32>) {
  %w = qsim.constant dense<0.5> : tensor<6x1x3x3xf32>
  %y = qsim.conv2d %x, %w {strides = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, dilations = array<i64: 1, 1>, groups = 4 : i64} : (tensor<1x4x8x8xf32>, tensor<6x1x3x3xf32>) -> tensor<1x6x6x6xf32>
  func.return
}
// -----
// CHECK: weight has 3 input channels per group, expected 4 (4 channels / groups=1)
// CHECK: Operation does not verify: weight has 3 input channels per group, expected 4 (4 channels / groups=1)
func.func @case7(%x: tensor<1x4x8x8xf32>) {
  %w = qsim.constant dense<0.5> : tensor<8x3x3x3xf32>
  %y = qsim.conv2d %x, %w {strides = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, dilations = array<i64: 1, 1>, groups = 1 : i64} : (tensor<1x4x8x8xf32>, tensor<8x3x3x3xf32>) -> tensor<1x8x6x6xf32>
  func.return
}
// -----
// CHECK: window of extent 9 does not fit in 8 elements
// CHECK: Operation does not verify: window of extent 9 does not fit in 8 elements
func.func @case8(%x: tensor<1x4x8x8xf32>) {
  %w = qsim.constant dense<0.5> : tensor<8x4x9x9xf32>
  %y = qsim.conv2d %x, %w {strides = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, dilations = array<i64: 1, 1>, groups = 1 : i64} : (tensor<1x4x8x8xf32>, tensor<8x4x9x9xf32>) -> tensor<1x8x1x1xf32>
  func.return
}
// -----
// CHECK: bias shape [4] must be [8] (one per output channel)
// CHECK: Operation does not verify: bias shape [4] must be [8] (one per output channel)
func.func @case9(%x: tensor<1x4x8x8xf32>) {
  %w = qsim.constant dense<0.5> : tensor<8x4x3x3xf32>
  %b = qsim.constant dense<0.5> : tensor<4xf32>
  %y = qsim.conv2d %x, %w, %b {strides = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, dilations = array<i64: 1, 1>, groups = 1 : i64} : (tensor<1x4x8x8xf32>, tensor<8x4x3x3xf32>, tensor<4xf32>) -> tensor<1x8x6x6xf32>
  func.return
}
// -----
// CHECK: result shape [1, 8, 8, 8] does not match the inferred shape [1, 8, 6, 6]
// CHECK: Operation does not verify: result shape [1, 8, 8, 8] does not match the inferred shape [1, 8, 6, 6]
func.func @case10(%x: tensor<1x4x8x8xf32>) {
  %w = qsim.constant dense<0.5> : tensor<8x4x3x3xf32>
  %y = qsim.conv2d %x, %w {strides = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, dilations = array<i64: 1, 1>, groups = 1 : i64} : (tensor<1x4x8x8xf32>, tensor<8x4x3x3xf32>) -> tensor<1x8x8x8xf32>
  func.return
}
// -----
// CHECK: dense weight must be rank 2 [out, in], got [10]
// CHECK: Operation does not verify: dense weight must be rank 2 [out, in], got [10]
func.func @case11(%x: tensor<2x16xf32>) {
  %w = qsim.constant dense<0.5> : tensor<10xf32>
  %y = qsim.dense %x, %w : (tensor<2x16xf32>, tensor<10xf32>) -> tensor<2x10xf32>
  func.return
}
// -----
// CHECK: dense input has 16 features but the weight expects 15
// CHECK: Operation does not verify: dense input has 16 features but the weight expects 15
func.func @case12(%x: tensor<2x16xf32>) {
  %w = qsim.constant dense<0.5> : tensor<10x15xf32>
  %y = qsim.dense %x, %w : (tensor<2x16xf32>, tensor<10x15xf32>) -> tensor<2x10xf32>
  func.return
}
// -----
// CHECK: bias shape [16] must be [10]
// CHECK: Operation does not verify: bias shape [16] must be [10]
func.func @case13(%x: tensor<2x16xf32>, %x2: tensor<16xf32>) {
  %w = qsim.constant dense<0.5> : tensor<10x16xf32>
  %y = qsim.dense %x, %w, %x2 : (tensor<2x16xf32>, tensor<10x16xf32>, tensor<16xf32>) -> tensor<2x10xf32>
  func.return
}
// -----
// CHECK: matmul contraction mismatch: lhs [2, 16] and rhs [15, 4]
// CHECK: Operation does not verify: matmul contraction mismatch: lhs [2, 16] and rhs [15, 4]
func.func @case14(%x: tensor<2x16xf32>) {
  %w = qsim.constant dense<0.5> : tensor<15x4xf32>
  %y = qsim.matmul %x, %w : tensor<2x16xf32>, tensor<15x4xf32> -> tensor<2x4xf32>
  func.return
}
// -----
// CHECK: operand shapes [2, 16] and [3, 16] are not broadcastable
// CHECK: Operation does not verify: operand shapes [2, 16] and [3, 16] are not broadcastable
func.func @case15(%x: tensor<2x16xf32>) {
  %w = qsim.constant dense<0.5> : tensor<3x16xf32>
  %y = qsim.add %x, %w : tensor<2x16xf32>, tensor<3x16xf32> -> tensor<2x16xf32>
  func.return
}
// -----
// CHECK: result shape [2, 1] does not match the inferred shape [2, 16]
// CHECK: Operation does not verify: result shape [2, 1] does not match the inferred shape [2, 16]
func.func @case16(%x: tensor<2x16xf32>) {
  %w = qsim.constant dense<0.5> : tensor<16xf32>
  %y = qsim.mul %x, %w : tensor<2x16xf32>, tensor<16xf32> -> tensor<2x1xf32>
  func.return
}
// -----
// CHECK: clip min 6.0 is greater than max 0.0
// CHECK: Operation does not verify: clip min 6.0 is greater than max 0.0
func.func @case17(%x: tensor<2x16xf32>) {
  %y = qsim.clip %x {min = 6.0 : f64, max = 0.0 : f64} : tensor<2x16xf32>
  func.return
}
// -----
// CHECK: clip bounds must not be NaN
// CHECK: Operation does not verify: clip bounds must not be NaN
func.func @case18(%x: tensor<2x16xf32>) {
  %y = qsim.clip %x {min = 0x7FF8000000000000 : f64, max = 0.0 : f64} : tensor<2x16xf32>
  func.return
}
// -----
// CHECK: pooling input must be NCHW (rank 4), got rank 2
// CHECK: Operation does not verify: pooling input must be NCHW (rank 4), got rank 2
func.func @case19(%x: tensor<2x16xf32>) {
  %y = qsim.max_pool2d %x {kernel = array<i64: 2, 2>, strides = array<i64: 2, 2>, pads = array<i64: 0, 0, 0, 0>, ceil_mode = false, dilations = array<i64: 1, 1>} : tensor<2x16xf32> -> tensor<1x4x4x4xf32>
  func.return
}
// -----
// CHECK: kernel must be 2 positive ints, got [2]
// CHECK: Operation does not verify: kernel must be 2 positive ints, got [2]
func.func @case20(%x: tensor<1x4x8x8xf32>) {
  %y = qsim.max_pool2d %x {kernel = array<i64: 2>, strides = array<i64: 2, 2>, pads = array<i64: 0, 0, 0, 0>, ceil_mode = false, dilations = array<i64: 1, 1>} : tensor<1x4x8x8xf32> -> tensor<1x4x4x4xf32>
  func.return
}
// -----
// CHECK: pads [2, 2, 2, 2] must be smaller than the kernel [2, 2]
// CHECK: Operation does not verify: pads [2, 2, 2, 2] must be smaller than the kernel [2, 2]
func.func @case21(%x: tensor<1x4x8x8xf32>) {
  %y = qsim.avg_pool2d %x {kernel = array<i64: 2, 2>, strides = array<i64: 2, 2>, pads = array<i64: 2, 2, 2, 2>, ceil_mode = false, count_include_pad = false} : tensor<1x4x8x8xf32> -> tensor<1x4x6x6xf32>
  func.return
}
// -----
// CHECK: result shape [1, 4, 8, 8] does not match the inferred shape [1, 4, 4, 4]
// CHECK: Operation does not verify: result shape [1, 4, 8, 8] does not match the inferred shape [1, 4, 4, 4]
func.func @case22(%x: tensor<1x4x8x8xf32>) {
  %y = qsim.avg_pool2d %x {kernel = array<i64: 2, 2>, strides = array<i64: 2, 2>, pads = array<i64: 0, 0, 0, 0>, ceil_mode = false, count_include_pad = false} : tensor<1x4x8x8xf32> -> tensor<1x4x8x8xf32>
  func.return
}
// -----
// CHECK: global_avg_pool2d input must be NCHW (rank 4), got rank 2
// CHECK: Operation does not verify: global_avg_pool2d input must be NCHW (rank 4), got rank 2
func.func @case23(%x: tensor<2x16xf32>) {
  %y = qsim.global_avg_pool2d %x : tensor<2x16xf32> -> tensor<2x16x1x1xf32>
  func.return
}
// -----
// CHECK: axis 2 is out of range for rank 2
// CHECK: Operation does not verify: axis 2 is out of range for rank 2
func.func @case24(%x: tensor<2x16xf32>) {
  %y = qsim.softmax %x {axis = 2 : i64} : tensor<2x16xf32>
  func.return
}
// -----
// CHECK: axes [1, 1] must be distinct and in [0, 2)
// CHECK: Operation does not verify: axes [1, 1] must be distinct and in [0, 2)
func.func @case25(%x: tensor<2x16xf32>) {
  %y = qsim.reduce_mean %x {axes = array<i64: 1, 1>, keepdims = true} : tensor<2x16xf32> -> tensor<2x1xf32>
  func.return
}
// -----
// CHECK: var shape [3] must be [4] (one per channel)
// CHECK: Operation does not verify: var shape [3] must be [4] (one per channel)
func.func @case26(%x: tensor<1x4x8x8xf32>) {
  %s = qsim.constant dense<1.0> : tensor<4xf32>
  %v = qsim.constant dense<1.0> : tensor<3xf32>
  %y = qsim.batch_norm %x, %s, %s, %s, %v {epsilon = 1.0e-05 : f64} : (tensor<1x4x8x8xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<3xf32>) -> tensor<1x4x8x8xf32>
  func.return
}
// -----
// CHECK: batch_norm input must have a channel axis (rank >= 2)
// CHECK: Operation does not verify: batch_norm input must have a channel axis (rank >= 2)
func.func @case27(%x: tensor<4xf32>) {
  %s = qsim.constant dense<1.0> : tensor<4xf32>
  %y = qsim.batch_norm %x, %s, %s, %s, %s {epsilon = 1.0e-05 : f64} : (tensor<4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32>
  func.return
}
// -----
// CHECK: scale/bias shape [8] does not broadcast to the normalized shape [16]
// CHECK: Operation does not verify: scale/bias shape [8] does not broadcast to the normalized shape [16]
func.func @case28(%x: tensor<2x16xf32>) {
  %s = qsim.constant dense<1.0> : tensor<8xf32>
  %y = qsim.layer_norm %x, %s {axis = 1 : i64, epsilon = 1.0e-05 : f64} : (tensor<2x16xf32>, tensor<8xf32>) -> tensor<2x16xf32>
  func.return
}
// -----
// CHECK: cannot reshape [2, 16] (32 elements) to [2, 15] (30 elements)
// CHECK: Operation does not verify: cannot reshape [2, 16] (32 elements) to [2, 15] (30 elements)
func.func @case29(%x: tensor<2x16xf32>) {
  %y = qsim.reshape %x : tensor<2x16xf32> -> tensor<2x15xf32>
  func.return
}
// -----
// CHECK: perm [0, 0] is not a permutation of the 2 dimensions
// CHECK: Operation does not verify: perm [0, 0] is not a permutation of the 2 dimensions
func.func @case30(%x: tensor<2x16xf32>) {
  %y = qsim.transpose %x {perm = array<i64: 0, 0>} : tensor<2x16xf32> -> tensor<2x2xf32>
  func.return
}
// -----
// CHECK: pads has 2 entries, expected 4 (2 per dimension)
// CHECK: Operation does not verify: pads has 2 entries, expected 4 (2 per dimension)
func.func @case31(%x: tensor<2x16xf32>) {
  %y = qsim.pad %x {pads = array<i64: 1, 1>, value = 0.0 : f64} : tensor<2x16xf32> -> tensor<2x18xf32>
  func.return
}
// -----
// CHECK: negative pads [0, -1, 0, 0] are not supported
// CHECK: Operation does not verify: negative pads [0, -1, 0, 0] are not supported
func.func @case32(%x: tensor<2x16xf32>) {
  %y = qsim.pad %x {pads = array<i64: 0, -1, 0, 0>, value = 0.0 : f64} : tensor<2x16xf32> -> tensor<2x15xf32>
  func.return
}
// -----
// CHECK: operand shapes [[2, 16], [3, 15]] differ outside axis 0
// CHECK: Operation does not verify: operand shapes [[2, 16], [3, 15]] differ outside axis 0
func.func @case33(%x: tensor<2x16xf32>) {
  %w = qsim.constant dense<0.5> : tensor<3x15xf32>
  %y = qsim.concat %x, %w {axis = 0 : i64} : (tensor<2x16xf32>, tensor<3x15xf32>) -> tensor<5x16xf32>
  func.return
}
// -----
// CHECK: axis 2 is out of range for rank 2
// CHECK: Operation does not verify: axis 2 is out of range for rank 2
func.func @case34(%x: tensor<2x16xf32>) {
  %y = qsim.concat %x, %x {axis = 2 : i64} : (tensor<2x16xf32>, tensor<2x16xf32>) -> tensor<2x32xf32>
  func.return
}
// -----
// CHECK: value type tensor<2xf32> does not match result type tensor<3xf32>
// CHECK: Operation does not verify: value type tensor<2xf32> does not match result type tensor<3xf32>
func.func @case35(%x: tensor<2x16xf32>) {
  %w = "qsim.constant"() <{value = dense<0.5> : tensor<2xf32>}> : () -> tensor<3xf32>
  func.return
}
// -----
// CHECK: kind 'output' is not one of input, weight, activation, bias
// CHECK: Operation does not verify: kind 'output' is not one of input, weight, activation, bias
func.func @case36(%x: tensor<2x16xf32>) {
  %y = qsim.simulated_quantize %x {kind = "output", dtype = i8, signed = true, effective_bits = 8 : i64, min_bits = 4 : i64, max_bits = 8 : i64} : tensor<2x16xf32>
  func.return
}
// -----
// CHECK: bit range [4, 9] must lie within 1..8 (i8)
// CHECK: Operation does not verify: bit range [4, 9] must lie within 1..8 (i8)
func.func @case37(%x: tensor<2x16xf32>) {
  %y = qsim.simulated_quantize %x {kind = "activation", dtype = i8, signed = true, effective_bits = 8 : i64, min_bits = 4 : i64, max_bits = 9 : i64} : tensor<2x16xf32>
  func.return
}
// -----
// CHECK: effective_bits 3 is outside [4, 8]
// CHECK: Operation does not verify: effective_bits 3 is outside [4, 8]
func.func @case38(%x: tensor<2x16xf32>) {
  %y = qsim.simulated_quantize %x {kind = "activation", dtype = i8, signed = true, effective_bits = 3 : i64, min_bits = 4 : i64, max_bits = 8 : i64} : tensor<2x16xf32>
  func.return
}
// -----
// CHECK: axis 2 is out of range for rank 2
// CHECK: Operation does not verify: axis 2 is out of range for rank 2
func.func @case39(%x: tensor<2x16xf32>) {
  %y = qsim.simulated_quantize %x {kind = "weight", dtype = i8, signed = true, effective_bits = 8 : i64, min_bits = 4 : i64, max_bits = 8 : i64, axis = 2 : i64} : tensor<2x16xf32>
  func.return
}
// -----
// CHECK: 1 thresholds given, expected 2 (one per channel along axis 0)
// CHECK: Operation does not verify: 1 thresholds given, expected 2 (one per channel along axis 0)
func.func @case40(%x: tensor<2x16xf32>) {
  %y = qsim.simulated_quantize %x {kind = "weight", dtype = i8, signed = true, effective_bits = 8 : i64, min_bits = 4 : i64, max_bits = 8 : i64, axis = 0 : i64, threshold = [1.0 : f64]} : tensor<2x16xf32>
  func.return
}
// -----
// CHECK: thresholds must be finite and positive
// CHECK: Operation does not verify: thresholds must be finite and positive
func.func @case41(%x: tensor<2x16xf32>) {
  %y = qsim.simulated_quantize %x {kind = "activation", dtype = i8, signed = true, effective_bits = 8 : i64, min_bits = 4 : i64, max_bits = 8 : i64, threshold = [0.0 : f64]} : tensor<2x16xf32>
  func.return
}
// -----
// CHECK: overflow 'clamp' is not one of wrap, saturate
// CHECK: Operation does not verify: overflow 'clamp' is not one of wrap, saturate
func.func @case42(%x: tensor<2x16xf32>) {
  %y = qsim.simulated_quantize %x {kind = "activation", dtype = i8, signed = true, effective_bits = 8 : i64, min_bits = 4 : i64, max_bits = 8 : i64, accumulator = i16, overflow = "clamp"} : tensor<2x16xf32>
  func.return
}
// -----
// CHECK: overflow is given without an accumulator dtype
// CHECK: Operation does not verify: overflow is given without an accumulator dtype
func.func @case43(%x: tensor<2x16xf32>) {
  %y = qsim.simulated_quantize %x {kind = "activation", dtype = i8, signed = true, effective_bits = 8 : i64, min_bits = 4 : i64, max_bits = 8 : i64, overflow = "wrap"} : tensor<2x16xf32>
  func.return
}
