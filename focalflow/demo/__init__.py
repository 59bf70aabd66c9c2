"""The offline synthetic demo with ground truth.

``python -m focalflow.demo [--out DIR] [--seed N]`` (or :func:`generate`) writes a small,
deterministic earthquake sequence where the default ``config.yaml`` expects it (``demo_data/``):
ten events with known strike/dip/rake (strike-slip, normal, reverse, oblique; M 1.5-3.5, 3-15 km
deep) recorded by 30 three-component stations (network FF) 5-100 km away, as an SDS archive of
100 Hz miniSEED, StationXML, a Hypoinverse-2000 phase file with analyst-like picks, a polarity
reversal table (station ST11 is wired backwards for a few days), ``truth.csv`` and
``truth_picks.csv``. Stations ST05 and ST18 record on HH1/HH2 at non-north azimuths; ST03, ST14
and ST26 are noisy. Rays come from ObsPy TauP on ``velocity/demo.txt``.
"""
from focalflow.demo.generator import generate

__all__ = ["generate"]
