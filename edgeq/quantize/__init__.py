"""Keras → full-integer TFLite: loading, calibration, conversion, checks."""
