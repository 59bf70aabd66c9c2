#!/usr/bin/env python
"""Stage 1: see focalflow/stages/get_waveforms.py (``focalflow run 1`` does the same)."""
import sys

from focalflow.commands import stage_main

if __name__ == "__main__":
    sys.exit(stage_main("1_get_waveforms"))
