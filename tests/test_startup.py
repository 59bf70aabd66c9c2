"""Start-up: HASH's and the models' kernels are compiled once per machine and found by every
later process; stages that do not classify never import TensorFlow, even run one after the
other in one process."""
from __future__ import annotations

import os
import subprocess
import sys

from conftest import demo_config_dict


def test_kernels_compile_once_and_are_found_by_a_new_process(tmp_path, repo_dir):
    from hash_core.compile import MESSAGE, compile_kernels, ensure_compiled, kernels_cached

    compile_kernels()  # a no-op cost when they are cached already
    said: list[str] = []
    assert kernels_cached() and ensure_compiled(said.append) is False and said == []
    probe = "from hash_core.compile import kernels_cached; print(kernels_cached())"
    fresh = subprocess.run([sys.executable, "-c", probe], cwd=repo_dir, capture_output=True,
                           text=True, timeout=300)
    assert fresh.stdout.strip() == "True"               # the cache beside the sources
    empty = subprocess.run([sys.executable, "-c", probe], cwd=repo_dir, capture_output=True,
                           text=True, timeout=300,
                           env={**os.environ, "NUMBA_CACHE_DIR": str(tmp_path)})
    assert empty.stdout.strip() == "False"              # a new machine: would say MESSAGE
    assert MESSAGE == "compiling kernels, once, ~30 s"


def test_preprocessing_kernels_compiled_at_set_up_serve_stage_4(tmp_path, repo_dir):
    """``python -m models.kernels`` caches the kernels for the very argument types stage 4
    passes (float32 store samples, float64 traces): a later process compiles nothing, nor
    imports scipy's signal module (over a second) to resample."""
    env = {**os.environ, "NUMBA_CACHE_DIR": str(tmp_path)}
    setup = subprocess.run([sys.executable, "-m", "models.kernels"], cwd=repo_dir, env=env,
                           capture_output=True, text=True, timeout=300)
    assert setup.returncode == 0 and "ready in" in setup.stdout, setup.stderr
    probe = ("import sys\nimport numpy as np\nfrom models import kernels\n"
             "from models.focalflow_net import FocalflowNet\n"
             "traces = np.random.default_rng(0).normal(size=(3, 400))\n"
             "for data in (traces.astype(np.float32), traces):\n"
             "    FocalflowNet().preprocess(data, [200.0] * 3, 100.0)\n"
             "print(sum(sum(k.stats.cache_misses.values()) for k in "
             "(kernels.clean_resampled_windows, kernels.noise_scaled_inputs)), "
             "'scipy.signal' in sys.modules)\n")
    later = subprocess.run([sys.executable, "-c", probe], cwd=repo_dir, env=env,
                           capture_output=True, text=True, timeout=300)
    assert later.stdout.strip() == "0 False", later.stderr


def test_stages_that_do_not_classify_never_import_tensorflow(demo_dir, tmp_path, repo_dir):
    import yaml

    settings = demo_config_dict(demo_dir, tmp_path / "work")
    settings["hash"]["polarity_source"] = "analyst"      # stage 6 without stage 4's table
    settings["figures"] = {"events": 2}
    config = tmp_path / "config.yaml"
    config.write_text(yaml.safe_dump(settings))
    code = ("import sys\nfrom focalflow.commands import stage_main\n"
            "for stage in ('1_get_waveforms', '2_mseed2sac', '3_convert_phases', "
            "'5_convert_stations', '6_run_hash'):\n"
            f"    assert stage_main(stage, ['--config', {str(config)!r}, '--events', "
            "'60000001,60000002']) == 0, stage\n"
            "print('TF:', 'tensorflow' in sys.modules, 'keras' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", code], cwd=repo_dir, capture_output=True,
                          text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.strip().splitlines()[-1] == "TF: False False"
    assert (tmp_path / "work" / "mechanisms.csv").is_file()
