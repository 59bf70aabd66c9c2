#!/usr/bin/env python
"""Stage 3: see focalflow/stages/convert_phases.py."""
import sys

from focalflow.cli import main
from focalflow.stages import convert_phases

if __name__ == "__main__":
    sys.exit(main("3_convert_phases", convert_phases.__doc__, convert_phases.run))
