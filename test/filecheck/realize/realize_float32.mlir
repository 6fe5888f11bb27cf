// A spec with float32_requantize (x86-vnni; hago-topology records it on the
// module as hago.float32_requantize): every requantize to at most 16 bits also
// carries its float32 multiplier, the scale ratio rounded to float32, every
// quantize its float32 scale, and the backends compute in float32 (convert,
// multiply or divide, round half to even, clip).
// The input is calibrated_relu6.mlir with that flag added.

// RUN: sed 's/hago.spec = "x86-vnni"/hago.spec = "x86-vnni", hago.float32_requantize/' %S/Inputs/calibrated_relu6.mlir | hago-opt -p hago-realize,hago-check-legal | filecheck %s
// RUN: sed 's/hago.spec = "x86-vnni"/hago.spec = "x86-vnni", hago.float32_requantize/' %S/Inputs/calibrated_relu6.mlir | hago-opt -p hago-realize -t relax | filecheck %s --check-prefix=RELAX

// CHECK: %x.q = qnn.quantize %x {scale = [3.125000e-02 : f64], qmin = -128 : i64, qmax = 127 : i64, float_scale = array<f32: 3.125000e-02>}
// CHECK: %c.q = qnn.requantize %c {{.*}}multiplier = array<i64: 1, 1>, shift = array<i64: 11, 12>, qmin = -32 : i64, qmax = 31 : i64, axis = 1 : i64, float_multiplier = array<f32: 0.00048828125, 0.000244140625>} : tensor<1x2x2x2xsi32> -> tensor<1x2x2x2xsi8>
// CHECK-NEXT: %r.q = qnn.requantize %c.q {{.*}}qmin = 0 : i64, qmax = 192 : i64, float_multiplier = array<f32: 8.000000e+00>} : tensor<1x2x2x2xsi8> -> tensor<1x2x2x2xui8>

// RELAX: dtype="float32") = R.divide(
// RELAX: R.nn.conv2d({{.*}}out_dtype="int32")
// RELAX-NOT: R.right_shift(
// RELAX: R.astype({{.*}}, dtype="float32")
// RELAX-NEXT: R.multiply(
// RELAX-NEXT: R.round(
// RELAX-NEXT: R.clip({{.*}}, T.float64(-32.0), T.float64(31.0))
// RELAX-NEXT: R.astype({{.*}}, dtype="int8")
