#!/bin/sh
# Makes .venv-nncf: NNCF (a peer in benchmarks/peer_benchmark.py) with onnx,
# onnxruntime and numpy pinned to hago's versions. NNCF stays out of hago's
# own environment.
set -e
cd "$(dirname "$0")/.."
python3 -m venv .venv-nncf
.venv-nncf/bin/pip install --quiet nncf==3.4.0 onnx==1.23.2 onnxruntime==1.32.0 numpy==2.4.6
.venv-nncf/bin/python -c "import nncf; print('nncf', nncf.__version__)"
