"""DiTingMotion (Zhao et al., 2023, Front. Earth Sci. 11:1103914): first-motion polarity and
onset clarity from 128 samples at 100 Hz.

Inputs (built by :meth:`DiTingMotion.build_inputs` from a window whose pick is sample 64):
channel 0 is the window minus its mean divided by its standard deviation; channel 1 is the sign
of the first difference of channel 0 for the samples after the pick (sample 65 onwards holds
``sign(x[k] - x[k-1])``; samples 0-64 are zero). Outputs: heads ``T0D0``..``T0D3`` give
up/down/undecided and ``T1D0``..``T1D3`` impulsive/emergent/unclear, each an independent sigmoid
over three classes; the model averages the four heads.

The published weights (``DiTingMotionJul.hdf5``, registry name ``diting-motion``) load with
``keras.models.load_model(path, compile=False)``; the network returns a dict of heads.
"""
from __future__ import annotations

import numpy as np

from models.base import PolarityModel

POLARITY_HEADS = ("T0D0", "T0D1", "T0D2", "T0D3")
CLARITY_HEADS = ("T1D0", "T1D1", "T1D2", "T1D3")


class DiTingMotion(PolarityModel):
    """The published DiTingMotion network; see the module docstring for inputs and outputs."""

    name = "diting-motion"
    sampling_rate_hz = 100.0
    window_samples = 128
    pick_sample = 64
    input_channels = 2
    taper_fraction = 0.001  # the authors' workflow tapers 0.1 % of the trace

    def build_inputs(self, windows: np.ndarray) -> np.ndarray:
        centred = windows - windows.mean(axis=1, keepdims=True)
        scale = centred.std(axis=1, keepdims=True)
        normalised = centred / np.where(scale > 0, scale, 1.0)
        inputs = np.zeros(windows.shape + (2,), np.float32)
        inputs[:, :, 0] = normalised
        after_pick = normalised[:, self.pick_sample:]
        inputs[:, self.pick_sample + 1:, 1] = np.sign(np.diff(after_pick, axis=1))
        return inputs

    def check_network(self, network) -> str | None:
        output = getattr(network, "output", None)
        names = set(output) if isinstance(output, dict) else set()
        missing = [h for h in POLARITY_HEADS + CLARITY_HEADS if h not in names]
        return f"network has no output head(s) {', '.join(missing)}" if missing else None

    def decode_outputs(self, outputs) -> dict[str, np.ndarray]:
        missing = [h for h in POLARITY_HEADS + CLARITY_HEADS if h not in outputs]
        if missing:
            raise ValueError(f"network output lacks head(s) {missing}; not DiTingMotion weights?")
        polarity = np.mean([outputs[h] for h in POLARITY_HEADS], axis=0).astype(np.float64)
        clarity = np.mean([outputs[h] for h in CLARITY_HEADS], axis=0).astype(np.float64)
        return {"prob_up": polarity[:, 0], "prob_down": polarity[:, 1],
                "prob_undecided": polarity[:, 2], "prob_impulsive": clarity[:, 0],
                "prob_emergent": clarity[:, 1], "prob_unclear": clarity[:, 2]}
