"""Code that runs inside TFX executors and the CLI: features, parsing, models, losses, metrics,
input pipeline, training loop, export and the Trainer/Transform entry points.

Importing a submodule sets TF_USE_LEGACY_KERAS=1 first, so TensorFlow's Keras is always tf_keras.
"""
import os

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
