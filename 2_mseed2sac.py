#!/usr/bin/env python
"""Stage 2: see focalflow/stages/mseed2sac.py."""
import sys

from focalflow.cli import main
from focalflow.stages import mseed2sac

if __name__ == "__main__":
    sys.exit(main("2_mseed2sac", mseed2sac.__doc__, mseed2sac.run))
