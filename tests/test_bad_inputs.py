"""The bad-input corpus: what focalflow promises for every kind of bad input it may be given.

Each case is one small file ``tests/bad_inputs/<reader>/<name>.<ext>`` with ``<name>.expect``
beside it (YAML)::

    outcome: error     # error: the run stops with one clear line (exit 2)
                       # row: the item is skipped with a failures-table row, the batch goes on
                       # warning: the input is used (e.g. duplicates merged) and a warning says so
    match: 'line 3: .*' # a regular expression the message must contain
    why: ...            # what the case is about (issue number where it came from)

and, for some readers, options (``picks_file``, ``limits``). The one test below reads every case
through the entry point the pipeline uses for that input and checks the outcome; a case that
ends in any other exception (a traceback from inside a library) fails it. Error and row
messages must name the file (or, for an FDSN answer, the provider).
"""
from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import yaml

from focalflow.errors import FocalflowError

CORPUS = Path(__file__).parent / "bad_inputs"
CASES = sorted(CORPUS.glob("*/*.expect"))


@dataclass
class Outcome:
    kind: str                     # error, row, warning or accepted
    messages: list[str] = field(default_factory=list)


# Each reader reads one case as the pipeline does and returns the failure rows it gives
# (messages); errors are raised.


def read_config(path: Path, spec: dict) -> list[str]:
    from focalflow.config import load_config

    load_config(path)
    return []


def read_catalog(path: Path, spec: dict) -> list[str]:
    """Events and picks as stages 1-3 read them (``catalog.phase_file``)."""
    from focalflow.catalog import read_event_catalog
    from focalflow.config import CatalogConfig

    picks_file = path.parent / spec["picks_file"] if "picks_file" in spec else None
    if spec.get("picks_case"):  # the case is the picks table; the events table is shared
        path, picks_file = path.parent / spec["events_file"], path
    catalog = CatalogConfig(phase_file=path, format=spec.get("format", "auto"),
                            picks_file=picks_file)
    _events, _picks, problems = read_event_catalog(catalog)
    return [str(p) for p in problems]


def read_sac_catalog(path: Path, spec: dict) -> list[str]:
    """A SAC file in an event folder read as the catalog (``catalog.format: sac_headers``)."""
    import shutil
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        event = Path(folder) / "20200501100000"
        event.mkdir()
        shutil.copy(path, event / path.name)
        rows = read_catalog(Path(folder), {"format": "sac_headers"})
    return [f"{path.name} in an event folder: {row}" for row in rows]


def read_stationxml(path: Path, spec: dict) -> list[str]:
    from focalflow.formats.stationxml import read_stationxml

    read_stationxml(path)
    return []


def read_station_list(path: Path, spec: dict) -> list[str]:
    """A file of ``stations.station_files``, as stages 2 and 5 read it."""
    from focalflow.formats.station_lists import read_station_list

    _table, problems = read_station_list(path)
    return [str(p) for p in problems]


def read_velocity(path: Path, spec: dict) -> list[str]:
    from focalflow.formats.velocity import read_velocity_model

    read_velocity_model(path)
    return []


def read_reversals(path: Path, spec: dict) -> list[str]:
    from focalflow.formats.reversals import read_reversals

    read_reversals(path)
    return []


def read_waveform(path: Path, spec: dict) -> list[str]:
    """A miniSEED file of ``mseed/<event>/`` as stage 2 reads one channel: rejected -> row."""
    from focalflow.config import SacConfig
    from focalflow.waveforms.assemble import TraceRejected, merge_gaps, read_checked_mseed

    sac = SacConfig()
    try:
        merge_gaps(read_checked_mseed(path), sac.gap_policy, sac.max_gap_s, sac.gap_fill)
    except TraceRejected as exc:
        return [f"{path.name}: {exc}"]
    return []


def read_sac_window(path: Path, spec: dict) -> list[str]:
    """A SAC file of the user's waveform folder (``waveforms.source: files``): indexed as stage
    1 indexes it (an unreadable file is a warning), stored as stage 2 stores a trace, and cut
    around the P pick ``pick`` as stage 3 cuts windows (a window that cannot be cut is a row)."""
    import tempfile

    import pandas as pd
    from obspy import UTCDateTime

    from focalflow.config import PhasesConfig
    from focalflow.waveforms.assemble import ConvertedTrace, store_rows
    from focalflow.waveforms.files import file_entries, read_quietly
    from focalflow.waveforms.store import write_sets
    from focalflow.waveforms.windows import cut_event

    if not file_entries(path)[0]["format"]:
        return []
    event = {"event_id": "e1", "time": "2020-05-01T10:00:00.00Z", "latitude": 35.0,
             "longitude": -117.0, "depth": 5.0, "mag": 2.0}
    trace = read_quietly(path)[0]
    traces = store_rows([ConvertedTrace(trace, {"latitude": 35.1, "longitude": -117.1}, 0.0,
                                        0.0)], UTCDateTime(event["time"]), {})
    picks = pd.DataFrame([{"event_id": "e1", "network": "CI", "station": "CLC",
                           "location": "", "channel": "HHZ", "phase": "P",
                           "time": spec["pick"], "weight": 0}])
    with tempfile.TemporaryDirectory() as folder:
        traces_file, windows_file = Path(folder) / "traces.h5", Path(folder) / "windows.h5"
        write_sets(traces_file, [traces], {"event_id": "e1"})
        windows = cut_event(traces_file, windows_file, event, picks,
                            PhasesConfig(predict_s_from_p=False))
    return [f"{path.name} as {station}: {problem}" for station, problem in windows.failures]


def read_fdsn_answer(path: Path, spec: dict) -> list[str]:
    """The station service answers the station query of stage 1 with the file's bytes (gzip
    encoded when the name ends in .gz): the request fails, which stage 1 records as a row."""
    from fdsn_server import Fault, FdsnTestServer
    from focalflow.config import FdsnConfig
    from focalflow.waveforms.download import DownloadError, FdsnSource
    from obspy import Inventory, Stream, UTCDateTime

    body = path.read_bytes()
    fault = Fault("body", "station", times=None, body=body,
                  content_type=spec.get("content_type", "application/xml"),
                  encoding="gzip" if path.suffix == ".gz" else None)
    config = FdsnConfig(timeout_s=2, retries=1, backoff_s=0.01, **spec.get("limits", {}))
    with FdsnTestServer(Stream(), Inventory(networks=[]), faults=[fault]) as server:
        source = FdsnSource(server.url, config)
        try:
            source.stations(35.0, -117.0, 100.0, UTCDateTime(2020, 1, 1),
                            UTCDateTime(2020, 1, 1, 0, 2), "HH?")
        except DownloadError as exc:
            return [f"{path.name} served by {server.url}: {exc}"]
    return []


READERS = {"config": read_config, "hypoinverse": read_catalog, "csv_catalog": read_catalog,
           "quakeml": read_catalog, "stationxml": read_stationxml,
           "station_list": read_station_list, "velocity": read_velocity,
           "reversals": read_reversals, "waveforms": read_waveform, "sac": read_sac_window,
           "sac_headers": read_sac_catalog,
           "fdsn_answer": read_fdsn_answer}


def case_file(expect: Path) -> Path:
    matches = [p for p in expect.parent.iterdir()
               if p.name.startswith(expect.stem + ".") and p.suffix != ".expect"]
    assert len(matches) == 1, f"{expect}: expected one case file beside it, found {matches}"
    return matches[0]


@pytest.mark.parametrize("expect", CASES, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_bad_input(expect, caplog):
    spec = yaml.safe_load(expect.read_text())
    path = case_file(expect)
    caplog.set_level(logging.WARNING)
    try:
        rows = READERS[expect.parent.name](path, spec)
    except FocalflowError as exc:
        outcome = Outcome("error", [str(exc)])
    else:
        warnings = [r.getMessage() for r in caplog.records
                    if r.levelno >= logging.WARNING and r.name.startswith("focalflow")]
        outcome = Outcome("row", rows) if rows else \
            Outcome("warning", warnings) if warnings else Outcome("accepted")
    assert outcome.kind == spec["outcome"], f"{spec['why']}: got {outcome}"
    assert any(re.search(spec["match"], m) for m in outcome.messages), \
        f"{spec['why']}: no message matches {spec['match']!r}: {outcome.messages}"
    if outcome.kind in ("error", "row"):
        assert any(path.name in m for m in outcome.messages), f"the file is not named: {outcome}"


def test_the_corpus_covers_every_reader_with_sixty_cases_or_more():
    kinds = {p.parent.name for p in CASES}
    assert kinds == set(READERS)
    assert len(CASES) >= 60
    outcomes = [yaml.safe_load(p.read_text())["outcome"] for p in CASES]
    assert {"error", "row", "warning"} <= set(outcomes)
