"""Waveforms for stages 1-3: download (FDSN, SDS), assembly into ZNE SAC traces, window cutting."""
