"""pytest setup: the ONNX fixtures in test/onnx_models.py are importable as `onnx_models`."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
