// A calibrated x86-vnni module, written by hand so that every realized number
// can be checked: conv (per-channel weights) -> ReLU6 -> an unsigned edge.
builtin.module attributes {hago.spec = "x86-vnni"} {
  func.func @main(%x: tensor<1x1x2x2xf32> {qsim.name = "x"}) -> (tensor<1x2x2x2xf32> {qsim.name = "y"}) {
    %x.q = qsim.simulated_quantize %x {kind = "input", dtype = i8, signed = true, effective_bits = 8 : i64, min_bits = 4 : i64, max_bits = 8 : i64, threshold = [4.0 : f64]} : tensor<1x1x2x2xf32>
    %w = qsim.constant "w" dense<[[[[0.25]]], [[[-0.125]]]]> : tensor<2x1x1x1xf32>
    %w.q = qsim.simulated_quantize %w {kind = "weight", dtype = i8, signed = true, effective_bits = 8 : i64, min_bits = 4 : i64, max_bits = 8 : i64, axis = 0 : i64, threshold = [0.5 : f64, 0.25 : f64]} : tensor<2x1x1x1xf32>
    %b = qsim.constant "b" dense<[0.125, 0.0]> : tensor<2xf32>
    %b.q = qsim.simulated_quantize %b {kind = "bias", dtype = i32, signed = true, effective_bits = 32 : i64, min_bits = 32 : i64, max_bits = 32 : i64} : tensor<2xf32>
    %c = qsim.conv2d %x.q, %w.q, %b.q {hago.mode = "int", hago.accumulator = si32, hago.overflow = "wrap", strides = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, dilations = array<i64: 1, 1>, groups = 1 : i64} : (tensor<1x1x2x2xf32>, tensor<2x1x1x1xf32>, tensor<2xf32>) -> tensor<1x2x2x2xf32>
    %c.q = qsim.simulated_quantize %c {kind = "activation", dtype = i8, signed = true, effective_bits = 6 : i64, min_bits = 4 : i64, max_bits = 8 : i64, accumulator = i32, overflow = "wrap", threshold = [8.0 : f64]} : tensor<1x2x2x2xf32>
    %r = qsim.clip %c.q {hago.mode = "int", min = 0.0 : f64, max = 6.0 : f64} : tensor<1x2x2x2xf32>
    %r.q = qsim.simulated_quantize %r {kind = "activation", dtype = i8, signed = false, effective_bits = 8 : i64, min_bits = 4 : i64, max_bits = 8 : i64, threshold = [8.0 : f64]} : tensor<1x2x2x2xf32>
    func.return %r.q : tensor<1x2x2x2xf32>
  }
}
