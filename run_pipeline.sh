#!/usr/bin/env bash
# Run the six focalflow stages in order, in one Python process (the libraries are imported
# once, not six times); stop at the first stage that fails. The files written are the same as
# running the six stage scripts one after the other.
# Usage: bash run_pipeline.sh [CONFIG] [--events ID[,ID...]] [--overwrite] [-v]
set -euo pipefail
cd "$(dirname "$0")"
config="${1:-config.yaml}"
shift || true
python="${PYTHON:-python}"
[ -x .venv/bin/python ] && [ -z "${PYTHON:-}" ] && python=.venv/bin/python
exec "$python" -m focalflow run --config "$config" "$@"
