"""CNN first-motion polarity models of focalflow.

Each architecture is a :class:`models.base.PolarityModel` subclass owning its preprocessing,
weights loading and batched ``classify``; :func:`models.registry.load_model` turns a name from
the config (``focalflow-default``, ``diting-motion``) or a weights path into a ready model.
"""
import os

# TensorFlow's C++ start-up chatter (oneDNN, CPU features) is not for users; errors still show.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from models.base import PolarityModel, WeightsError

__all__ = ["PolarityModel", "WeightsError"]
