#!/usr/bin/env python
"""Stage 1: see focalflow/stages/get_waveforms.py."""
import sys

from focalflow.cli import main
from focalflow.stages import get_waveforms

if __name__ == "__main__":
    sys.exit(main("1_get_waveforms", get_waveforms.__doc__, get_waveforms.run))
