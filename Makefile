# hago: the two entry points of the README.
#   make example  - set up, then run the main job on the bundled Fashion-MNIST CNN
#   make test     - set up, then run the whole test suite (lit + FileCheck, then pytest)
# Both create .venv on first use, from pyproject.toml's pinned dependencies.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
OUT := out/fashion_cnn

.PHONY: example test lit pytest setup clean

setup: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

example: $(STAMP)
	@mkdir -p $(OUT)
	@echo "== hago-opt: import examples/fashion_cnn/model.onnx and canonicalize it"
	$(BIN)/hago-opt examples/fashion_cnn/model.onnx -p hago-canonicalize -o $(OUT)/model.mlir
	@grep -v 'qsim.constant' $(OUT)/model.mlir | cut -c1-160
	@echo "== reference interpreter next to onnxruntime, on 200 Fashion-MNIST test images"
	$(BIN)/python examples/compare_with_onnxruntime.py $(OUT)/model.mlir examples/fashion_cnn/model.onnx examples/fashion_cnn/test.npz --samples 200

lit: $(STAMP)
	$(BIN)/lit -sv test/filecheck

pytest: $(STAMP)
	$(BIN)/python -m pytest -q test/pytest

test: lit pytest

clean:
	rm -rf out test/filecheck/Output test/Output
