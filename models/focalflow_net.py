"""FocalflowNet: the project's own first-motion polarity network (default weights shipped).

A small 1-D CNN on one vertical-component window of 256 samples at **200 Hz** (1.28 s, pick at
sample 128). 200 Hz rather than DiTingMotion's 100 Hz keeps 5-10 samples per half-cycle of the
10-40 Hz onsets of microseismic data, so the first motion survives resampling and a pick error of
a few samples; slower onsets (1-10 Hz) of local and regional earthquakes are simply upsampled.

Inputs (two channels, built from the window by :meth:`FocalflowNet.build_inputs`):

0. the window minus its pre-pick baseline, divided by its largest absolute value (shape of the
   whole arrival, in [-1, 1]);
1. the same window divided by ``NOISE_SCALE`` times the pre-pick noise level (at least 1 % of
   the peak) and squashed by ``tanh`` (where the trace leaves the noise and in which direction,
   even when the first half-cycle is small beside the later arrival).

The baseline and the noise level come from the first ``NOISE_SAMPLES`` samples (the window's
first 0.4 s, ending 0.24 s before the pick, so a late pick does not leak signal into them).

Outputs: two softmax heads, ``polarity`` (up, down, undecided) and ``clarity`` (impulsive,
emergent, unclear). Polarity is the first motion *on the recorded trace* (+1 up).

Weights are a Keras ``.weights.h5`` file; the architecture is built here in code
(:func:`build_network`), so the file holds numbers only. ``models/weights/`` ships the default
weights (see ``models/README.md`` for the training recipe and measured accuracy).
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from models.base import PolarityModel

WEIGHTS_DIR = Path(__file__).resolve().parent / "weights"
DEFAULT_WEIGHTS = WEIGHTS_DIR / "focalflow_polarity_v1.weights.h5"

NOISE_SAMPLES = 80
NOISE_SCALE = 4.0
POLARITY_CLASSES = ("up", "down", "undecided")
CLARITY_CLASSES = ("impulsive", "emergent", "unclear")


class FocalflowNet(PolarityModel):
    """The project's own polarity CNN (200 Hz, 256 samples, 2 input channels).

    ``FocalflowNet(weights_path)`` loads a ``.weights.h5`` file written by ``models.train`` or
    fine-tuning; ``FocalflowNet.untrained()`` gives randomly initialised weights (for training).
    """

    name = "focalflow-net"
    sampling_rate_hz = 200.0
    window_samples = 256
    pick_sample = 128
    input_channels = 2

    frozen_when_finetuning = ("clarity",)

    def new_network(self):
        return build_network(self.window_samples, self.input_channels)

    def training_targets(self, polarity, clarity):
        return ({"polarity": polarity_targets(polarity), "clarity": np.asarray(clarity)},
                np.ones(len(polarity), bool))

    def training_loss(self, clarity_weight: float) -> dict:
        return {"loss": {"polarity": "sparse_categorical_crossentropy",
                         "clarity": "sparse_categorical_crossentropy"},
                "loss_weights": {"polarity": 1.0, "clarity": clarity_weight},
                "metrics": {"polarity": ["accuracy"]}}

    def build_inputs(self, windows: np.ndarray) -> np.ndarray:
        return build_inputs(windows)

    def decode_outputs(self, outputs: Any) -> dict[str, np.ndarray]:
        polarity = np.asarray(outputs["polarity"], dtype=np.float64)
        clarity = np.asarray(outputs["clarity"], dtype=np.float64)
        return {"prob_up": polarity[:, 0], "prob_down": polarity[:, 1],
                "prob_undecided": polarity[:, 2], "prob_impulsive": clarity[:, 0],
                "prob_emergent": clarity[:, 1], "prob_unclear": clarity[:, 2]}


def polarity_targets(polarity: np.ndarray) -> np.ndarray:
    """Class index of the polarity head (0 up, 1 down, 2 undecided) from +1/-1/0."""
    return np.select([polarity > 0, polarity < 0], [0, 1], 2).astype(np.int64)


def build_inputs(windows: np.ndarray) -> np.ndarray:
    """The two input channels (float32 ``(n, 256, 2)``) from windows ``(n, 256)`` at 200 Hz.

    The noise level is the median absolute deviation (robust to a spike), floored at 1 % of the
    peak so that, at very high SNR, the tiny acausal ringing of anti-alias filters before a sharp
    onset is not blown up into a fake first motion (and a silent pre-pick does not divide by 0).
    """
    from models.kernels import noise_scaled_inputs

    inputs = noise_scaled_inputs(np.ascontiguousarray(windows, dtype=np.float64), NOISE_SAMPLES,
                                 NOISE_SCALE)
    np.tanh(inputs[..., 1], out=inputs[..., 1])  # float32 tanh: SIMD, 6x faster than float64's
    return inputs


def build_network(window_samples: int = 256, input_channels: int = 2):
    """The Keras network: 5 convolution blocks (ReLU, max-pooling) and a dense layer shared by
    the two softmax heads ``polarity`` and ``clarity``. About 90,000 parameters (~0.4 MB)."""
    import keras
    from keras import layers

    inputs = keras.Input((window_samples, input_channels), name="window")
    x = inputs
    for filters, kernel in ((16, 7), (32, 5), (32, 5), (64, 3), (64, 3)):
        x = layers.Conv1D(filters, kernel, padding="same", activation="relu")(x)
        x = layers.MaxPooling1D(2)(x)
    x = layers.Flatten()(x)
    x = layers.Dropout(0.2)(x)
    x = layers.Dense(64, activation="relu")(x)
    polarity = layers.Dense(len(POLARITY_CLASSES), activation="softmax", name="polarity")(x)
    clarity = layers.Dense(len(CLARITY_CLASSES), activation="softmax", name="clarity")(x)
    return keras.Model(inputs, {"polarity": polarity, "clarity": clarity}, name="focalflow_net")
