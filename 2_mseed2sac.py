#!/usr/bin/env python
"""Stage 2: see focalflow/stages/mseed2sac.py (``focalflow run 2`` does the same)."""
import sys

from focalflow.commands import stage_main

if __name__ == "__main__":
    sys.exit(stage_main("2_mseed2sac"))
