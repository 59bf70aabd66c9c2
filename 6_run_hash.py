#!/usr/bin/env python
"""Stage 6: focal mechanisms (HASH v1.2 method); see focalflow/stages/run_hash.py.

Also runs HASH v1.2 and SKHASH inputs without a config.yaml:
    python 6_run_hash.py --hash-inp example1.inp --driver 1 --out mechanisms.csv [--rng hash]
    python 6_run_hash.py --skhash-control control_file.txt --out mechanisms.csv
"""
import sys

from focalflow.commands import stage_main

if __name__ == "__main__":
    sys.exit(stage_main("6_run_hash"))
