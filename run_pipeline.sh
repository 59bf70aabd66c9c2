#!/usr/bin/env bash
# Run the six focalflow stages in order; stop at the first stage that fails.
# Usage: bash run_pipeline.sh [CONFIG] [extra arguments passed to every stage]
set -euo pipefail
cd "$(dirname "$0")"
config="${1:-config.yaml}"
shift || true
python="${PYTHON:-python}"
[ -x .venv/bin/python ] && [ -z "${PYTHON:-}" ] && python=.venv/bin/python
for stage in 1_get_waveforms 2_mseed2sac 3_convert_phases 4_polarity_predict 5_convert_stations 6_run_hash; do
    echo "=== $stage ==="
    if ! "$python" "$stage.py" --config "$config" "$@"; then
        echo "run_pipeline: stage $stage failed; later stages not run" >&2
        exit 1
    fi
done
