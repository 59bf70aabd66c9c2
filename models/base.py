"""The interface every first-motion polarity model of focalflow implements.

A model class (SeisBench's style) owns its preprocessing, its weights loading and a batched
``classify``. The shared part lives here:

* :meth:`PolarityModel.preprocess` turns raw traces (any sampling rate) plus the pick's sample
  index into the network's input windows, and flags traces it refuses with a reason (no pick,
  NaN/inf, all zeros or constant, window runs off the trace, a gap = a run of
  ``GAP_ZERO_RUN`` exact zeros inside the window, a rate with no rational resampling factor);
* :meth:`PolarityModel.predict_inputs` runs the network on large batches through one
  ``tf.function`` on the chosen device;
* :meth:`PolarityModel.classify` does both and returns a table (one row per input trace);
  :meth:`PolarityModel.prepare` and :meth:`PolarityModel.classify_prepared` are its two halves.

A subclass sets the class attributes and implements two hooks::

    class MyNet(PolarityModel):
        name = "my-net"               # written in polarities.csv's ``model`` column
        sampling_rate_hz = 100.0      # rate the network expects
        window_samples = 128          # samples per input window
        pick_sample = 64              # index of the pick inside the window
        input_channels = 2

        def build_inputs(self, windows):   # (n, window_samples) f8 -> (n, window_samples, C) f4
            ...
        def decode_outputs(self, outputs): # raw network output of one batch -> dict of (n,) arrays
            return {"prob_up": ..., "prob_down": ..., "prob_undecided": ...,
                    # optional: "prob_impulsive", "prob_emergent", "prob_unclear"
                    }

and, when the weights file is not a whole saved Keras model, overrides :meth:`load_keras_model`
(e.g. build the architecture in code, then ``model.load_weights(path)``).

Preprocessing of the trace, in this order (the same at every input rate):

1. remove the mean and the linear trend of the whole trace, then a Hann taper over
   ``taper_fraction`` of its length at both ends (ObsPy's ``Trace.taper``; 5 % by default);
2. if the trace's rate differs from ``sampling_rate_hz``: resample as
   :func:`scipy.signal.resample_poly` does (rational factor up/down, denominator <= 1000) — its
   anti-alias low-pass is a linear-phase (symmetric) Kaiser-windowed FIR (beta 5, cut-off at
   the lower Nyquist frequency) whose delay is compensated, i.e. zero phase: an onset stays
   where it was; the pick's sample index is scaled by the rate ratio and rounded to the
   nearest sample. ``input_rate_hz`` (constructor, config ``polarity.input_rate_hz``) replaces
   the network's own rate here;
3. cut ``window_samples`` samples with the pick at ``pick_sample`` (shifted by ``shift``
   samples at the model's rate for test-time augmentation);
4. the subclass's :meth:`build_inputs` (normalisation, extra channels).

Steps 1-3 are one numba kernel (:mod:`models.kernels`) computing only the window's samples.

Conventions: ``polarity`` +1 up, -1 down, 0 undecided, as recorded on the trace (the stage
applies the station reversal table afterwards). Probabilities are in [0, 1]; for models with
independent sigmoid outputs they need not sum to 1.
"""
from __future__ import annotations

import abc
import copy
import functools
import logging
from fractions import Fraction
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import pandas as pd

from models.errors import ModelError, WeightsError, atomic_path

log = logging.getLogger("focalflow.models")

TAPER_FRACTION = 0.05

# Reasons a trace is refused by preprocess (also written to the failures table).
REASON_OFF_TRACE = "P window runs off the trace"
REASON_NOT_FINITE = "trace contains NaN or inf"
REASON_FLAT = "trace is all zeros or constant"
REASON_PICK = "pick time missing or not finite"
REASON_GAP = "P window contains a gap (a run of exact zeros)"
GAP_ZERO_RUN = 10


class PolarityModel(abc.ABC):
    """A first-motion polarity classifier working on single-component (vertical) traces.

    Create with ``Model(weights_path, device="auto")`` or ``Model().load(path)``;
    ``device`` is ``"auto"`` (a GPU when TensorFlow sees one), ``"cpu"`` or ``"gpu"`` (falls
    back to the CPU with a log line when no GPU is present). ``input_rate_hz`` resamples the
    traces to another rate than the one the network was trained at: the network then sees onsets
    stretched in time by ``input_rate_hz / sampling_rate_hz`` (e.g. DiTingMotion at 150 Hz on
    microseismic onsets of 10-30 Hz, which at 100 Hz span only ~2 samples per half-cycle).
    """

    name: str = "polarity-model"
    sampling_rate_hz: float = 100.0
    window_samples: int = 128
    pick_sample: int = 64
    input_channels: int = 1
    taper_fraction: float = TAPER_FRACTION
    max_batch_size: int = 1 << 20  # larger batches are split (memory of big networks)

    def __init__(self, weights_path: Path | str | None = None, device: str = "auto",
                 input_rate_hz: float | None = None):
        if input_rate_hz is not None:
            if not input_rate_hz > 0:
                raise ValueError(f"input_rate_hz must be positive, got {input_rate_hz!r}")
            self.sampling_rate_hz = float(input_rate_hz)
        self.device = select_device(device)
        self.weights_path: Path | None = None
        self.keras_model = None
        self._infer = None
        if weights_path is not None:
            self.load(weights_path)

    # ---------------------------------------------------------------- subclass hooks
    @abc.abstractmethod
    def build_inputs(self, windows: np.ndarray) -> np.ndarray:
        """Network inputs, float32 ``(n, window_samples, input_channels)``, from windows at the
        model's rate, float64 ``(n, window_samples)``, pick at ``pick_sample``, already
        demeaned/detrended/tapered as whole traces (step 1 of the module docstring)."""

    @abc.abstractmethod
    def decode_outputs(self, outputs: Any) -> dict[str, np.ndarray]:
        """Per-trace probabilities from one batch's raw network output (NumPy arrays or a dict of
        them): keys ``prob_up``, ``prob_down``, ``prob_undecided`` and optionally
        ``prob_impulsive``, ``prob_emergent``, ``prob_unclear``; each ``(n,)`` float."""

    def new_network(self):
        """The Keras network with freshly initialised weights, for architectures built in code
        (their weights files hold numbers only); None (default) when the weights file holds the
        whole model."""
        return None

    def load_keras_model(self, path: Path):
        """Load the network from ``path``: :meth:`new_network` then ``load_weights`` (Keras 3
        ``.weights.h5`` by layer path; Keras 2 ``.h5`` by layer order), or a whole saved Keras
        model (.h5/.hdf5/.keras) when the architecture is not built in code."""
        import keras

        network = self.new_network()
        if network is None:
            return keras.models.load_model(path, compile=False)
        network.load_weights(path)
        return network

    @classmethod
    def untrained(cls, seed: int = 0, device: str = "auto") -> "PolarityModel":
        """A model built in code with freshly initialised weights (deterministic for ``seed``),
        for training."""
        import keras

        keras.utils.set_random_seed(seed)
        model = cls(device=device)
        with model._device_scope():
            model.keras_model = model.new_network()
        if model.keras_model is None:
            raise ModelError(f"{cls.name}: the architecture is not built in code; it cannot be "
                             "trained from scratch here")
        return model

    def save(self, path: Path | str) -> Path:
        """Write the weights to ``path`` (``*.weights.h5``, Keras 3 format) atomically, without
        the optimizer's state (a compiled network would add it, tripling the file)."""
        path = Path(path)
        if not path.name.endswith(".weights.h5"):
            raise ModelError(f"{path}: weights files written here must end in .weights.h5")
        network = self.new_network()
        if network is None:
            raise ModelError(f"{self.name}: the architecture is not built in code; save the "
                             "whole Keras model instead")
        network.set_weights(self.keras_model.get_weights())
        with atomic_path(path, suffix=".weights.h5") as tmp:
            network.save_weights(tmp)
        self.weights_path = path
        return path

    # ---------------------------------------------------------------- training
    #: layers kept frozen when fine-tuning on analyst labels (which say nothing about them)
    frozen_when_finetuning: tuple[str, ...] = ()

    def training_targets(self, polarity: np.ndarray, clarity: np.ndarray
                         ) -> tuple[Any, np.ndarray]:
        """Keras targets for labels (``polarity`` +1/-1/0, ``clarity`` 0/1/2 as in
        :mod:`models.synthetic`) and the mask of rows the network can learn from."""
        raise ModelError(f"{self.name} cannot be trained by focalflow")

    def training_loss(self, clarity_weight: float) -> dict:
        """``loss``, ``loss_weights`` and ``metrics`` for ``keras.Model.compile``; the metric
        named ``accuracy`` is the polarity accuracy."""
        raise ModelError(f"{self.name} cannot be trained by focalflow")

    def _inference_function(self):
        """The network as one ``tf.function`` over float32 batches (traced once, then shared by
        the copies :meth:`at_input_rate` makes)."""
        if self._infer is None:
            import tensorflow as tf

            model = self.keras_model
            shape = (None, self.window_samples, self.input_channels)
            signature = [tf.TensorSpec(shape, tf.float32)]
            self._infer = tf.function(lambda x: model(x, training=False), input_signature=signature,
                                      autograph=False)
        return self._infer

    def at_input_rate(self, input_rate_hz: float | None) -> "PolarityModel":
        """This model (sharing its loaded network) with windows resampled to ``input_rate_hz``
        (None: the network's own rate); see the class docstring."""
        if self.keras_model is not None:
            self._inference_function()
        twin = copy.copy(self)
        twin.sampling_rate_hz = float(input_rate_hz) if input_rate_hz is not None \
            else type(self).sampling_rate_hz
        return twin

    def check_network(self, network) -> str | None:
        """A description of why a loaded network does not fit this class, or None if it fits."""
        return None

    # ---------------------------------------------------------------- weights
    def load(self, weights_path: Path | str) -> "PolarityModel":
        """Load weights; raise :class:`WeightsError` naming the file when it cannot be used."""
        path = Path(weights_path).expanduser()
        if not path.is_file():
            raise WeightsError(f"{path}: weights file not found")
        try:
            with self._device_scope():
                model = self.load_keras_model(path)
        except Exception as exc:  # h5py/keras raise many types for a damaged file
            raise WeightsError(f"{path}: cannot load {self.name} weights "
                               f"(corrupt or not a Keras model file): {type(exc).__name__}: {exc}"
                               ) from None
        expected = (self.window_samples, self.input_channels)
        shape = tuple(model.inputs[0].shape[1:]) if getattr(model, "inputs", None) else None
        if shape is not None and shape != expected:
            raise WeightsError(f"{path}: network input shape {shape} does not match {self.name}'s "
                               f"{expected} (wrong weights for this model?)")
        problem = self.check_network(model)
        if problem:
            raise WeightsError(f"{path}: {problem} (wrong weights for {self.name}?)")
        self.keras_model = model
        self.weights_path = path
        self._infer = None
        return self

    # ---------------------------------------------------------------- preprocessing
    def preprocess(self, traces: np.ndarray, pick_index: Sequence[float] | np.ndarray,
                   sampling_rate_hz: float, shift: int = 0
                   ) -> tuple[np.ndarray, np.ndarray, list[str]]:
        """Network inputs from traces of one sampling rate.

        Parameters
        ----------
        traces : ``(n, npts)`` array (or a sequence of equal-length 1-D arrays), raw counts or
            any unit; one vertical-component trace per row.
        pick_index : ``(n,)`` sample index of the P pick in each trace (fractional allowed),
            i.e. (pick time - trace start) * sampling_rate_hz.
        sampling_rate_hz : rate of all rows.
        shift : window offset in samples at the model's rate (positive: window starts later).

        Returns
        -------
        inputs : float32 ``(n, window_samples, input_channels)``; rows of refused traces are 0.
        valid : bool ``(n,)``.
        reasons : list of n strings, "" for valid rows.
        """
        windows, valid, reasons = self.cut_windows(traces, pick_index, sampling_rate_hz, shift)
        if valid.all():
            return np.asarray(self.build_inputs(windows), np.float32), valid, reasons
        inputs = np.zeros((len(windows), self.window_samples, self.input_channels), np.float32)
        if valid.any():
            inputs[valid] = self.build_inputs(windows[valid])
        return inputs, valid, reasons

    def cut_windows(self, traces, pick_index, sampling_rate_hz: float, shift: int = 0
                    ) -> tuple[np.ndarray, np.ndarray, list[str]]:
        """Steps 1-3 of the module docstring: ``(n, window_samples)`` float64 windows, the valid
        mask and the reasons (see :meth:`preprocess`)."""
        data = np.asarray(traces)
        if data.dtype not in (np.float32, np.float64):
            data = data.astype(np.float64)
        if data.ndim == 1:
            data = data[None, :]
        if data.ndim != 2:
            raise ValueError(f"traces must be a 2-D (n, npts) array, got shape {data.shape}")
        n, npts = data.shape
        picks = np.asarray(pick_index, dtype=np.float64).reshape(-1)
        if len(picks) != n:
            raise ValueError(f"{n} traces but {len(picks)} pick indices")
        windows = np.zeros((n, self.window_samples), np.float64)
        ratio = resampling_ratio(sampling_rate_hz, self.sampling_rate_hz)
        if ratio is None:
            reason = (f"sampling rate {sampling_rate_hz!r} Hz cannot be resampled to "
                      f"{self.sampling_rate_hz:g} Hz")
            return windows, np.zeros(n, bool), [reason] * n

        pick_ok = np.isfinite(picks)
        finite = np.isfinite(data).all(axis=1)
        if not finite.all():
            data = np.where(finite[:, None], data, 0.0)
        flat = (np.ptp(data, axis=1) == 0) if npts else np.ones(n, bool)
        start = np.round(np.where(pick_ok, picks, 0) * float(ratio)).astype(np.int64) \
            - self.pick_sample + int(shift)
        inside = (start >= 0) & (start + self.window_samples <= int(np.ceil(npts * float(ratio))))
        gap = self._zero_runs(data, start / float(ratio), pick_ok & inside, sampling_rate_hz)
        checks = [(~pick_ok, REASON_PICK), (~finite, REASON_NOT_FINITE), (flat, REASON_FLAT),
                  (~inside, REASON_OFF_TRACE), (gap, REASON_GAP)]
        reasons = [""] * n
        valid = np.ones(n, bool)
        for bad, reason in checks:
            for i in np.flatnonzero(bad & valid):
                reasons[i] = reason
            valid &= ~bad
        if not valid.any():
            return windows, valid, reasons

        from models.kernels import clean_resampled_windows

        every = valid.all()
        cut = clean_resampled_windows(
            data if every else data[valid], start[valid], hann_taper(npts, self.taper_fraction),
            resampling_taps(ratio), ratio.numerator, ratio.denominator, self.window_samples)
        if every:
            return cut, valid, reasons
        windows[valid] = cut
        return windows, valid, reasons

    def _zero_runs(self, data: np.ndarray, start: np.ndarray, rows: np.ndarray,
                   sampling_rate_hz: float) -> np.ndarray:
        """True for rows whose model window (at the trace's own rate) holds a run of
        ``GAP_ZERO_RUN`` or more exact zeros: a gap filled with zeros."""
        out = np.zeros(len(data), bool)
        span = int(np.ceil(self.window_samples * sampling_rate_hz / self.sampling_rate_hz)) + 1
        index = np.flatnonzero(rows)
        if not len(index) or span < GAP_ZERO_RUN:
            return out
        first = np.clip(np.floor(start[index]).astype(np.int64), 0, max(data.shape[1] - span, 0))
        zero = row_spans(data, index, first, span) == 0
        maybe = zero.sum(axis=1) >= GAP_ZERO_RUN
        if maybe.any():
            runs = np.lib.stride_tricks.sliding_window_view(zero[maybe], GAP_ZERO_RUN, axis=1)
            out[index[maybe]] = runs.all(axis=2).any(axis=1)
        return out

    # ---------------------------------------------------------------- inference
    def predict_inputs(self, inputs: np.ndarray, batch_size: int = 4096) -> dict[str, np.ndarray]:
        """Decoded probabilities for prepared inputs, running batches of ``batch_size`` (at most
        the class's ``max_batch_size``)."""
        batch_size = max(1, min(batch_size, self.max_batch_size))
        if self.keras_model is None:
            raise ModelError(f"{self.name}: no weights loaded (call load(path) first)")
        infer = self._inference_function()
        import tensorflow as tf

        parts: list[dict[str, np.ndarray]] = []
        with self._device_scope():
            for begin in range(0, len(inputs), batch_size):
                batch = tf.convert_to_tensor(inputs[begin:begin + batch_size], tf.float32)
                raw = tf.nest.map_structure(lambda t: t.numpy(), infer(batch))
                parts.append(self.decode_outputs(raw))
        if not parts:
            return {k: np.zeros(0) for k in ("prob_up", "prob_down", "prob_undecided")}
        return {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}

    def classify(self, traces, pick_index, sampling_rate_hz: float, batch_size: int = 4096,
                 min_confidence: float = 0.0, shifts: Sequence[int] = (0,)) -> pd.DataFrame:
        """Polarity of each trace; one row per input trace, in input order.

        Columns: ``polarity`` (+1/-1/0 as recorded), ``prob_up``, ``prob_down``,
        ``prob_undecided``, ``clarity`` ("I"/"E"/"x", "" when the model has no clarity output or
        the row is invalid), ``valid``, ``reason`` (why a row was refused). With several
        ``shifts`` (samples at the model's rate) the probabilities are averaged over shifted
        windows (test-time augmentation). The decision is the largest of up/down/undecided;
        a call whose max(prob_up, prob_down) is below ``min_confidence`` becomes 0.
        """
        prepared = self.prepare(traces, pick_index, sampling_rate_hz, shifts)
        return self.classify_prepared(prepared, batch_size, min_confidence)

    def prepare(self, traces, pick_index, sampling_rate_hz: float, shifts: Sequence[int] = (0,)
                ) -> tuple[list[np.ndarray], np.ndarray, list[str]]:
        """The first half of :meth:`classify` (NumPy only, no network): the inputs of each shift
        (see :meth:`preprocess`), the rows valid at every shift and the reasons of the others.
        Split off so that a caller can prepare the next traces while the network runs."""
        inputs: list[np.ndarray] = []
        valid = reasons = None
        for shift in shifts:
            shifted, ok, why = self.preprocess(traces, pick_index, sampling_rate_hz, shift)
            inputs.append(shifted)
            valid = ok if valid is None else valid & ok
            reasons = why if reasons is None else [r or w for r, w in zip(reasons, why)]
        return inputs, valid, reasons

    def classify_prepared(self, prepared: tuple[list[np.ndarray], np.ndarray, list[str]],
                          batch_size: int = 4096, min_confidence: float = 0.0) -> pd.DataFrame:
        """The second half of :meth:`classify`: the network on what :meth:`prepare` returned."""
        inputs, valid, reasons = prepared
        probs: dict[str, np.ndarray] | None = None
        for shifted in inputs:
            out = self.predict_inputs(shifted, batch_size)
            probs = out if probs is None else {k: probs[k] + out[k] for k in probs}
        probs = {k: v / len(inputs) for k, v in probs.items()}
        return decide(probs, valid, reasons, min_confidence)

    # ---------------------------------------------------------------- device
    def _device_scope(self):
        import tensorflow as tf

        return tf.device(self.device)

    def __repr__(self) -> str:
        return (f"{type(self).__name__}(name={self.name!r}, weights={self.weights_path}, "
                f"device={self.device!r}, rate={self.sampling_rate_hz:g} Hz)")


def decide(probs: dict[str, np.ndarray], valid: np.ndarray, reasons: list[str],
           min_confidence: float = 0.0) -> pd.DataFrame:
    """The per-trace table of :meth:`PolarityModel.classify` from averaged probabilities, kept
    in float32 (the networks' precision: the table then shows the numbers decided on, in 8
    digits, not 17)."""
    up, down, undecided = (np.asarray(probs[k], np.float32)
                           for k in ("prob_up", "prob_down", "prob_undecided"))
    best = np.argmax(np.stack([up, down, undecided]), axis=0)
    polarity = np.select([best == 0, best == 1], [1, -1], 0)
    polarity[np.maximum(up, down) < np.float32(min_confidence)] = 0
    polarity[~valid] = 0
    clarity = np.full(len(up), "", dtype=object)
    if "prob_impulsive" in probs:
        letters = np.array(["I", "E", "x"], dtype=object)
        clarity = letters[np.argmax(np.stack([probs["prob_impulsive"], probs["prob_emergent"],
                                              probs["prob_unclear"]]), axis=0)]
        clarity[~valid] = ""
    nan = np.where(valid, 1.0, np.nan).astype(np.float32)
    return pd.DataFrame({"polarity": polarity.astype(np.int64), "prob_up": up * nan,
                         "prob_down": down * nan, "prob_undecided": undecided * nan,
                         "clarity": clarity, "valid": valid, "reason": reasons})


def row_spans(data: np.ndarray, rows: np.ndarray, first: np.ndarray, width: int) -> np.ndarray:
    """``width`` samples of the rows ``rows`` (sorted indices) of ``data`` (n, npts), each from
    its sample ``first`` (>= 0; the last sample repeats past the end of the row): a slice when
    they all start at the same sample and fit (windows cut with the pick at a fixed offset, the
    usual case), else gathered."""
    npts = data.shape[1]
    if (first == first[0]).all() and first[0] + width <= npts:
        columns = slice(first[0], first[0] + width)
        return data[:, columns] if len(rows) == len(data) else data[rows, columns]
    return data[rows[:, None], np.minimum(first[:, None] + np.arange(width), npts - 1)]


@functools.lru_cache(maxsize=64)
def hann_taper(npts: int, fraction: float = TAPER_FRACTION) -> np.ndarray:
    """ObsPy's Hann taper window for ``npts`` samples (``fraction`` of the length at each side)."""
    wlen = int(np.floor(fraction * npts))
    taper = np.ones(npts)
    if wlen:
        size = 2 * wlen if 2 * wlen == npts else 2 * wlen + 1
        sides = np.hanning(size)
        taper[:wlen] = sides[:wlen]
        taper[npts - wlen:] = sides[len(sides) - wlen:]
    taper.flags.writeable = False  # cached: shared by every caller
    return taper


@functools.lru_cache(maxsize=64)
def resampling_taps(ratio: Fraction) -> np.ndarray:
    """The anti-alias FIR of :func:`scipy.signal.resample_poly` for ``ratio`` = up/down (its
    defaults: Kaiser window beta 5, cut-off at the lower Nyquist frequency, 20 * max(up, down)
    + 1 taps, centred), scaled by ``up``, its zeros exact; ``[1.0]`` when the rate does not
    change."""
    up, down = ratio.numerator, ratio.denominator
    if up == down:
        return np.ones(1)
    rate = max(up, down)
    # scipy.signal.firwin(20 * rate + 1, 1 / rate, window=("kaiser", 5.0)), written out: scipy's
    # signal module takes 1.5 s to import on its own, ~0.3 s of a stage-4 process after TensorFlow
    lags = np.arange(20 * rate + 1) - 10 * rate
    taps = np.sinc(lags / rate) * np.kaiser(len(lags), 5.0)
    taps *= up / taps.sum()
    taps[np.abs(taps) < 1e-12 * np.abs(taps).max()] = 0.0  # the sinc's zeros, up to rounding
    taps.flags.writeable = False
    return taps


def resampling_ratio(from_hz: float, to_hz: float) -> Fraction | None:
    """``to_hz / from_hz`` as a fraction with denominator <= 1000, or None when the rate is not
    positive and finite or no such fraction matches to 1e-6."""
    try:
        from_hz = float(from_hz)
    except (TypeError, ValueError):
        return None
    if not np.isfinite(from_hz) or from_hz <= 0:
        return None
    ratio = Fraction(to_hz / from_hz).limit_denominator(1000)
    if abs(float(ratio) * from_hz - to_hz) > 1e-6 * to_hz:
        return None
    return ratio


def select_device(device: str = "auto") -> str:
    """TensorFlow device name for ``"auto"``, ``"cpu"`` or ``"gpu"``; "gpu" without a GPU logs a
    line and uses the CPU."""
    if device not in ("auto", "cpu", "gpu"):
        raise ModelError(f"device must be auto, cpu or gpu, got {device!r}")
    if device == "cpu":
        return "/CPU:0"
    import tensorflow as tf

    if tf.config.list_physical_devices("GPU"):
        return "/GPU:0"
    if device == "gpu":
        log.warning("device: gpu requested but TensorFlow sees no GPU; running on the CPU")
    return "/CPU:0"
