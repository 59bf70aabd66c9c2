#!/usr/bin/env python
"""Stage 4: see focalflow/stages/polarity_predict.py."""
import sys

from focalflow.cli import main
from focalflow.stages import polarity_predict

if __name__ == "__main__":
    sys.exit(main("4_polarity_predict", polarity_predict.__doc__, polarity_predict.run))
