#!/usr/bin/env python
"""Stage 5: see focalflow/stages/convert_stations.py."""
import sys

from focalflow.cli import main
from focalflow.stages import convert_stations

if __name__ == "__main__":
    sys.exit(main("5_convert_stations", convert_stations.__doc__, convert_stations.run))
