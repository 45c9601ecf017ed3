"""Train the example model: a small CNN on scikit-learn's bundled 8x8 digits (offline, seeded).

    python models/digits/train.py            # writes digits.keras, train.npz, test.npz here

The split (75/25, stratified, random_state=0) and training are seeded, so a rerun on the same
TensorFlow version gives the same data files and a model of the same accuracy.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

HERE = Path(__file__).resolve().parent
SEED = 0


def load_split():
    import numpy as np
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    d = load_digits()
    x = (d.images / 16.0).astype(np.float32)[..., None]  # (N, 8, 8, 1) in [0, 1]
    y = d.target.astype(np.int64)
    return train_test_split(x, y, test_size=0.25, random_state=SEED, stratify=y)


def build_model():
    import keras
    from keras import layers

    return keras.Sequential(
        [
            keras.Input(shape=(8, 8, 1), name="image"),
            layers.Conv2D(8, 3, padding="same", activation="relu", name="conv1"),
            layers.Conv2D(16, 3, padding="same", activation="relu", name="conv2"),
            layers.MaxPooling2D(2, name="pool"),
            layers.Flatten(name="flatten"),
            layers.Dense(32, activation="relu", name="fc1"),
            layers.Dense(10, activation="softmax", name="logits"),
        ],
        name="digits_cnn",
    )


def main(out_dir: Path = HERE) -> float:
    import keras
    import numpy as np
    import tensorflow as tf

    keras.utils.set_random_seed(SEED)
    tf.config.experimental.enable_op_determinism()
    x_train, x_test, y_train, y_test = load_split()
    model = build_model()
    model.compile(optimizer=keras.optimizers.Adam(3e-3), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    model.fit(x_train, y_train, epochs=30, batch_size=32, verbose=0, shuffle=True)
    _, acc = model.evaluate(x_test, y_test, verbose=0)
    out_dir.mkdir(parents=True, exist_ok=True)
    model.save(out_dir / "digits.keras")
    np.savez(out_dir / "train.npz", x=x_train, y=y_train)
    np.savez(out_dir / "test.npz", x=x_test, y=y_test)
    print(f"float test accuracy: {acc:.4f} ({len(x_test)} samples) -> {out_dir}")
    return acc


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else HERE)
