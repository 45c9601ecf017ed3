"""edgeq: Keras model → int8 TFLite → C for microcontrollers, with measured quantization cost."""

__version__ = "0.1.0"
