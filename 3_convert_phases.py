#!/usr/bin/env python
"""Stage 3: see focalflow/stages/convert_phases.py (``focalflow run 3`` does the same)."""
import sys

from focalflow.commands import stage_main

if __name__ == "__main__":
    sys.exit(stage_main("3_convert_phases"))
