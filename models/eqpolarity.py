"""EQpolarity (Chen et al., 2024, IEEE TGRS 62:5917411): a compact convolutional transformer
for P first motions.

Input: 600 samples of the vertical component at **100 Hz** (6 s), the pick at sample 299,
divided by the window's largest absolute value (one channel). This is the input of the
published SCSN and Texas models; the authors' ToC2ME transfer-learning model was fed 600 samples
of the 500 Hz borehole traces instead (1.2 s, same pick sample): use it with
``polarity.input_rate_hz: 500``.

Network (:func:`build_network`, 3,086,401 parameters, ~12 MB of weights):

* tokenizer: two Conv1D layers of 200 filters (kernel 4, no bias, ReLU), each followed by
  max-pooling (size 3, stride 2): 600 samples -> 150 tokens of 200 features, no positional
  embedding;
* four transformer blocks: layer normalisation, 4-head self-attention (key size 200,
  attention dropout 0.2), residual; layer normalisation, two GELU dense layers of 200 (dropout
  0.2), residual; both residual branches with stochastic depth (drop rate rising 0 -> 0.1 over
  the blocks, training only);
* layer normalisation, flatten, dropout 0.2, one sigmoid unit.

Output: the probability that the first motion **on the recorded trace is down** (the authors'
class 1; class 0 is up). So ``prob_down`` is the output, ``prob_up`` its complement and
``prob_undecided`` 0: the network always takes a side, and only ``polarity.min_confidence``
above 0.5 turns weak calls into 0.

Published weights (``best_weigths_Binary_*.h5``, written by Keras 2's ``save_weights``) load
layer by layer in order; Keras 3 ``.weights.h5`` files load by layer path, which is why the
layer classes and names here follow the published model's (``CCTTokenizer1`` with its
``conv_model``, ``layer_normalization``, ``multi_head_attention``, ``dense``...). The weights
are not shipped: give their path as ``polarity.weights`` (``polarity.model: eqpolarity``).
"""
from __future__ import annotations

from typing import Any

import keras
import numpy as np
from keras import layers

from models.base import PolarityModel

TOKENS_DIM = 200
HEADS = 4
BLOCKS = 4
DROPOUT = 0.2
STOCHASTIC_DEPTH = 0.1
LAYER_NORM_EPSILON = 1e-5


class EQPolarity(PolarityModel):
    """The EQpolarity network; see the module docstring for inputs, layers and output."""

    name = "eqpolarity"
    sampling_rate_hz = 100.0
    window_samples = 600
    pick_sample = 299
    input_channels = 1
    max_batch_size = 256  # attention over 150 tokens: ~1 GB of activations per 1,000 traces

    def new_network(self):
        return build_network(self.window_samples)

    def build_inputs(self, windows: np.ndarray) -> np.ndarray:
        peak = np.abs(windows).max(axis=1, keepdims=True)
        return (windows / np.where(peak > 0, peak, 1.0))[..., None].astype(np.float32)

    def decode_outputs(self, outputs: Any) -> dict[str, np.ndarray]:
        down = np.asarray(outputs, dtype=np.float64).reshape(-1)
        return {"prob_up": 1.0 - down, "prob_down": down, "prob_undecided": np.zeros_like(down)}

    def check_network(self, network) -> str | None:
        shape = tuple(network.outputs[0].shape[1:]) if getattr(network, "outputs", None) else None
        return None if shape == (1,) else f"network output shape {shape} is not one sigmoid unit"

    def training_targets(self, polarity, clarity):
        polarity = np.asarray(polarity)
        return (polarity < 0).astype(np.float32), polarity != 0

    def training_loss(self, clarity_weight: float) -> dict:
        return {"loss": "binary_crossentropy", "metrics": ["accuracy"]}


def build_network(window_samples: int = 600):
    """The EQpolarity Keras network (module docstring) for windows of ``window_samples``."""
    inputs = keras.Input((window_samples, 1), name="input")
    tokens = CCTTokenizer1(name="cct_tokenizer1")(inputs)
    names = _LayerNames()
    for rate in np.linspace(0.0, STOCHASTIC_DEPTH, BLOCKS):
        x = layers.LayerNormalization(epsilon=LAYER_NORM_EPSILON,
                                      name=names("layer_normalization"))(tokens)
        x = layers.MultiHeadAttention(HEADS, TOKENS_DIM, dropout=DROPOUT,
                                      name=names("multi_head_attention"))(x, x)
        x = StochasticDepth(float(rate), name=names("stochastic_depth"))(x)
        attended = layers.Add(name=names("add"))([x, tokens])
        x = layers.LayerNormalization(epsilon=LAYER_NORM_EPSILON,
                                      name=names("layer_normalization"))(attended)
        for _ in range(2):
            x = layers.Dense(TOKENS_DIM, activation="gelu", name=names("dense"))(x)
            x = layers.Dropout(DROPOUT, name=names("dropout"))(x)
        x = StochasticDepth(float(rate), name=names("stochastic_depth"))(x)
        tokens = layers.Add(name=names("add"))([x, attended])
    x = layers.LayerNormalization(epsilon=LAYER_NORM_EPSILON,
                                  name=names("layer_normalization"))(tokens)
    x = layers.Flatten(name="flatten")(x)
    x = layers.Dropout(DROPOUT, name=names("dropout"))(x)
    down = layers.Dense(1, activation="sigmoid", name=names("dense"))(x)
    return keras.Model(inputs, down, name="eqpolarity")


class _LayerNames:
    """Keras's automatic layer names (``dense``, ``dense_1``...), given explicitly so that a
    network built twice in one process keeps the published model's names."""

    def __init__(self):
        self.used: dict[str, int] = {}

    def __call__(self, base: str) -> str:
        count = self.used.get(base, 0)
        self.used[base] = count + 1
        return base if count == 0 else f"{base}_{count}"


class CCTTokenizer1(keras.layers.Layer):
    """Two Conv1D (no bias, ReLU) + max-pooling stages turning the trace into tokens; the class
    and attribute names are those of the published weights files."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.conv_model = keras.Sequential()
        for _ in range(2):
            self.conv_model.add(layers.Conv1D(TOKENS_DIM, 4, 1, padding="same", use_bias=False,
                                              activation="relu", kernel_initializer="he_normal"))
            self.conv_model.add(layers.MaxPool1D(3, 2, "same"))

    def build(self, input_shape):
        self.conv_model.build(input_shape)

    def call(self, inputs):
        return self.conv_model(inputs)

    def compute_output_shape(self, input_shape):
        return self.conv_model.compute_output_shape(input_shape)


class StochasticDepth(keras.layers.Layer):
    """Drops a residual branch for a whole example with probability ``rate`` while training
    (scaling the kept ones by 1 / (1 - rate)); the identity at inference."""

    def __init__(self, rate: float, **kwargs):
        super().__init__(**kwargs)
        self.rate = rate
        self.seed = keras.random.SeedGenerator()

    def call(self, inputs, training=None):
        if not training or self.rate == 0:
            return inputs
        keep = 1.0 - self.rate
        shape = (keras.ops.shape(inputs)[0],) + (1,) * (len(inputs.shape) - 1)
        mask = keras.ops.floor(keep + keras.random.uniform(shape, seed=self.seed))
        return inputs * keras.ops.cast(mask / keep, inputs.dtype)

    def compute_output_shape(self, input_shape):
        return input_shape
