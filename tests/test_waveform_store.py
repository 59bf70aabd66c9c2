"""The waveform store's files: what is written is read back exactly, and a file that is not a
store file is an error naming it."""
import h5py
import numpy as np
import pytest

from focalflow.errors import InputError
from focalflow.waveforms.store import (WindowSet, read_sets, set_digest, windows_path,
                                       write_event_windows)


def p_and_s(rate_hz: float = 100.0) -> list[WindowSet]:
    rng = np.random.default_rng(3)
    rows = [{"network": "XB", "station": f"S{k}", "location": "", "channel": "HHZ",
             "rate_hz": rate_hz, "start_s": 1.5 * k, "pick_s": 1.5 * k + 2.0, "reversed": k == 1}
            for k in range(3)]
    samples = [rng.normal(size=400 + k) for k in range(3)]
    return [WindowSet.from_rows("P", rows, samples), WindowSet.from_rows("S", rows[:1], samples[:1])]


def test_sets_read_back_as_written_with_their_digests(tmp_path):
    written = p_and_s()
    path = write_event_windows(tmp_path, "ev1", written, {"origin": "2021-06-01T00:00:00Z"})
    assert path == windows_path(tmp_path, "ev1")

    read = read_sets(path)
    assert sorted(read) == ["P", "S"]
    for windows in written:
        assert read[windows.name].table.tobytes() == windows.table.tobytes()
        assert read[windows.name].data.tobytes() == windows.data.tobytes()
    assert read["P"].codes(1) == ("XB", "S1", "", "HHZ")
    assert list(read_sets(path, ["P", "Q"])) == ["P"]  # a set the file lacks is left out
    assert sorted(read_sets(path, [])) == ["P", "S"]  # no names: every set, as before
    assert set_digest(path, "P", "S") == f"{written[0].digest()}/{written[1].digest()}"
    assert set_digest(path, "Q") == "absent"
    assert set_digest(tmp_path / "missing.h5", "P") == "absent"


def test_a_file_that_is_not_a_store_file_is_an_error_naming_it(tmp_path):
    other = tmp_path / "other.h5"
    with h5py.File(other, "w") as handle:
        handle["P/data"] = np.zeros(3)
    with pytest.raises(InputError, match="other.h5: not a focalflow waveform store file"):
        read_sets(other)

    truncated = tmp_path / "truncated.h5"
    truncated.write_bytes(write_event_windows(tmp_path, "ev2", p_and_s()).read_bytes()[:600])
    with pytest.raises(InputError, match="truncated.h5: not a readable HDF5 file"):
        read_sets(truncated)
    with pytest.raises(InputError, match="missing.h5: waveform store file not found"):
        read_sets(tmp_path / "missing.h5")
