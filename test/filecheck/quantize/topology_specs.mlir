// The same model under the five built-in specs: five different topologies.
// hago-topology records on each op whether it runs in integers and the dtypes
// its rule reads, accumulates in and writes (HAGO Algorithm 1).

// RUN: hago-opt %S/Inputs/small_cnn.mlir -p 'hago-topology{spec=x86-vnni}' | filecheck %s --check-prefix=X86VNNI
// X86VNNI: builtin.module attributes {hago.spec = "x86-vnni", hago.float32_requantize} {
// X86VNNI: %conv1 = qsim.conv2d %x, %w1, %b1 {hago.mode = "int", hago.inputs = [si8, si8], hago.output = si32, hago.accumulator = si32, hago.overflow = "wrap", hago.candidates = {{\[\[}}si8], [si8]]
// X86VNNI: %relu1 = qsim.relu %conv1 {hago.mode = "int", hago.inputs = [si8], hago.output = si8, hago.candidates = {{\[\[}}si8]]
// X86VNNI: %conv2 = qsim.conv2d %relu1, %w2 {hago.mode = "int", hago.inputs = [ui8, si8], hago.output = si32, hago.accumulator = si32, hago.overflow = "wrap", hago.candidates = {{\[\[}}ui8, si8], [si8]]
// X86VNNI: %sum = qsim.add %conv2, %relu1 {hago.mode = "int", hago.inputs = [si8, si8], hago.output = si8, hago.accumulator = si32, hago.candidates = {{\[\[}}si8], [si8]]
// X86VNNI: %pool = qsim.global_avg_pool2d %sum {hago.mode = "int", hago.inputs = [si8], hago.output = si8, hago.accumulator = si32, hago.candidates = {{\[\[}}si8]]
// X86VNNI: %flat = qsim.reshape %pool {hago.mode = "int", hago.inputs = [si8], hago.output = si8, hago.candidates = {{\[\[}}si8]]
// X86VNNI: %fc = qsim.dense %flat, %wfc {hago.mode = "int", hago.inputs = [si8, si8], hago.output = si32, hago.accumulator = si32, hago.overflow = "wrap", hago.candidates = {{\[\[}}si8], [si8]]

// RUN: hago-opt %S/Inputs/small_cnn.mlir -p 'hago-topology{spec=x86-avx2}' | filecheck %s --check-prefix=X86AVX2
// X86AVX2: builtin.module attributes {hago.spec = "x86-avx2", hago.float32_requantize} {
// X86AVX2: %conv1 = qsim.conv2d %x, %w1, %b1 {hago.mode = "int", hago.inputs = [si8, si8], hago.output = si32, hago.accumulator = si16, hago.overflow = "saturate", hago.candidates = {{\[\[}}si8], [si8]]
// X86AVX2: %relu1 = qsim.relu %conv1 {hago.mode = "int", hago.inputs = [si8], hago.output = si8, hago.candidates = {{\[\[}}si8]]
// X86AVX2: %conv2 = qsim.conv2d %relu1, %w2 {hago.mode = "int", hago.inputs = [ui8, si8], hago.output = si32, hago.accumulator = si16, hago.overflow = "saturate", hago.candidates = {{\[\[}}ui8, si8], [si8]]
// X86AVX2: %sum = qsim.add %conv2, %relu1 {hago.mode = "int", hago.inputs = [si8, si8], hago.output = si8, hago.accumulator = si32, hago.candidates = {{\[\[}}si8], [si8]]
// X86AVX2: %pool = qsim.global_avg_pool2d %sum {hago.mode = "int", hago.inputs = [si8], hago.output = si8, hago.accumulator = si32, hago.candidates = {{\[\[}}si8]]
// X86AVX2: %flat = qsim.reshape %pool {hago.mode = "int", hago.inputs = [si8], hago.output = si8, hago.candidates = {{\[\[}}si8]]
// X86AVX2: %fc = qsim.dense %flat, %wfc {hago.mode = "int", hago.inputs = [si8, si8], hago.output = si32, hago.accumulator = si16, hago.overflow = "saturate", hago.candidates = {{\[\[}}si8], [si8]]

// RUN: hago-opt %S/Inputs/small_cnn.mlir -p 'hago-topology{spec=arm-a72-i16}' | filecheck %s --check-prefix=ARMA72I16
// ARMA72I16: builtin.module attributes {hago.spec = "arm-a72-i16"} {
// ARMA72I16: %conv1 = qsim.conv2d %x, %w1, %b1 {hago.mode = "int", hago.inputs = [si8, si8], hago.output = si16, hago.accumulator = si16, hago.overflow = "wrap", hago.candidates = {{\[\[}}si8, si16], [si8, si16]]
// ARMA72I16: %relu1 = qsim.relu %conv1 {hago.mode = "int", hago.inputs = [si8], hago.output = si8, hago.candidates = {{\[\[}}si8]]
// ARMA72I16: %conv2 = qsim.conv2d %relu1, %w2 {hago.mode = "int", hago.inputs = [si8, si8], hago.output = si16, hago.accumulator = si16, hago.overflow = "wrap", hago.candidates = {{\[\[}}si8, si16], [si8, si16]]
// ARMA72I16: %sum = qsim.add %conv2, %relu1 {hago.mode = "int", hago.inputs = [si8, si8], hago.output = si8, hago.accumulator = si16, hago.candidates = {{\[\[}}si8], [si8]]
// ARMA72I16: %pool = qsim.global_avg_pool2d %sum {hago.mode = "int", hago.inputs = [si8], hago.output = si8, hago.accumulator = si32, hago.candidates = {{\[\[}}si8]]
// ARMA72I16: %flat = qsim.reshape %pool {hago.mode = "int", hago.inputs = [si8], hago.output = si8, hago.candidates = {{\[\[}}si8]]
// ARMA72I16: %fc = qsim.dense %flat, %wfc {hago.mode = "int", hago.inputs = [si8, si8], hago.output = si16, hago.accumulator = si16, hago.overflow = "wrap", hago.candidates = {{\[\[}}si8, si16], [si8, si16]]

// RUN: hago-opt %S/Inputs/small_cnn.mlir -p 'hago-topology{spec=cuda-dp4a}' | filecheck %s --check-prefix=CUDADP4A
// CUDADP4A: builtin.module attributes {hago.spec = "cuda-dp4a"} {
// CUDADP4A: %conv1 = qsim.conv2d %x, %w1, %b1 {hago.mode = "int", hago.inputs = [si8, si8], hago.output = si32, hago.accumulator = si32, hago.overflow = "wrap", hago.candidates = {{\[\[}}si8], [si8]]
// CUDADP4A: %relu1 = qsim.relu %conv1 {hago.mode = "int", hago.inputs = [si8], hago.output = si8, hago.candidates = {{\[\[}}si8]]
// CUDADP4A: %conv2 = qsim.conv2d %relu1, %w2 {hago.mode = "int", hago.inputs = [si8, si8], hago.output = si32, hago.accumulator = si32, hago.overflow = "wrap", hago.candidates = {{\[\[}}si8], [si8]]
// CUDADP4A: %sum = qsim.add %conv2, %relu1 {hago.mode = "int", hago.inputs = [si8, si8], hago.output = si8, hago.accumulator = si32, hago.candidates = {{\[\[}}si8], [si8]]
// CUDADP4A: %pool = qsim.global_avg_pool2d %sum {hago.mode = "int", hago.inputs = [si8], hago.output = si8, hago.accumulator = si32, hago.candidates = {{\[\[}}si8]]
// CUDADP4A: %flat = qsim.reshape %pool {hago.mode = "int", hago.inputs = [si8], hago.output = si8, hago.candidates = {{\[\[}}si8]]
// CUDADP4A: %fc = qsim.dense %flat, %wfc {hago.mode = "int", hago.inputs = [si8, si8], hago.output = si32, hago.accumulator = si32, hago.overflow = "wrap", hago.candidates = {{\[\[}}si8], [si8]]

// RUN: hago-opt %S/Inputs/small_cnn.mlir -p 'hago-topology{spec=accel-int24-pow2}' | filecheck %s --check-prefix=ACCELINT24POW2
// ACCELINT24POW2: builtin.module attributes {hago.spec = "accel-int24-pow2", hago.pow2_scales} {
// ACCELINT24POW2: %conv1 = qsim.conv2d %x, %w1, %b1 {hago.mode = "int", hago.inputs = [si8, si8], hago.output = si24, hago.accumulator = si24, hago.overflow = "saturate", hago.candidates = {{\[\[}}si8], [si8]]
// ACCELINT24POW2: %relu1 = qsim.relu %conv1 {hago.mode = "int", hago.inputs = [si8], hago.output = si8, hago.candidates = {{\[\[}}si8]]
// ACCELINT24POW2: %conv2 = qsim.conv2d %relu1, %w2 {hago.mode = "int", hago.inputs = [si8, si8], hago.output = si24, hago.accumulator = si24, hago.overflow = "saturate", hago.candidates = {{\[\[}}si8], [si8]]
// ACCELINT24POW2: %sum = qsim.add %conv2, %relu1 {hago.mode = "int", hago.inputs = [si8, si8], hago.output = si8, hago.accumulator = si24, hago.candidates = {{\[\[}}si8], [si8]]
// ACCELINT24POW2: %pool = qsim.global_avg_pool2d %sum {hago.mode = "int", hago.inputs = [si8], hago.output = si8, hago.accumulator = si24, hago.candidates = {{\[\[}}si8]]
// ACCELINT24POW2: %flat = qsim.reshape %pool {hago.mode = "int", hago.inputs = [si8], hago.output = si8, hago.candidates = {{\[\[}}si8]]
// ACCELINT24POW2: %fc = qsim.dense %flat, %wfc {hago.mode = "int", hago.inputs = [si8, si8], hago.output = si24, hago.accumulator = si24, hago.overflow = "saturate", hago.candidates = {{\[\[}}si8], [si8]]
