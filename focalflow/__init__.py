"""focalflow: from seismic waveforms to earthquake focal mechanisms.

The pipeline library behind the six stage scripts: configuration, working-directory tables,
file formats, waveform handling, the CNN polarity models' wiring and the HASH stage.
"""
__version__ = "0.1.0"
