"""Stage 4's library: read P windows fast, classify them in batches, apply the reversal table and
the analyst policy.

P windows are the ``P`` set of stage 3's windows file in the waveform store
(``store/windows/<event_id>.h5``, :mod:`focalflow.waveforms.store`: samples, window start and
pick in seconds after the origin), read as arrays, one file per event. Only the vertical
component is classified: the window whose channel ends in ``Z`` (the pick's own channel when
it names one). :func:`read_sac` reads a SAC file with NumPy alone (632-byte header + float32
samples), ~50x faster than ``obspy.read``, for labelled traces given as SAC files.

Polarity conventions: the network's call (``recorded_polarity``) and the analyst's
(``analyst_polarity``, from picks.csv U/D) are first motions *on the recorded trace*;
``p_polarity`` is true ground motion, i.e. flipped where the station's reversal table says the
station was reversed at the pick time.
"""
from __future__ import annotations

import logging
import struct
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from itertools import islice
from pathlib import Path
from typing import Iterable

import numpy as np
import pandas as pd

from focalflow.errors import InputError
from focalflow.waveforms.store import WindowSet, read_sets
from models.base import row_spans

log = logging.getLogger("focalflow.polarity.predict")

SAC_HEADER_BYTES = 632
SAC_UNDEFINED = -12345.0
SNR_SPAN_S = 0.5
CHUNK_PICKS = 1024
READ_AHEAD_CHUNKS = 4
ANALYST_CODES = {"U": 1, "+": 1, "C": 1, "D": -1, "-": -1}


@dataclass
class TraceWindow:
    """One trace around a pick: samples (float32, may be read-only), sample interval (s), begin
    ``b`` and pick ``a`` (s after a common reference time; NaN when unset)."""

    data: np.ndarray
    delta: float
    b: float
    a: float

    @property
    def sampling_rate_hz(self) -> float:
        return 1.0 / self.delta

    @property
    def pick_index(self) -> float:
        """Sample index of the pick ``a`` (fractional)."""
        return (self.a - self.b) / self.delta


def read_sac(path: Path | str) -> TraceWindow:
    """Read a binary SAC file (either byte order) with NumPy; raise :class:`InputError` naming the
    file when it is truncated or not SAC."""
    try:
        with open(path, "rb", buffering=0) as handle:
            raw = handle.readall()
    except OSError as exc:
        raise InputError(path, f"cannot read: {exc.strerror or exc}") from None
    if len(raw) < SAC_HEADER_BYTES:
        raise InputError(path, f"not a SAC file ({len(raw)} bytes, shorter than the "
                               "632-byte header)")
    for order in ("<", ">"):
        nvhdr, npts = struct.unpack_from(f"{order}i8xi", raw, 280 + 6 * 4)
        if 1 <= nvhdr <= 20:  # the header version (6 or 7)
            break
    else:
        raise InputError(path, "not a SAC file (header version unreadable in either byte order)")
    delta, b, a = struct.unpack_from(f"{order}f16xf8xf", raw, 0)  # header words 0, 5 and 8
    if npts < 0 or len(raw) < SAC_HEADER_BYTES + 4 * npts:
        raise InputError(path, f"truncated SAC file: header says {npts} samples, "
                               f"file holds {(len(raw) - SAC_HEADER_BYTES) // 4}")
    if not np.isfinite(delta) or delta <= 0:
        raise InputError(path, f"bad sample interval delta={delta} in the SAC header")
    data = np.frombuffer(raw, f"{order}f4", npts, SAC_HEADER_BYTES)
    return TraceWindow(data=data, delta=delta, b=b, a=np.nan if a == SAC_UNDEFINED else a)


def analyst_polarity(codes: Iterable[str]) -> np.ndarray:
    """+1/-1/0 from picks.csv polarity codes (U/D, also +/-, C for compression; blank: 0)."""
    values = codes.tolist() if hasattr(codes, "tolist") else codes  # pandas iterates slowly
    return np.array([ANALYST_CODES.get(str(c).strip().upper()[:1], 0) for c in values], np.int64)


def vertical_rows(windows: WindowSet | None, picks: list[tuple[str, str, str, str]],
                  where: str) -> tuple[list[int | None], list[str]]:
    """The row of the vertical P window of each pick (None plus a reason where there is none).

    ``windows``: one event's P windows (None: the event has none); ``picks``: the event's P
    picks as (network, station, location, channel); ``where`` names the file in reasons. A pick
    whose location has no window takes the station's window of another location (stage 3 cuts
    one instrument per station).
    """
    codes = windows.all_codes() if windows is not None else []
    exact = dict(zip(codes, range(len(codes))))
    by_station = verticals_of = None
    rows: list[int | None] = []
    reasons: list[str] = []
    for net, sta, loc, cha in picks:
        row = exact.get((net, sta, loc, cha)) if str(cha).endswith("Z") else None
        if row is not None:  # the usual case: the pick's own vertical channel was cut
            rows.append(row)
            reasons.append("")
            continue
        if by_station is None:
            by_station, verticals_of = _instruments(codes)
        locations = by_station.get((net, sta), {})
        # the pick's location, else the one stage 3 cut from (a pick often names none)
        location = loc if loc in locations else (min(locations) if locations else None)
        channels = locations.get(location, {})
        verticals = verticals_of.get(((net, sta), location), [])
        if cha in verticals:
            chosen = cha
        elif verticals:
            same_band = [c for c in verticals if c[:2] == str(cha)[:2]]
            chosen = (same_band or verticals)[0]
        else:
            rows.append(None)
            reasons.append(f"no P window (vertical component) in {where}" if not channels
                           else f"P window has no vertical component ({', '.join(sorted(channels))})")
            continue
        rows.append(channels[chosen])
        reasons.append("")
    return rows, reasons


def _instruments(codes: list[tuple[str, str, str, str]]) -> tuple[dict, dict]:
    """The rows of one event's windows (their ``codes``) by (network, station), location and
    channel, and the vertical channels of each (station, location), sorted."""
    by_station: dict[tuple[str, str], dict[str, dict[str, int]]] = {}
    for i, (network, station, location, channel) in enumerate(codes):
        by_station.setdefault((network, station), {}).setdefault(location, {})[channel] = i
    verticals_of = {(key, location): sorted(c for c in channels if c.endswith("Z"))
                    for key, locations in by_station.items()
                    for location, channels in locations.items()}
    return by_station, verticals_of


def snr(data: np.ndarray, pick_index: np.ndarray, sampling_rate_hz: float,
        span_s: float = SNR_SPAN_S) -> np.ndarray:
    """Amplitude signal-to-noise ratio of each row of ``data``: RMS over ``span_s`` after the pick
    over RMS over ``span_s`` before it (both about the noise mean), rounded to 0.01; NaN where a
    span runs off the trace."""
    data = np.asarray(data)
    n, npts = data.shape
    m = int(round(span_s * sampling_rate_hz))
    k = np.round(np.nan_to_num(np.asarray(pick_index, dtype=np.float64), nan=-1.0)).astype(np.int64)
    ok = (k - m >= 0) & (k + m <= npts) & (m >= 2)
    out = np.full(n, np.nan)
    if not ok.any():
        return out
    spans = row_spans(data, np.flatnonzero(ok), k[ok] - m, 2 * m).astype(np.float64)
    noise, signal = spans[:, :m], spans[:, m:]
    base = noise.mean(axis=1, keepdims=True)
    noise_rms = np.sqrt(np.mean((noise - base) ** 2, axis=1))
    signal_rms = np.sqrt(np.mean((signal - base) ** 2, axis=1))
    with np.errstate(divide="ignore", invalid="ignore"):
        out[ok] = np.where(noise_rms > 0, signal_rms / noise_rms, np.inf)
    return out.round(2)


PICK_KEYS = ["event_id", "network", "station", "location"]


@dataclass
class WindowGroup:
    """Windows of one sampling rate and length, as arrays: ``index`` (their positions in the
    list of picks or windows they come from), ``data`` (n, npts) samples, and (n,) each one's
    ``start_s`` and ``pick_s`` (s after a common reference time) and sample interval
    ``delta_s``."""

    sampling_rate_hz: float
    index: np.ndarray
    data: np.ndarray
    start_s: np.ndarray
    pick_s: np.ndarray
    delta_s: np.ndarray

    @property
    def pick_index(self) -> np.ndarray:
        """Sample index of each pick (fractional)."""
        return (self.pick_s - self.start_s) / self.delta_s


def group_windows(windows: list[TraceWindow | None]) -> list[WindowGroup]:
    """Windows (None: none) in groups of one rate and length."""
    members: dict[tuple[float, int], list[int]] = {}
    for i, window in enumerate(windows):
        if window is not None:
            members.setdefault((round(window.sampling_rate_hz, 4), len(window.data)), []).append(i)
    return [WindowGroup(rate, np.array(index), np.stack([windows[i].data for i in index]),
                        *(np.array([getattr(windows[i], key) for i in index], np.float64)
                          for key in ("b", "a", "delta")))
            for (rate, _), index in members.items()]


def read_p_window_groups(workdir, picks: pd.DataFrame) -> tuple[pd.DataFrame, list[WindowGroup]]:
    """The vertical P window of each P pick row: a frame (the pick's keys and time,
    ``channel`` = the window's channel, ``analyst_code`` = picks.csv's polarity, ``reason`` = why
    the window is unusable, "" if usable; rows in pick order) and the usable windows in groups
    of one rate and length (``index``: row of the frame), read as arrays."""
    columns = {c: picks[c].tolist() for c in PICK_KEYS + ["channel", "time", "polarity"]}
    keys = list(zip(*(columns[c] for c in ("network", "station", "location", "channel"))))
    by_event: dict[str, list[int]] = {}
    for i, event_id in enumerate(columns["event_id"]):
        by_event.setdefault(event_id, []).append(i)
    channels = list(columns["channel"])
    reasons = [""] * len(keys)
    pieces: dict[tuple[float, int], list[tuple]] = {}
    for event_id, rows in by_event.items():
        path = workdir.event_windows_file(event_id)
        try:
            p_windows = read_sets(path, ["P"]).get("P")
        except InputError as exc:
            for i in rows:
                reasons[i] = str(exc)
            continue
        chosen, why = vertical_rows(p_windows, [keys[i] for i in rows], str(path))
        found = [(i, row) for i, row in zip(rows, chosen) if row is not None]
        for i, reason in zip(rows, why):
            reasons[i] = reason
        if not found:
            continue
        position, row = (np.array(v, np.int64) for v in zip(*found))
        table = p_windows.table[row]
        picked = np.isfinite(table["pick_s"])
        codes = p_windows.all_codes()
        for i, r, ok in zip(position.tolist(), row.tolist(), picked.tolist()):
            channels[i] = codes[r][3]
            if not ok:
                reasons[i] = f"{path}: the P window of {'.'.join(codes[r])} has no pick"
        position, table = position[picked], table[picked]
        rates = np.round(table["rate_hz"], 4)
        for rate, npts in dict.fromkeys(zip(rates.tolist(), table["npts"].tolist())):
            same = (rates == rate) & (table["npts"] == npts)
            samples = p_windows.data[table["offset"][same, None] + np.arange(npts)]
            pieces.setdefault((rate, npts), []).append(
                (position[same], samples, table["start_s"][same], table["pick_s"][same],
                 1.0 / table["rate_hz"][same]))
    groups = [WindowGroup(rate, *(np.concatenate(part) for part in zip(*parts)))
              for (rate, _), parts in pieces.items()]
    columns["analyst_code"] = columns.pop("polarity")
    frame = pd.DataFrame({**columns, "channel": channels, "reason": reasons})
    return frame, groups


def read_p_windows(workdir, picks: pd.DataFrame) -> tuple[pd.DataFrame, list[TraceWindow | None]]:
    """:func:`read_p_window_groups` with the windows as a list (None where unusable)."""
    frame, groups = read_p_window_groups(workdir, picks)
    windows: list[TraceWindow | None] = [None] * len(frame)
    for group in groups:
        for k, i in enumerate(group.index.tolist()):
            windows[i] = TraceWindow(data=group.data[k], delta=float(group.delta_s[k]),
                                     b=float(group.start_s[k]), a=float(group.pick_s[k]))
    return frame, windows


def classify_windows(model, windows: list[TraceWindow | None], batch_size: int = 4096,
                     min_confidence: float = 0.0, shifts=(0,)) -> pd.DataFrame:
    """``model.classify`` over windows of mixed rates and lengths (grouped by both), in input
    order; None windows give invalid rows. Adds ``snr`` (see :func:`snr`)."""
    prepared = prepare_windows(model, group_windows(windows), len(windows), shifts)
    return classify_prepared_windows(model, prepared, batch_size, min_confidence)


@dataclass
class PreparedWindows:
    """Windows made ready for the network by :func:`prepare_windows`: ``groups`` holds, for each
    (rate, length) group, the group's positions in the input list, ``model.prepare``'s output
    and the windows' SNR."""

    count: int
    groups: list[tuple[np.ndarray, tuple, np.ndarray]]


def prepare_windows(model, groups: list[WindowGroup], count: int, shifts=(0,)) -> PreparedWindows:
    """The first half of :func:`classify_windows`: preprocess and SNR of each group of windows
    of a list of ``count`` (NumPy and numba only)."""
    prepared = []
    for group in groups:
        picks = group.pick_index
        prepared.append((group.index, model.prepare(group.data, picks, group.sampling_rate_hz,
                                                    shifts),
                         snr(group.data, picks, group.sampling_rate_hz)))
    return PreparedWindows(count, prepared)


def classify_prepared_windows(model, prepared: PreparedWindows, batch_size: int = 4096,
                              min_confidence: float = 0.0) -> pd.DataFrame:
    """The second half of :func:`classify_windows`: the network and the decisions."""
    n = prepared.count
    columns = {"polarity": np.zeros(n, np.int64), "prob_up": np.full(n, np.nan, np.float32),
               "prob_down": np.full(n, np.nan, np.float32),
               "prob_undecided": np.full(n, np.nan, np.float32),
               "clarity": np.full(n, "", object), "valid": np.zeros(n, bool),
               "reason": np.full(n, "", object), "snr": np.full(n, np.nan)}
    for index, inputs, ratios in prepared.groups:
        table = model.classify_prepared(inputs, batch_size, min_confidence)
        table["snr"] = ratios
        for name, values in columns.items():
            values[index] = table[name].to_numpy()
    return pd.DataFrame(columns)


def classify_p_windows(model, workdir, picks: pd.DataFrame, batch_size: int = 4096,
                       min_confidence: float = 0.0, shifts=(0,),
                       chunk_picks: int = CHUNK_PICKS) -> pd.DataFrame:
    """:func:`read_p_window_groups` then :func:`classify_windows`, ``chunk_picks`` picks at a time
    (network batches are at most ``chunk_picks``): a second thread reads and prepares up to
    ``READ_AHEAD_CHUNKS`` next chunks while the network runs on the current one (TensorFlow
    releases the GIL), so memory stays bounded whatever the number of picks. One row per pick,
    in pick order: the columns of both, with ``reason`` the first reason the pick is unusable
    ("" if usable). The calls do not depend on the chunking (on some CPUs the probabilities do,
    in their last float32 bits: the kernels round the last rows of a batch differently)."""
    def read_and_prepare(begin: int):
        frame, groups = read_p_window_groups(workdir, picks.iloc[begin:begin + chunk_picks])
        return frame, prepare_windows(model, groups, len(frame), shifts)

    starts = iter(range(0, max(len(picks), 1), chunk_picks))
    parts = []
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="read_p_windows") as reader:
        ahead = deque(reader.submit(read_and_prepare, begin)
                      for begin in islice(starts, READ_AHEAD_CHUNKS))
        while ahead:
            frame, prepared = ahead.popleft().result()
            ahead.extend(reader.submit(read_and_prepare, begin) for begin in islice(starts, 1))
            calls = classify_prepared_windows(model, prepared, batch_size, min_confidence)
            calls["reason"] = np.where(frame["reason"] != "", frame["reason"], calls["reason"])
            parts.append(pd.concat([frame.drop(columns="reason"), calls], axis=1))
    return pd.concat(parts, ignore_index=True)


def classify_shards(executor, polarity_config, workdir, picks: pd.DataFrame) -> pd.DataFrame:
    """:func:`classify_p_windows` through ``executor`` (:mod:`focalflow.parallel`: processes or
    a Dask cluster, whose workers read the store): the picks go in shards of whole batches
    (at least :data:`CHUNK_PICKS` picks), each worker loads the model once; rows in pick order,
    the same calls as in one process (see :func:`classify_p_windows`)."""
    size = max(int(polarity_config.batch_size), CHUNK_PICKS)
    shards = (picks.iloc[begin:begin + size] for begin in range(0, max(len(picks), 1), size))
    return pd.concat(list(executor.map(_classify_shard, shards, polarity_config, workdir)),
                     ignore_index=True)


def _classify_shard(picks: pd.DataFrame, polarity_config, workdir) -> pd.DataFrame:
    from focalflow.polarity.policy import load_configured_model

    model = load_configured_model(polarity_config)  # loaded once per worker (the registry keeps it)
    return classify_p_windows(model, workdir, picks, polarity_config.batch_size,
                              polarity_config.min_confidence, tuple(polarity_config.shift_samples))
