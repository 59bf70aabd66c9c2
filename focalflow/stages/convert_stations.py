"""Stage 5: station metadata to stations.csv, and the polarity-reversal table to reversals.csv.

Reads every StationXML file of ``stations.stationxml_dir`` (default: the working directory's
``stations/``, filled by stage 1), the lists in ``stations.station_files`` and the SAC-header
coordinates of the files index (``waveforms.source: files``) into ``stations.csv`` (one row
per channel epoch; stations with picks in ``picks.csv`` but no metadata get a row with
``has_metadata`` False and a failures-table row; see :mod:`focalflow.stations`). The reversal
table (``stations.reversals_file``: CSV or HASH scsn.reverse; with ``stations.reversed: all``
one more line reversing every station) is copied to ``reversals.csv`` (empty when none is
configured). Unreadable files become failure rows; the rest goes on.

Each table is made again when its ``stations.*`` settings or a file it is read from changed
(StationXML files, station lists, the files index and picks.csv; the reversal file), else kept
and its failures reported again; ``--overwrite`` makes both again. A table with unchanged content is not
rewritten.
"""
from __future__ import annotations

import logging
from pathlib import Path

from focalflow.cli import StageContext
from focalflow.provenance import Ledger, RerunSummary, config_params, file_digests
from focalflow.stations import configured_reversals, station_table
from focalflow.tables import empty_table, read_table, write_table
from focalflow.waveforms.files import FileIndex

log = logging.getLogger("focalflow.convert_stations")
STAGE = "5_convert_stations"
STATION_PARAMS = ["stations.stationxml_dir", "stations.station_files", "stations.columns",
                  "stations.nonlinloc_elevation_unit"]


def run(ctx: StageContext) -> dict:
    config, workdir = ctx.config.stations, ctx.workdir
    xml_dir = Path(config.stationxml_dir or workdir.stationxml_dir)
    station_inputs = (sorted(xml_dir.glob("*.xml")) + [p for p in config.station_files if p.is_file()]
                      + [p for p in [workdir.picks_csv, workdir.files_index_csv] if p.is_file()])
    # a missing file is left to its reader, which names it
    reversal_inputs = [p for p in [config.reversals_file] if p is not None and p.is_file()]
    tables = {"stations.csv": (STATION_PARAMS, station_inputs, write_stations),
              "reversals.csv": (["stations.reversals_file", "stations.reversed"], reversal_inputs,
                                write_reversals)}
    ledger = Ledger(workdir, STAGE)
    rerun = RerunSummary("tables")
    for name, (keys, paths, write) in tables.items():
        params = config_params(ctx.config, keys)
        inputs = file_digests(workdir.root, paths)
        reason = ledger.why_redo(name, params, inputs, overwrite=ctx.overwrite)
        if reason is None:
            rerun.keep()
        else:
            problems: list[tuple[str, str]] = []
            write(ctx, lambda station, problem: problems.append((station, problem)))
            ledger.record(name, params, inputs, [name], problems)
            rerun.redo(f"{name}: {reason}")
        for station, problem in ledger.failures(name):
            ctx.failures.add(None, station, problem)
    ledger.save()
    log.info("%s", rerun)
    stations = read_table(workdir.stations_csv, "stations")
    has = stations["has_metadata"].astype(str) == "True"
    return {"channels": int(has.sum()),
            "stations": len(stations.loc[has, ["network", "station"]].drop_duplicates()),
            "without_metadata": int((~has).sum()),
            "reversals": len(read_table(workdir.reversals_csv, "reversals"))}


def write_stations(ctx: StageContext, report) -> None:
    config, workdir = ctx.config.stations, ctx.workdir
    picks = read_table(workdir.picks_csv, "picks") if workdir.picks_csv.is_file() else None
    index = workdir.files_index_csv
    headers = (FileIndex.read(index).header_stations()
               if ctx.config.waveforms.source == "files" and index.is_file() else None)
    stations = station_table(Path(config.stationxml_dir or workdir.stationxml_dir),
                             config.station_files, config.nonlinloc_elevation_unit, picks, report,
                             config.columns, headers)
    write_table(stations, workdir.stations_csv, "stations", if_changed=True)


def write_reversals(ctx: StageContext, report) -> None:
    reversals = configured_reversals(ctx.config.stations)
    write_table(empty_table("reversals") if reversals is None else reversals,
                ctx.workdir.reversals_csv, "reversals", if_changed=True)
