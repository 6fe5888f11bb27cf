// RUN: hago-opt %s | hago-opt | filecheck %s
// RUN: hago-opt %s --split-input-file --verify-diagnostics 2>&1 | filecheck %s --check-prefix=BUILTIN

// The built-in specs parse, verify and print back.

// CHECK: hwspec.spec "example" attributes {pow2_scales, symmetric} {
// CHECK-NEXT: hwspec.integer "conv2d" {inputs = [si8, si8], accumulator = si24, output = si24, overflow = "saturate"}
// CHECK-NEXT: hwspec.integer "relu" {inputs = [si8], output = si8}
// CHECK-NEXT: hwspec.float "softmax"
// CHECK-NEXT: }
// BUILTIN: hwspec.spec "example"
hwspec.spec "example" attributes {pow2_scales, symmetric} {
  hwspec.integer "conv2d" {inputs = [si8, si8], accumulator = si24, output = si24, overflow = "saturate"}
  hwspec.integer "relu" {inputs = [si8], output = si8}
  hwspec.float "softmax"
}
// RUN: hago-opt %S/../../../hago_ir/specs/x86-vnni.mlir | filecheck %s --check-prefix=SPEC-X86VNNI
// SPEC-X86VNNI: hwspec.spec "x86-vnni"
// RUN: hago-opt %S/../../../hago_ir/specs/x86-avx2.mlir | filecheck %s --check-prefix=SPEC-X86AVX2
// SPEC-X86AVX2: hwspec.spec "x86-avx2"
// RUN: hago-opt %S/../../../hago_ir/specs/arm-a72-i16.mlir | filecheck %s --check-prefix=SPEC-ARMA72I16
// SPEC-ARMA72I16: hwspec.spec "arm-a72-i16"
// RUN: hago-opt %S/../../../hago_ir/specs/cuda-dp4a.mlir | filecheck %s --check-prefix=SPEC-CUDADP4A
// SPEC-CUDADP4A: hwspec.spec "cuda-dp4a"
// RUN: hago-opt %S/../../../hago_ir/specs/accel-int24-pow2.mlir | filecheck %s --check-prefix=SPEC-ACCELINT24POW2
// SPEC-ACCELINT24POW2: hwspec.spec "accel-int24-pow2"
