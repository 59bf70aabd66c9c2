"""focalflow: from seismic waveforms to earthquake focal mechanisms.

The pipeline library behind the six stage scripts and the ``focalflow`` command
(:mod:`focalflow.commands`). The Python API (:mod:`focalflow.api`), imported on first use so
that ``import focalflow`` stays fast:

- ``focalflow.solve(polarity, takeoff_deg, azimuth_deg, ...)`` or
  ``focalflow.solve(observations=..., events=..., velocity_models=...)``: focal mechanisms by
  HASH's method, as tables (:class:`focalflow.api.Mechanisms`);
- ``focalflow.read_mechanisms(path)``: a mechanism catalog (mechanisms.xml/.csv, SKHASH
  out.csv, ``id lat lon depth strike dip rake`` text) as an ObsPy ``Catalog``;
- ``focalflow.read_phases(path)``: events and picks (Hypoinverse-2000, QuakeML, CSV) as an
  ObsPy ``Catalog``;
- ``focalflow.load_config(path)``: a validated ``config.yaml``.
"""
import importlib

__version__ = "0.1.0"

_API = {"solve": "focalflow.api", "Mechanisms": "focalflow.api",
        "read_mechanisms": "focalflow.api", "read_phases": "focalflow.api",
        "load_config": "focalflow.config"}
__all__ = ["__version__", *_API]


def __getattr__(name: str):
    if name in _API:
        return getattr(importlib.import_module(_API[name]), name)
    raise AttributeError(f"module 'focalflow' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_API))
