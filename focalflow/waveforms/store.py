"""The waveform store: one HDF5 file per event for its traces (stage 2) and one for its P and
S windows (stage 3), read by stages 3, 4 and 6 as NumPy arrays (no ObsPy objects, no file per
trace).

``store/traces/<event_id>.h5`` and ``store/windows/<event_id>.h5`` hold, for every trace or
window of the event, a row of a table and its samples. Layout (chosen by measurement, see the
README and ``bench/bench_store.py``): the samples of every trace of a set, one after the other,
in one float32 dataset ``<set>/data``; the table as one compound dataset ``<set>/table`` with a
row per trace:

============== ======================================================================
network ...    ``network``, ``station``, ``location``, ``channel`` (ASCII codes)
rate_hz        sampling rate (Hz)
start_s        time of the first sample, seconds after the event's origin time
npts, offset   number of samples and where they start in ``data``
pick_s         the window's pick (P or S), seconds after the origin (NaN for traces)
p_s, s_s       the station's analyst P and S picks (traces; NaN where none)
predicted      an S window placed from the P travel time (``phases.predict_s_from_p``)
reversed       the station's polarity is reversed at the pick (the reversal table)
station_lat... station latitude, longitude (degrees), elevation and sensor depth (m)
cmpaz, cmpinc  component azimuth and incidence (degrees; SAC's convention)
============== ======================================================================

The file's attributes give the event (``event_id``, ``origin`` ISO time, ``latitude``,
``longitude``, ``depth_km``, ``mag``) and, for windows, a content digest of each phase
(``digest_P``, ``digest_S``): stage 4 redoes an event's polarities only when its P windows
changed. Sets: ``traces`` in traces files; ``P`` and ``S`` in windows files. Files are
written whole to a temporary name and renamed; one that comes out identical to the existing
file is left untouched (HDF5 is written without timestamps, so equal content gives equal
bytes). SAC files are an export (``sac.write_files``).
"""
from __future__ import annotations

import contextlib
import functools
import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Sequence

import h5py
import numpy as np

from focalflow.errors import InputError
from focalflow.workdir import atomic_path, safe_name

CODE = "S16"
FIELDS = [("network", CODE), ("station", CODE), ("location", CODE), ("channel", CODE),
          ("rate_hz", "f8"), ("start_s", "f8"), ("npts", "i8"), ("offset", "i8"),
          ("pick_s", "f8"), ("p_s", "f8"), ("s_s", "f8"), ("predicted", "?"), ("reversed", "?"),
          ("station_lat", "f8"), ("station_lon", "f8"), ("station_elev_m", "f8"),
          ("station_depth_m", "f8"), ("cmpaz", "f8"), ("cmpinc", "f8")]
TABLE = np.dtype(FIELDS)
TEXT_FIELDS = ("network", "station", "location", "channel")
FORMAT = "focalflow-waveform-store-1"


@dataclass
class WindowSet:
    """Traces or windows of one event as arrays: ``table`` (one row per trace, dtype
    :data:`TABLE`) and their samples one after the other in ``data`` (float32)."""

    name: str
    table: np.ndarray
    data: np.ndarray
    _codes: list | None = field(default=None, init=False, repr=False, compare=False)
    _bounds: list | None = field(default=None, init=False, repr=False, compare=False)

    def __len__(self) -> int:
        return len(self.table)

    def samples(self, i: int) -> np.ndarray:
        """The samples of row ``i``."""
        if self._bounds is None:  # as Python numbers, once: readers ask for every row
            self._bounds = list(zip(self.table["offset"].tolist(),
                                    (self.table["offset"] + self.table["npts"]).tolist()))
        begin, end = self._bounds[i]
        return self.data[begin:end]

    def codes(self, i: int) -> tuple[str, str, str, str]:
        """(network, station, location, channel) of row ``i``."""
        return self.all_codes()[i]

    def all_codes(self) -> list[tuple[str, str, str, str]]:
        """(network, station, location, channel) of every row."""
        if self._codes is None:  # decoded once: readers ask for every row's codes
            self._codes = list(zip(*([code.decode() for code in self.table[f].tolist()]
                                     for f in TEXT_FIELDS)))
        return self._codes

    def column(self, name: str) -> np.ndarray:
        """A column (codes as ``str``)."""
        values = self.table[name]
        return values.astype(str) if name in TEXT_FIELDS else values

    def select(self, rows) -> "WindowSet":
        """The rows ``rows`` (indices or a mask), with their samples."""
        table = self.table[rows]
        pieces = [self.data[r["offset"]:r["offset"] + r["npts"]] for r in table]
        data = np.concatenate(pieces).astype(np.float32) if pieces else np.zeros(0, np.float32)
        table = table.copy()
        table["offset"] = np.concatenate([[0], np.cumsum(table["npts"])[:-1]]) if len(table) else []
        return WindowSet(self.name, table, data)

    def digest(self) -> str:
        """A digest of the table and samples."""
        return hashlib.sha256(self.table.tobytes() + self.data.tobytes()).hexdigest()[:16]

    @classmethod
    def from_rows(cls, name: str, rows: Sequence[dict], samples: Sequence[np.ndarray]) -> "WindowSet":
        """A set from row dicts (any :data:`TABLE` fields; others 0/NaN/False/"") and the
        rows' samples."""
        table = np.zeros(len(rows), TABLE)
        for column, kind in FIELDS:
            if kind == "f8":
                table[column] = np.nan
        for i, row in enumerate(rows):
            for key, value in row.items():
                table[i][key] = value.encode() if key in TEXT_FIELDS else value
        table["npts"] = [len(s) for s in samples]
        table["offset"] = np.concatenate([[0], np.cumsum(table["npts"])[:-1]]) if len(rows) else []
        data = (np.concatenate([np.asarray(s, np.float32) for s in samples]) if len(samples)
                else np.zeros(0, np.float32))
        return cls(name, table, data)

    @classmethod
    def from_arrays(cls, phase: str, network, station, location, channel, rate_hz,
                    start_s, pick_s, data: np.ndarray, **columns) -> "WindowSet":
        """A set of equal-length windows from columns and a (n, npts) array."""
        n = len(data)
        rows = [{"network": str(network[i]), "station": str(station[i]),
                 "location": str(location[i]), "channel": str(channel[i]),
                 "rate_hz": float(np.broadcast_to(rate_hz, n)[i]),
                 "start_s": float(np.broadcast_to(start_s, n)[i]),
                 "pick_s": float(np.broadcast_to(pick_s, n)[i]),
                 **{k: np.broadcast_to(v, n)[i] for k, v in columns.items()}}
                for i in range(n)]
        return cls.from_rows(phase, rows, list(data))


def concatenate_sets(name: str, sets: Sequence[WindowSet]) -> WindowSet:
    """One set of the rows of ``sets``, in order."""
    sets = [s for s in sets if len(s)]
    if not sets:
        return WindowSet.from_rows(name, [], [])
    table = np.concatenate([s.table for s in sets])
    table["offset"] = np.concatenate([[0], np.cumsum(table["npts"])[:-1]])
    return WindowSet(name, table, np.concatenate([s.data for s in sets]))


def traces_path(store_dir: Path | str, event_id: str) -> Path:
    return Path(store_dir) / "traces" / f"{safe_name(event_id)}.h5"


def windows_path(store_dir: Path | str, event_id: str) -> Path:
    return Path(store_dir) / "windows" / f"{safe_name(event_id)}.h5"


def write_sets(path: Path | str, sets: Iterable[WindowSet], attributes: dict,
               if_changed: bool = True) -> Path:
    """Write ``sets`` and the file ``attributes`` to ``path`` atomically (see the module
    docstring); with ``if_changed`` identical content leaves the file untouched. Files carry no
    timestamps: the same content always gives the same bytes."""
    path = Path(path)
    with atomic_path(path, if_changed) as tmp:
        with h5py.File(_create(tmp)) as handle:
            handle.attrs["format"] = FORMAT
            for key, value in attributes.items():
                handle.attrs[key] = value
            for windows in sets:
                group = h5py.Group(h5py.h5g.create(handle.id, windows.name.encode(),
                                                   gcpl=_untimed(h5py.h5p.GROUP_CREATE)))
                group.create_dataset("table", data=windows.table, track_times=False)
                group.create_dataset("data", data=windows.data, track_times=False)
                handle.attrs[f"digest_{windows.name}"] = windows.digest()
    return path


def _untimed(kind):
    """A creation property list of ``kind`` for objects without modification times."""
    plist = h5py.h5p.create(kind)
    plist.set_obj_track_times(False)
    return plist


def _create(path: Path):
    """A new HDF5 file without timestamps, readable by HDF5 1.8 and later."""
    access = h5py.h5p.create(h5py.h5p.FILE_ACCESS)
    access.set_libver_bounds(h5py.h5f.LIBVER_EARLIEST, h5py.h5f.LIBVER_V110)
    return h5py.h5f.create(str(path).encode(), h5py.h5f.ACC_TRUNC,
                           fcpl=_untimed(h5py.h5p.FILE_CREATE), fapl=access)


def write_event_windows(store_dir: Path | str, event_id: str, sets: Iterable[WindowSet],
                        attributes: dict | None = None, if_changed: bool = True) -> Path:
    """Write an event's windows file (``P`` and ``S`` sets)."""
    return write_sets(windows_path(store_dir, event_id), sets,
                      {"event_id": str(event_id), **(attributes or {})}, if_changed)


def read_sets(path: Path | str, names: Sequence[str] | None = None) -> dict[str, WindowSet]:
    """The sets of a store file (those in ``names`` when given; a set the file lacks is
    left out). InputError naming the file when it is missing or not a store file.

    Read through h5py's low-level API straight into the store's dtypes: half the time of
    ``h5py.File`` (0.48 against 0.93 ms per windows file with :func:`set_digest`), which
    counts when stage 4 opens one file per event of a catalog."""
    path = Path(path)
    with _opened(path) as fid:
        if _attribute(fid, "format") != FORMAT:
            raise InputError(path, "not a focalflow waveform store file")
        root = h5py.h5g.open(fid, b"/")
        wanted = names or [n.decode() for n in _links(root)]
        return {name: WindowSet(name, _read_array(fid, f"{name}/table", TABLE),
                                _read_array(fid, f"{name}/data", np.float32))
                for name in wanted if root.links.exists(name.encode())}


@contextlib.contextmanager
def _opened(path: Path):
    """The low-level HDF5 file id of ``path``, read-only; InputError when it cannot be."""
    try:
        fid = h5py.h5f.open(str(path).encode(), h5py.h5f.ACC_RDONLY)
    except FileNotFoundError:
        raise InputError(path, "waveform store file not found (has the stage that writes it "
                               "been run?)") from None
    except OSError as exc:
        raise InputError(path, f"not a readable HDF5 file ({exc})") from None
    try:
        yield fid
    except (OSError, KeyError) as exc:
        raise InputError(path, f"damaged waveform store file ({exc})") from None
    finally:
        fid.close()


def _links(group) -> list[bytes]:
    found: list[bytes] = []
    group.links.iterate(found.append)
    return found


def _attribute(fid, name: str):
    """A file attribute (str for text), or None when the file has none of that name."""
    if not h5py.h5a.exists(fid, name.encode()):
        return None
    attribute = h5py.h5a.open(fid, name.encode())
    value = np.empty(attribute.shape, attribute.dtype)
    attribute.read(value)
    value = value[()]
    return value.decode() if isinstance(value, bytes) else value


def _read_array(fid, name: str, dtype) -> np.ndarray:
    """A whole dataset as an array of the store's ``dtype`` (reading into it is twice as
    fast as letting h5py work the type out)."""
    dataset = h5py.h5d.open(fid, name.encode())
    out = np.empty(dataset.shape, dtype)
    if out.size:
        dataset.read(h5py.h5s.ALL, h5py.h5s.ALL, out, mtype=_memory_type(out.dtype))
    return out


@functools.lru_cache(maxsize=8)
def _memory_type(dtype: np.dtype):
    """The HDF5 type of ``dtype`` (made once: 0.25 ms for the table's compound type, half the
    time of reading a windows file)."""
    return h5py.h5t.py_create(dtype)


def read_attributes(path: Path | str) -> dict:
    """The file attributes of a store file (event, digests); {} when it is missing."""
    try:
        with h5py.File(path, "r") as handle:
            return dict(handle.attrs)
    except (FileNotFoundError, OSError):
        return {}


def set_digest(path: Path | str, *names: str) -> str:
    """The content digest of the sets ``names`` of a store file ("absent" for a set the file,
    or a file that does not exist, lacks)."""
    try:
        with _opened(Path(path)) as fid:
            digests = [_attribute(fid, f"digest_{name}") for name in names]
    except InputError:
        digests = [None] * len(names)
    return "/".join("absent" if digest is None else str(digest) for digest in digests)
