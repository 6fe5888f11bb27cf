// A hand-written module whose float32 requantize has a negative multiplier.
builtin.module {
 func.func @main(%x: tensor<2xsi32>) -> tensor<2xsi8> {
 %y = qnn.requantize %x {input_scale = [1.0 : f64], output_scale = [1.0 : f64], multiplier = array<i64: 1>, shift = array<i64: 0>, qmin = -1 : i64, qmax = 1 : i64, float_multiplier = array<f32: -1.0>} : tensor<2xsi32> -> tensor<2xsi8>
 func.return %y : tensor<2xsi8>
 }
}
