"""Quantize an ONNX model with NNCF (post-training, ONNX backend): a peer for benchmarks/peer_benchmark.py.

Runs in its own virtual environment, because NNCF brings dependencies hago
does not want (scripts/setup_nncf.sh makes `.venv-nncf` with onnx,
onnxruntime and numpy pinned to hago's versions):

    .venv-nncf/bin/python benchmarks/nncf_peer.py MODEL.onnx CALIB.npz OUT.onnx

Calibration uses every sample of CALIB.npz (the same samples hago and
onnxruntime's quantizer get); NNCF's defaults otherwise (symmetric int8,
per-channel weights, the performance preset).
"""

from __future__ import annotations

import sys

import numpy as np


def main() -> int:
    if len(sys.argv) != 4:
        print(__doc__, file=sys.stderr)
        return 2
    import nncf
    import onnx

    model_path, calib_path, out_path = sys.argv[1:]
    model = onnx.load(model_path)
    name = model.graph.input[0].name
    data = np.load(calib_path)
    samples = data[[k for k in data.files if k != "label"][0]].astype(np.float32)
    dataset = nncf.Dataset([samples[i : i + 1] for i in range(len(samples))], lambda item: {name: item})
    quantized = nncf.quantize(model, dataset, subset_size=len(samples))
    onnx.save(quantized, out_path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
