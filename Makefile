# hago: the two entry points of the README.
#   make example  - set up, then quantize the bundled Fashion-MNIST CNN end to end (hago quantize)
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
	@echo "== hago quantize: the bundled Fashion-MNIST CNN for the Cortex-A72's int16 accumulators"
	$(BIN)/hago quantize examples/fashion_cnn/model.onnx --spec arm-a72-i16 \
	  --calib examples/fashion_cnn/calib.npz --eval examples/fashion_cnn/test.npz \
	  --search random --budget 80 --target x86 --out $(OUT)

lit: $(STAMP)
	$(BIN)/lit -sv test/filecheck

pytest: $(STAMP)
	$(BIN)/python -m pytest -q test/pytest

test: lit pytest

clean:
	rm -rf out test/filecheck/Output test/Output
