#!/usr/bin/env python
"""Stage 5: see focalflow/stages/convert_stations.py (``focalflow run 5`` does the same)."""
import sys

from focalflow.commands import stage_main

if __name__ == "__main__":
    sys.exit(stage_main("5_convert_stations"))
