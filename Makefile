# User-facing targets. `make demo` and `make test` install what they need first (once).
PYTHON ?= python3
EDGEQ  ?= $(PYTHON) -m edgeq
OUT    ?= out
MODEL  ?= models/digits/digits.keras
CALIB  ?= models/digits/train.npz
DATA   ?= models/digits/test.npz
BOARD  ?= qemu-mps2-an386
TFLITE ?= $(OUT)/$(notdir $(basename $(MODEL))).tflite

.PHONY: setup demo test test-unit convert evaluate size-check generate flash-and-test bench clean

setup: .setup-stamp
.setup-stamp: pyproject.toml scripts/setup.sh
	bash scripts/setup.sh
	@touch $@

## demo: the whole chain on the example digits model (virtual board)
demo: setup
	$(MAKE) --no-print-directory convert evaluate

test: setup
	$(PYTHON) -m pytest -m "not hardware" -q

test-unit: setup
	$(PYTHON) -m pytest -m unit -q

convert: setup
	$(EDGEQ) convert $(MODEL) --calib $(CALIB) -o $(TFLITE)

evaluate: setup
	$(EDGEQ) evaluate $(MODEL) $(TFLITE) --data $(DATA) --max-drop 1

clean:
	rm -rf $(OUT) build .pytest_cache
