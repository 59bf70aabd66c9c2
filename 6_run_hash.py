#!/usr/bin/env python
"""Stage 6: see focalflow/stages/run_hash.py."""
import sys

from focalflow.cli import main
from focalflow.stages import run_hash

if __name__ == "__main__":
    sys.exit(main("6_run_hash", run_hash.__doc__, run_hash.run))
