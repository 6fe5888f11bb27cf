// RUN: hago-opt %S/Inputs/calibrated_relu6.mlir -p hago-realize,hago-check-legal | filecheck %s
// RUN: hago-opt %S/Inputs/calibrated_relu6.mlir -p hago-realize -t relax | filecheck %s --check-prefix=RELAX

// Scales: x 4/128; weights 0.5/128 and 0.25/128 per channel; the accumulator
// x * w per channel (2^-13, 2^-14); conv output 8/32 (6 effective bits);
// the unsigned edge 8/256. Bias 0.125 / 2^-13 = 1024 on the accumulator's grid.
// ReLU6 is gone: its bounds [0, 6] became [0, 6 / (8/256)] = [0, 192] in the
// output scale of the requantize.

// CHECK: %x.q = qnn.quantize %x {scale = [3.125000e-02 : f64], qmin = -128 : i64, qmax = 127 : i64} : tensor<1x1x2x2xf32> -> tensor<1x1x2x2xsi8>
// CHECK-NEXT: %w.q = qnn.constant "w" dense<[{{\[\[}}[64]]], {{\[\[}}[-64]]]]> : tensor<2x1x1x1xsi8> {scale = [3.906250e-03 : f64, 0.001953125 : f64], axis = 0}
// CHECK-NEXT: %b.q = qnn.constant "b" dense<[1024, 0]> : tensor<2xsi32> {scale = [0.0001220703125 : f64, 6.103515625e-05 : f64], axis = 0}
// CHECK-NEXT: %c = qnn.conv2d %x.q, %w.q, %b.q {{.*}}overflow = "wrap"} : (tensor<1x1x2x2xsi8>, tensor<2x1x1x1xsi8>, tensor<2xsi32>) -> tensor<1x2x2x2xsi32>
// CHECK-NEXT: %c.q = qnn.requantize %c {{.*}}multiplier = array<i64: 1, 1>, shift = array<i64: 11, 12>, qmin = -32 : i64, qmax = 31 : i64, axis = 1 : i64} : tensor<1x2x2x2xsi32> -> tensor<1x2x2x2xsi8>
// CHECK-NEXT: %r.q = qnn.requantize %c.q {{.*}}multiplier = array<i64: 8>, shift = array<i64: 0>, qmin = 0 : i64, qmax = 192 : i64} : tensor<1x2x2x2xsi8> -> tensor<1x2x2x2xui8>
// CHECK-NEXT: %r.q.dq = qnn.dequantize %r.q {scale = [3.125000e-02 : f64]} : tensor<1x2x2x2xui8> -> tensor<1x2x2x2xf32>
// CHECK-NEXT: func.return %r.q.dq : tensor<1x2x2x2xf32>

// The int32 sums are requantized in int64 (round half to even by shifts); the
// int8 -> uint8 requantize is exact in float64 (|q| * 8 < 2^53), so it is one
// multiply and one round there.
// RELAX: def main(x: R.Tensor((1, 1, 2, 2), dtype="float32"))
// RELAX: R.nn.conv2d({{.*}}out_dtype="int32")
// RELAX: R.right_shift(
// RELAX: R.clip({{.*}}, -32, 31)
// RELAX: R.astype({{.*}}, dtype="float64")
// RELAX-NEXT: R.multiply(
// RELAX-NEXT: R.round(
// RELAX-NEXT: R.clip({{.*}}, T.float64(0.0), T.float64(192.0))
// RELAX-NEXT: R.astype({{.*}}, dtype="uint8")
