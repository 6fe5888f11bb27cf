// RUN: hago-opt %S/Inputs/small_cnn.mlir -p 'hago-topology{spec=arm-a72-i16},hago-insert-simq' | filecheck %s

// A simulated quantize on every edge into an integer op (input, weights per
// channel, the bias at the accumulator's full width) and on the edge leaving
// the integer region; conv2d / dense outputs carry their accumulator (i16,
// wrapping, on the Cortex-A72 spec). Effective bits start at the maximum.

// CHECK: %x.q = qsim.simulated_quantize %x {kind = "input", dtype = i8, signed = true, effective_bits = 8 : i64, min_bits = 4 : i64, max_bits = 8 : i64} : tensor<1x2x4x4xf32>
// CHECK: %w1 = qsim.constant "conv1.weight" dense<5.000000e-01> : tensor<4x2x3x3xf32>
// CHECK-NEXT: %w1.q = qsim.simulated_quantize %w1 {kind = "weight", dtype = i8, signed = true, effective_bits = 8 : i64, min_bits = 4 : i64, max_bits = 8 : i64, axis = 0 : i64} : tensor<4x2x3x3xf32>
// CHECK: %b1 = qsim.constant "conv1.bias" dense<1.000000e-01> : tensor<4xf32>
// CHECK-NEXT: %b1.q = qsim.simulated_quantize %b1 {kind = "bias", dtype = i16, signed = true, effective_bits = 16 : i64, min_bits = 16 : i64, max_bits = 16 : i64} : tensor<4xf32>
// CHECK-NEXT: %conv1 = qsim.conv2d %x.q, %w1.q, %b1.q {{.*}} : (tensor<1x2x4x4xf32>, tensor<4x2x3x3xf32>, tensor<4xf32>) -> tensor<1x4x4x4xf32>
// conv1 feeds only a ReLU: fused, so the edge between them holds the
// accumulator (simulated, not re-quantized, not searched); the ReLU's output
// is the first quantized edge.
// CHECK-NEXT: %conv1.q = qsim.simulated_quantize %conv1 {kind = "accumulator", dtype = i16, signed = true, effective_bits = 16 : i64, min_bits = 16 : i64, max_bits = 16 : i64, accumulator = i16, overflow = "wrap"} : tensor<1x4x4x4xf32>
// CHECK-NEXT: %relu1 = qsim.relu %conv1.q {{.*}} : tensor<1x4x4x4xf32>
// CHECK-NEXT: %relu1.q = qsim.simulated_quantize %relu1 {kind = "activation", dtype = i8, signed = true, effective_bits = 8 : i64, min_bits = 4 : i64, max_bits = 8 : i64} : tensor<1x4x4x4xf32>
// CHECK: %w2 = qsim.constant "conv2.weight" dense<-2.500000e-01> : tensor<4x4x3x3xf32>
// CHECK-NEXT: %w2.q = qsim.simulated_quantize %w2 {kind = "weight", dtype = i8, signed = true, effective_bits = 8 : i64, min_bits = 4 : i64, max_bits = 8 : i64, axis = 0 : i64} : tensor<4x4x3x3xf32>
// CHECK-NEXT: %conv2 = qsim.conv2d %relu1.q, %w2.q {{.*}} : (tensor<1x4x4x4xf32>, tensor<4x4x3x3xf32>) -> tensor<1x4x4x4xf32>
// CHECK-NEXT: %conv2.q = qsim.simulated_quantize %conv2 {kind = "activation", dtype = i8, signed = true, effective_bits = 8 : i64, min_bits = 4 : i64, max_bits = 8 : i64, accumulator = i16, overflow = "wrap"} : tensor<1x4x4x4xf32>
// CHECK-NEXT: %sum = qsim.add %conv2.q, %relu1.q {{.*}} : tensor<1x4x4x4xf32>, tensor<1x4x4x4xf32> -> tensor<1x4x4x4xf32>
// CHECK-NEXT: %sum.q = qsim.simulated_quantize %sum {kind = "activation", dtype = i8, signed = true, effective_bits = 8 : i64, min_bits = 4 : i64, max_bits = 8 : i64} : tensor<1x4x4x4xf32>
// CHECK-NEXT: %pool = qsim.global_avg_pool2d %sum.q {{.*}} : tensor<1x4x4x4xf32> -> tensor<1x4x1x1xf32>
// CHECK-NEXT: %pool.q = qsim.simulated_quantize %pool {kind = "activation", dtype = i8, signed = true, effective_bits = 8 : i64, min_bits = 4 : i64, max_bits = 8 : i64} : tensor<1x4x1x1xf32>
// CHECK-NEXT: %flat = qsim.reshape %pool.q {{.*}} : tensor<1x4x1x1xf32> -> tensor<1x4xf32>
// CHECK-NEXT: %flat.q = qsim.simulated_quantize %flat {kind = "activation", dtype = i8, signed = true, effective_bits = 8 : i64, min_bits = 4 : i64, max_bits = 8 : i64} : tensor<1x4xf32>
// CHECK: %wfc = qsim.constant "fc.weight" dense<1.250000e-01> : tensor<3x4xf32>
// CHECK-NEXT: %wfc.q = qsim.simulated_quantize %wfc {kind = "weight", dtype = i8, signed = true, effective_bits = 8 : i64, min_bits = 4 : i64, max_bits = 8 : i64, axis = 0 : i64} : tensor<3x4xf32>
// CHECK-NEXT: %fc = qsim.dense %flat.q, %wfc.q {{.*}} : (tensor<1x4xf32>, tensor<3x4xf32>) -> tensor<1x3xf32>
// CHECK-NEXT: %fc.q = qsim.simulated_quantize %fc {kind = "activation", dtype = i16, signed = true, effective_bits = 16 : i64, min_bits = 4 : i64, max_bits = 16 : i64, accumulator = i16, overflow = "wrap"} : tensor<1x3xf32>
// CHECK-NEXT: func.return %fc.q : tensor<1x3xf32>
