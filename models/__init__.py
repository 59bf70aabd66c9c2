"""CNN first-motion polarity models of focalflow.

Each architecture is a :class:`models.base.PolarityModel` subclass owning its preprocessing,
weights loading and batched ``classify``; :func:`models.registry.load_model` turns a name from
the config (``focalflow-default``, ``diting-motion``, ``eqpolarity``) or a weights path into a
ready model. This package never imports ``focalflow``; its errors are
:class:`models.errors.ModelError` (importing it is cheap: this file imports nothing heavy).
"""
import os

# TensorFlow's C++ start-up chatter (oneDNN, CPU features) is not for users; errors still show.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
