"""Events and analyst picks of the configured catalog (``catalog.phase_file``).

:func:`read_event_catalog` reads a Hypoinverse-2000 archive, QuakeML, CSV, the headers of a
folder of SAC files (``sac_headers``; a folder is always read so) or a GaMMA catalog with
PhaseNet/GaMMA picks (``phasenet``) -- chosen by ``catalog.format`` or guessed -- into the
events.csv / picks.csv tables. Stages 1, 2 and 3 all use it, so they agree on the event list,
and on one rule for repeated picks: duplicates merged with a warning, conflicting polarities of
a station dropped with a problem record (:func:`reconcile_picks`).
"""
from __future__ import annotations

import logging
from pathlib import Path

import pandas as pd

from focalflow.config import CatalogConfig
from focalflow.errors import ConfigError, InputError
from focalflow.formats.common import ReadProblem
from focalflow.formats.csv_tables import read_csv_catalog
from focalflow.formats.hypoinverse import read_hypoinverse
from focalflow.formats.ml_picks import read_gamma_catalog, read_ml_picks
from focalflow.formats.quakeml import read_quakeml
from focalflow.formats.sac_headers import SacHeaderOptions, read_sac_folder

log = logging.getLogger("focalflow.catalog")

FORMATS = ("hypoinverse", "quakeml", "csv", "sac_headers", "phasenet")


def guess_format(path: Path | str) -> str:
    """``sac_headers`` for a folder; ``hypoinverse``, ``quakeml``, ``csv`` or ``phasenet`` (a
    GaMMA catalog: an ``event_index`` column) from the file's extension, else its first line."""
    path = Path(path)
    if path.is_dir():
        return "sac_headers"
    suffix = path.suffix.lower()
    if suffix in (".xml", ".qml", ".quakeml"):
        return "quakeml"
    if suffix == ".csv":
        return "phasenet" if "event_index" in _header(path) else "csv"
    if not path.is_file():
        raise InputError(path, "file not found")
    with open(path, "rb") as handle:
        head = handle.read(4096).decode("latin-1").lstrip()
    if not head:
        raise InputError(path, "file is empty")
    first = head.splitlines()[0]
    if head.startswith("<"):
        return "quakeml"
    if first[:12].isdigit():
        return "hypoinverse"
    if "event_id" in first and "," in first:
        return "csv"
    raise InputError(path, "cannot tell the format (not Hypoinverse-2000, QuakeML or CSV); "
                     "set catalog.format", line=1)


def _header(path: Path) -> list[str]:
    """The column names of a CSV file's first line (none when it cannot be read)."""
    try:
        with open(path, "rb") as handle:
            return [c.strip() for c in handle.readline().decode("latin-1").split(",")]
    except OSError:
        return []


def read_event_catalog(catalog: CatalogConfig) -> tuple[pd.DataFrame, pd.DataFrame, list[ReadProblem]]:
    """Events, picks and problems of the configured catalog.

    ``events`` and ``picks`` have the events.csv / picks.csv columns in file order; ``problems``
    lists every skipped line (:class:`ReadProblem`: path, line, reason) for the caller to log
    (stage 3 puts them in the failures table). Duplicate picks are merged and conflicting
    polarities dropped (:func:`reconcile_picks`). Raises InputError when the file cannot be
    read at all.
    """
    path = Path(catalog.phase_file)
    kind = guess_format(path) if catalog.format == "auto" else catalog.format
    if kind == "hypoinverse":
        events, picks, problems = read_hypoinverse(path)
    elif kind == "quakeml":
        events, picks, problems = read_quakeml(path)
    elif kind == "csv":
        events, picks, problems = read_csv_catalog(path, catalog.picks_file)
    elif kind == "sac_headers":
        options = catalog.sac_headers
        events, picks, _stations, problems = read_sac_folder(path, SacHeaderOptions(
            options.p_marker, options.s_marker, options.theoretical_picks,
            options.vert_uncert_header))
    elif kind == "phasenet":
        events, picks, problems = read_phasenet_catalog(path, catalog.picks_file,
                                                        catalog.pick_window_s)
    else:
        raise ConfigError(f"catalog.format {kind!r} is not one of {', '.join(FORMATS)}")
    files = {Path(p).name: Path(p) for p in (path, catalog.picks_file) if p is not None}
    picks, conflicts = reconcile_picks(picks, files, catalog.duplicate_tolerance_s)
    return events, picks, problems + conflicts


def read_phasenet_catalog(events_path: Path, picks_path: Path | None, window_s: float
                          ) -> tuple[pd.DataFrame, pd.DataFrame, list[ReadProblem]]:
    """Events of a GaMMA catalog (or an events.csv) and the PhaseNet/GaMMA picks of
    ``catalog.picks_file`` tied to them (see :mod:`focalflow.formats.ml_picks`)."""
    if picks_path is None:
        raise ConfigError("catalog.format phasenet needs catalog.picks_file (the PhaseNet or "
                          "GaMMA picks CSV)")
    if "event_index" in _header(events_path):
        events, problems = read_gamma_catalog(events_path)
    else:
        events, _, problems = read_csv_catalog(events_path)
    picks, more = read_ml_picks(picks_path, events, window_s)
    return events, picks, problems + more


def reconcile_picks(picks: pd.DataFrame, files: dict[str, Path], tolerance_s: float
                    ) -> tuple[pd.DataFrame, list[ReadProblem]]:
    """One pick per station, phase and onset; one P polarity per station and event.

    - Conflicts: P picks of one event and station with both U and D lose their polarity (the
      pick times stay for the CNN), with one problem record naming both sources.
    - Duplicates: picks of one event, station and phase with times within ``tolerance_s`` are
      one pick: the first in file order is kept, with a polarity or onset the others give and
      the best (lowest) weight code; a warning per event counts them.
    - Where several P picks of a station still carry a polarity (e.g. two channels), only the
      best one (weight, then file order) keeps it, so HASH counts the station once.

    ``files`` maps the file names in the ``source`` column (``name:line``) to their paths.
    """
    if picks.empty:
        return picks, []
    picks = picks.copy()
    problems: list[ReadProblem] = []
    station = ["event_id", "network", "station"]
    p_pol = (picks["phase"] == "P") & picks["polarity"].isin(["U", "D"])
    signs = picks[p_pol].groupby(station)["polarity"].nunique()
    for key in signs[signs > 1].index:
        rows = picks[p_pol & (picks[station] == pd.Series(key, index=station)).all(axis=1)]
        by_sign = {sign: ", ".join(rows.loc[rows["polarity"] == sign, "source"]) for sign in ("U", "D")}
        first = rows.iloc[0]["source"]
        name, _, line = str(first).rpartition(":")
        problems.append(ReadProblem(str(files.get(name, name)), int(line) if line.isdigit() else None,
                                    f"event {key[0]} station {key[1]}.{key[2]}: conflicting P "
                                    f"polarities U ({by_sign['U']}) and D ({by_sign['D']}); "
                                    "both dropped"))
        picks.loc[rows.index, "polarity"] = ""

    picks = _merge_duplicates(picks, tolerance_s)
    p_pol = (picks["phase"] == "P") & picks["polarity"].isin(["U", "D"])
    weights = pd.to_numeric(picks["weight"], errors="coerce").fillna(0)
    best = weights[p_pol].groupby([picks.loc[p_pol, c] for c in station]).transform("idxmin")
    extra = best.index[best.index != best.to_numpy()]
    if len(extra):
        log.warning("%d P pick(s) of stations that have a better-weighted P polarity lose theirs "
                    "(one polarity per station and event): %s", len(extra),
                    ", ".join(picks.loc[extra, "source"].astype(str)[:10]))
        picks.loc[extra, "polarity"] = ""
    return picks.reset_index(drop=True), problems


def _merge_duplicates(picks: pd.DataFrame, tolerance_s: float) -> pd.DataFrame:
    """Picks of one event, station and phase within ``tolerance_s`` of each other kept once."""
    key = ["event_id", "network", "station", "phase"]
    repeated = picks.duplicated(key, keep=False)
    if not repeated.any():
        return picks
    times = pd.to_datetime(picks["time"], utc=True, errors="coerce", format="ISO8601")
    drop, merged_by_event = [], {}
    for _, group in picks[repeated].groupby(key, sort=False):
        order = times[group.index].sort_values(kind="stable").index
        clusters, start = [], None
        for index in order:  # a pick joins the cluster whose first pick is within tolerance
            t = times[index]
            same = clusters and ((pd.isna(t) and pd.isna(start)) or
                                 (not pd.isna(t) and not pd.isna(start)
                                  and (t - start).total_seconds() <= tolerance_s))
            if same:
                clusters[-1].append(index)
            else:
                clusters.append([index])
                start = t
        for cluster in clusters:
            if len(cluster) < 2:
                continue
            cluster.sort()  # file order: the first is kept
            kept, others = cluster[0], cluster[1:]
            for column in ("polarity", "onset"):
                given = [v for v in picks.loc[cluster, column] if str(v).strip()]
                if given:
                    picks.loc[kept, column] = given[0]
            weights = pd.to_numeric(picks.loc[cluster, "weight"], errors="coerce").dropna()
            if len(weights):
                picks.loc[kept, "weight"] = weights.min()
            drop.extend(others)
            event = picks.loc[kept, "event_id"]
            merged_by_event.setdefault(event, []).extend(picks.loc[others, "source"].astype(str))
    for event, sources in merged_by_event.items():
        log.warning("event %s: %d duplicate pick(s) merged (same station and phase, times within "
                    "%g s of another pick): %s", event, len(sources), tolerance_s,
                    ", ".join(sources[:10]))
    return picks.drop(index=drop)
