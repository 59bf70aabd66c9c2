#!/usr/bin/env python
"""Stage 4: see focalflow/stages/polarity_predict.py (``focalflow run 4`` does the same)."""
import sys

from focalflow.commands import stage_main

if __name__ == "__main__":
    sys.exit(stage_main("4_polarity_predict"))
