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

## demo: the whole chain on the example digits model, on a virtual Cortex-M4 (QEMU)
demo: setup
	$(MAKE) --no-print-directory convert evaluate size-check generate flash-and-test

test: setup
	$(PYTHON) -m pytest -m "not hardware and not long" -q --durations=40

test-unit: setup
	$(PYTHON) -m pytest -m unit -q

convert: setup
	$(EDGEQ) convert $(MODEL) --calib $(CALIB) -o $(TFLITE)

evaluate: setup
	$(EDGEQ) evaluate $(MODEL) $(TFLITE) --data $(DATA) --max-drop 1

size-check: setup
	$(EDGEQ) size-check $(TFLITE) --board $(BOARD)

generate: setup
	$(EDGEQ) generate $(TFLITE) -o $(OUT)/model_c --name model

flash-and-test: setup
	@test -f $(TFLITE) || $(MAKE) --no-print-directory convert
	$(EDGEQ) flash-and-test $(TFLITE) --float-model $(MODEL) --board $(BOARD) --data $(DATA) \
		--workdir $(OUT)/flash-and-test --max-drop 1

bench: setup
	$(PYTHON) bench/run.py

clean:
	rm -rf $(OUT) build .pytest_cache
