"""hago: hardware-aware automated post-training quantization on xDSL and TVM.

`hago_ir` holds the engines (layer 2 of ../DESIGN.md): the ONNX frontend, the
reference interpreter, numerics and the logic that passes bind to options.
`hago_ir.dialects`, `hago_ir.passes` and `hago_ir.tools` map to the top-level
`dialects/`, `passes/` and `tools/` folders.
"""

__version__ = "0.1.0"
