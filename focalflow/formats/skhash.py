"""SKHASH inputs and outputs: control file, catalog/polarity/station/amplitude CSVs, corrections.

SKHASH (Skoumal, Hardebeck & Shearer 2024) reads a control file of ``$name`` lines each followed
by its value line(s), and comma-separated tables with a header (``#`` lines are comments,
blanks after commas are allowed). Conventions of these files, kept on reading:

* ``p_polarity`` is a signed weight in [-1, 1] (+ up, - down) of the *true* ground motion;
* ``sp_ratio`` in an amplitude file is a linear S/P ratio (this module returns log10 S/P);
* a location code ``--`` means blank; codes are strings (station ``1107`` stays ``"1107"``).

The output tables of stage 6 use SKHASH's column names (:data:`MECHANISM_COLUMNS`,
:data:`POLINFO_COLUMNS`) so SKHASH users can read them unchanged. Only numpy/pandas are
imported, so ``--skhash-control`` starts quickly.
"""
from __future__ import annotations

import io
import logging
import math
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Optional

import numpy as np
import pandas as pd

from focalflow.errors import InputError
from focalflow.formats.hash_v12 import read_statcor
from hash_core.params import HashParams

log = logging.getLogger(__name__)

#: SKHASH's focal-mechanism output columns, then focalflow's additions.
SKHASH_OUT_COLUMNS = ["event_id", "strike", "dip", "rake", "quality", "fault_plane_uncertainty",
                      "aux_plane_uncertainty", "num_p_pol", "num_sp_ratios", "polarity_misfit",
                      "prob_mech", "sta_distribution_ratio", "sp_misfit", "mult_solution_flag",
                      "time", "origin_lat", "origin_lon", "origin_depth_km", "horz_uncert_km",
                      "vert_uncert_km"]
MECHANISM_COLUMNS = SKHASH_OUT_COLUMNS + ["strike2", "dip2", "rake2", "azimuthal_gap",
                                          "takeoff_gap", "faulting_class", "hash_quality",
                                          "quality_note"]
ACCEPTABLE_COLUMNS = ["event_id", "strike", "dip", "rake"]
#: SKHASH's per-observation record (``$outfile_pol_info``).
POLINFO_COLUMNS = ["event_id", "sta_code", "p_polarity", "sr_dist_km", "takeoff", "azimuth",
                   "takeoff_uncertainty", "azimuth_uncertainty", "source", "origin_lat",
                   "origin_lon", "origin_depth_km", "horz_uncert_km", "vert_uncert_km",
                   "station_lat", "station_lon", "station_depth_km", "pol_agreement", "sp_diff",
                   "mech_quality", "pol_agreement_weighted"]

CODE_COLUMNS = ["event_id", "network", "station", "location", "channel"]


#: SKHASH's defaults where they differ from HASH v1.2's (SKHASH.py's parameter table):
#: prob_max 0.2, a vertical uncertainty of 0 means an exact depth, and the average of the
#: mechanisms within cangle instead of HASH's iterative removal. Its other defaults
#: (npolmin, nmc, maxout, ratmin, badfrac, badmin, qbadfrac, qbadmin, delmax, cangle,
#: max_agap, max_pgap, dang, default_vert_uncert_km) are HASH's, and it weights misfits by the
#: mechanism's own radiation.
SKHASH_DEFAULTS = HashParams(prob_max=0.2, zero_depth_uncert_exact=True, iterative_avg=False)

#: SKHASH control-file names of the HashParams fields (the others are spelled alike).
PARAM_NAMES = {"npolmin": "npolmin", "nmc": "nmc", "maxout": "maxout", "ratmin": "ratmin",
               "badfrac": "badfrac", "badmin": "badmin", "qbadfrac": "qbadfac",
               "qbadmin": "qbadmin", "delmax": "delmax_km", "cangle": "cangle_deg",
               "prob_max": "prob_max", "max_agap": "max_agap_deg", "max_pgap": "max_pgap_deg",
               "dang": "dang_deg", "default_vert_uncert_km": "depth_uncert_km",
               "default_horz_uncert_km": "horz_uncert_km", "delmin": "delmin_km",
               "pmax": "max_takeoff_sigma_deg", "nump": "n_rays",
               "iterative_avg": "iterative_avg",
               "perturb_epicentral_location": "perturb_epicenter"}
#: What focalflow does with each key of SKHASH's manual (v0.1): ``supported``, ``ignored``
#: (with a warning naming it: SKHASH output options focalflow writes its own way) or
#: ``refused`` (an error: inputs focalflow cannot read as SKHASH would). The README's table
#: is this one.
SKHASH_KEYS: dict[str, tuple[str, str]] = {
    **{key: ("supported", f"HashParams.{name}") for key, name in PARAM_NAMES.items()},
    "catfile": ("supported", "earthquake catalog CSV"),
    "stfile": ("supported", "station CSV"),
    "plfile": ("supported", "polarity reversals CSV"),
    "corfile": ("supported", "S/P station corrections (CSV or HASH statcor)"),
    "fpfile": ("supported", "polarities (source trad_p)"),
    "impfile": ("supported", "imputed polarities (source imp_p)"),
    "conpfile": ("supported", "consensus polarities (source con_p)"),
    "dlpfile": ("supported", "deep-learning polarities (source dl_p)"),
    "ampfile": ("supported", "S/P amplitudes or ratios (source trad_sp)"),
    "relampfile": ("supported", "relative S/P ratios, the ampfile format (source rel_sp)"),
    "simulpsfile": ("supported", "take-off angles and azimuths of a SIMULPS ray file"),
    "outfile1": ("supported", "mechanisms CSV (--out wins)"),
    "outfile2": ("supported", "acceptable mechanisms CSV"),
    "outfile_pol_info": ("supported", "per-observation record (polinfo)"),
    "vmodel_paths": ("supported", "1-D velocity models"),
    "look_dep": ("supported", "HashParams.table_depths_km"),
    "look_del": ("supported", "HashParams.table_distances_km"),
    "min_polarity_weight": ("supported", "polarities with a smaller abs(p_polarity) are left out"),
    "azmax": ("supported", "observations with a larger azimuth uncertainty are left out"),
    "min_sp": ("supported", "smallest S/P ratio (smaller ones raised to it)"),
    "max_sp": ("supported", "largest S/P ratio (larger ones lowered to it)"),
    "allow_hypocenters_outside_table": ("supported", "HashParams.table_edges clamp"),
    "require_network_match": ("supported", "station matching on the network code"),
    "require_station_match": ("supported", "station matching on the station code"),
    "require_location_match": ("supported", "station matching on the location code"),
    "require_channel_match": ("supported", "station matching on the channel code"),
    "allow_duplicate_stations": ("supported", "several observations per receiver allowed"),
    "remove_duplicate_stations": ("supported", "duplicate observations dropped (first kept)"),
    "ignore_missing_metadata": ("supported", "observations without a station are left out "
                                "quietly (else a failure row each)"),
    "min_quality_report": ("supported", "only mechanisms of this quality or better written"),
    "overwrite_output_file": ("supported", "false: an existing output is an error"),
    "num_cpus": ("supported", "--threads (0: all cores)"),
    "input_format": ("supported", "skhash; another format is refused (an error naming the "
                     "line): HASH formats run with --hash-inp"),
    **{f"input_format_{kind}": ("supported", "skhash; another format is refused")
       for kind in ("fpfile", "impfile", "conpfile", "dlpfile", "plfile", "ampfile",
                    "relampfile", "stfile")},
    "outfile_pol_agree": ("ignored", "polinfo.csv holds each polarity's agreement"),
    "outfile_sp_agree": ("ignored", "polinfo.csv holds each S/P difference"),
    "outfolder_plots": ("ignored", "stage 6 draws the figures of a working directory"),
    "plot_station_names": ("ignored", "output.station_labels in config.yaml"),
    "plot_acceptable_solutions": ("ignored", "figures are drawn by stage 6"),
    "plot_mult_solutions": ("ignored", "figures are drawn by stage 6"),
    "write_lookup_table": ("ignored", "tables are built in well under a second"),
    "recompute_lookup_table": ("ignored", "tables are always built"),
    "use_fortran": ("ignored", "the search is focalflow's numba kernel"),
    "nx0": ("ignored", "follows from look_del"),
    "nd0": ("ignored", "follows from look_dep"),
    "min_amp": ("ignored", "S/P predictions follow HASH's lookup tables"),
    "require_temporal_match": ("ignored", "station lists here have no time ranges"),
    "epicenter_degree_precision": ("ignored", "SKHASH's output precision is used"),
    "output_angle_precision": ("ignored", "SKHASH's output precision is used"),
    "output_quality_precision": ("ignored", "SKHASH's output precision is used"),
    "output_km_distance_precision": ("ignored", "SKHASH's output precision is used"),
    "output_vector_precision": ("ignored", "SKHASH's output precision is used"),
    "controlfile": ("ignored", "the file given to --skhash-control"),
}


@dataclass
class SkhashControl:
    """An SKHASH control file: its files, the :class:`~hash_core.params.HashParams` it sets
    (:data:`SKHASH_DEFAULTS` where it says nothing) and SKHASH's input options.

    Paths are resolved against ``base_dir`` (SKHASH opens them relative to the folder it runs
    in). ``$delmax`` 0 means no distance limit (``params.delmax_km`` infinite). Input options:
    polarities with |weight| < ``min_polarity_weight`` are ignored; S/P ratios are clipped to
    [``min_sp``, ``max_sp``]; observations with an azimuth uncertainty above ``azmax`` are left
    out (0: none); ``match_on`` the station codes that must match; ``allow_duplicates``,
    ``remove_duplicates``, ``ignore_missing_metadata``, ``min_quality`` (letter, "" all),
    ``overwrite`` and ``threads`` (``$num_cpus``) as SKHASH's keys. ``ignored``: the keys
    read but not used, with why (each is logged as a warning)."""

    params: HashParams = SKHASH_DEFAULTS
    fpfile: Optional[Path] = None
    impfile: Optional[Path] = None
    conpfile: Optional[Path] = None
    dlpfile: Optional[Path] = None
    catfile: Optional[Path] = None
    stfile: Optional[Path] = None
    ampfile: Optional[Path] = None
    relampfile: Optional[Path] = None
    corfile: Optional[Path] = None
    plfile: Optional[Path] = None
    simulpsfile: Optional[Path] = None
    outfile1: Optional[Path] = None
    outfile2: Optional[Path] = None
    outfile_pol_info: Optional[Path] = None
    vmodel_paths: list[Path] = field(default_factory=list)
    min_polarity_weight: float = 0.1
    min_sp: float = 0.0005
    max_sp: float = 2000.0
    azmax: float = 10.0
    match_on: tuple = ("network", "station", "location", "channel")
    allow_duplicates: bool = False
    remove_duplicates: bool = False
    ignore_missing_metadata: bool = False
    min_quality: str = ""
    overwrite: bool = True
    threads: Optional[int] = None
    ignored: dict = field(default_factory=dict)
    path: Optional[Path] = None

    def polarity_files(self) -> list[tuple[str, Path]]:
        """(source name, path) of the polarity files given, in SKHASH's order."""
        return [(source, path) for source, path in (("trad_p", self.fpfile),
                                                    ("imp_p", self.impfile),
                                                    ("con_p", self.conpfile),
                                                    ("dl_p", self.dlpfile)) if path is not None]


_PATH_KEYS = {"fpfile", "impfile", "conpfile", "dlpfile", "catfile", "stfile", "plfile",
              "corfile", "ampfile", "relampfile", "simulpsfile", "outfile1", "outfile2",
              "outfile_pol_info"}
_BOOLEAN_KEYS = {"iterative_avg", "perturb_epicentral_location", "allow_hypocenters_outside_table",
                 "require_network_match", "require_station_match", "require_location_match",
                 "require_channel_match", "allow_duplicate_stations", "remove_duplicate_stations",
                 "ignore_missing_metadata", "overwrite_output_file"}
_NUMBER_KEYS = {"min_polarity_weight", "min_sp", "max_sp", "azmax", "num_cpus"}
_TRIPLE_KEYS = {"look_dep": "table_depths_km", "look_del": "table_distances_km"}


def _boolean(text: str) -> bool:
    word = text.strip().lower()
    if word in ("true", "t", "1", "yes"):
        return True
    if word in ("false", "f", "0", "no"):
        return False
    raise ValueError(f"{text!r} is not true or false")


def _triple(text: str) -> tuple:
    values = [float(v) for v in text.replace("[", " ").replace("]", " ").replace(",", " ").split()]
    if len(values) != 3:
        raise ValueError(f"{text!r} is not three numbers (first, last, step)")
    return tuple(values)


def read_skhash_control(path: Path | str, base_dir: Path | str | None = None) -> SkhashControl:
    """Read an SKHASH control file: ``$name`` (text after ``#`` ignored) followed by the value on
    the next line(s); ``$vmodel_paths`` may list several paths on one or more lines. Relative
    paths are resolved against ``base_dir`` (default: the current folder). Every key of
    SKHASH's manual is known (:data:`SKHASH_KEYS`): a supported key sets its value, an ignored
    one is logged as a warning naming it, a refused value (another file format) is an
    InputError; an unknown key is a warning. A value that is not what its key needs (a number,
    true/false, three numbers) or is outside its allowed range is an InputError naming the
    line."""
    path = Path(path)
    if not path.is_file():
        raise InputError(path, "control file not found")
    base = Path(base_dir) if base_dir is not None else Path.cwd()
    entries: dict[str, list[tuple[int, str]]] = {}
    key_lines: dict[str, int] = {}
    key = None
    for number, raw in enumerate(path.read_text(encoding="latin-1").splitlines(), 1):
        text = raw.split("#", 1)[0].strip()
        if not text:
            continue
        if text.startswith("$"):
            key = text[1:].split()[0]
            entries[key] = []
            key_lines[key] = number
        elif key is None:
            raise InputError(path, f"value {text!r} before any $name line", line=number)
        else:
            entries[key].append((number, text))
    control = SkhashControl(path=path)
    params: dict = {}
    line_of: dict = {}
    kinds = {f.name: f.type for f in fields(HashParams)}
    match = dict.fromkeys(control.match_on, True)
    for key, values in entries.items():
        status, why = SKHASH_KEYS.get(key, ("unknown", ""))
        if status == "unknown":
            log.warning("%s, line %d: $%s is not an SKHASH key; ignored", path, key_lines[key], key)
            continue
        if status == "ignored":
            control.ignored[key] = why
            log.warning("%s, line %d: $%s is not used by focalflow (%s)", path, key_lines[key],
                        key, why)
            continue
        if not values:
            continue
        number, text = values[0]
        try:
            if key == "vmodel_paths":
                control.vmodel_paths = [base / p for _, text in values for p in text.split()]
            elif key in _PATH_KEYS:
                setattr(control, key, base / text)
            elif key.startswith("input_format"):
                if text.lower() != "skhash":
                    raise InputError(path, f"${key} {text} is not supported: focalflow reads "
                                     "SKHASH-format files here; run HASH-format inputs with "
                                     "--hash-inp FILE --driver N", line=number)
            elif key in _TRIPLE_KEYS:
                params[_TRIPLE_KEYS[key]] = _triple(text)
                line_of[_TRIPLE_KEYS[key]] = number
            elif key == "allow_hypocenters_outside_table":
                params["table_edges"] = "clamp" if _boolean(text) else "skip"
            elif key.startswith("require_") and key.endswith("_match"):
                match[key[len("require_"):-len("_match")]] = _boolean(text)
            elif key == "allow_duplicate_stations":
                control.allow_duplicates = _boolean(text)
            elif key == "remove_duplicate_stations":
                control.remove_duplicates = _boolean(text)
            elif key == "ignore_missing_metadata":
                control.ignore_missing_metadata = _boolean(text)
            elif key == "overwrite_output_file":
                control.overwrite = _boolean(text)
            elif key == "min_quality_report":
                if text.upper() not in ("A", "B", "C", "D"):
                    raise ValueError(f"{text!r} is not A, B, C or D")
                control.min_quality = text.upper()
            elif key == "num_cpus":
                control.threads = int(float(text))
            elif key in _NUMBER_KEYS:
                setattr(control, key, float(text))
            elif key in _BOOLEAN_KEYS:
                params[PARAM_NAMES[key]] = _boolean(text)
                line_of[PARAM_NAMES[key]] = number
            else:
                name = PARAM_NAMES[key]
                value = float(text)
                if name == "delmax_km" and value <= 0:
                    value = math.inf   # SKHASH: no limit within the take-off table
                params[name] = int(value) if kinds[name] in ("int", int) else value
                line_of[name] = number
        except ValueError as exc:
            raise InputError(path, f"${key}: {exc}", line=number) from None
    control.match_on = tuple(code for code, wanted in match.items() if wanted)
    try:
        control.params = replace(SKHASH_DEFAULTS, **params)
    except ValueError as exc:
        name = str(exc).split()[0]
        raise InputError(path, str(exc), line=line_of.get(name)) from None
    return control


def read_skhash_csv(path: Path | str, required: list[str], what: str) -> pd.DataFrame:
    """Read one of SKHASH's CSV tables: header line, ``#`` comment lines, blanks after commas.

    Code columns are strings with ``--`` as blank; ``required`` columns must be present
    (InputError naming the file and the missing columns otherwise)."""
    path = Path(path)
    if not path.is_file():
        raise InputError(path, f"{what} file not found")
    text = "\n".join(line for line in path.read_text(encoding="latin-1").splitlines()
                     if not line.lstrip().startswith("#"))
    if not text.strip():
        raise InputError(path, f"{what} file is empty")
    try:
        frame = pd.read_csv(io.StringIO(text), skipinitialspace=True, keep_default_na=False,
                            dtype={c: str for c in CODE_COLUMNS})
    except (pd.errors.ParserError, ValueError) as exc:
        raise InputError(path, f"not a readable {what} CSV: {exc}") from None
    frame.columns = [str(c).strip() for c in frame.columns]
    missing = [c for c in required if c not in frame.columns]
    if missing:
        raise InputError(path, f"{what} file lacks column(s) {', '.join(missing)}")
    for column in CODE_COLUMNS:
        if column in frame.columns:
            frame[column] = frame[column].astype(str).str.strip().replace("--", "")
    return frame


def _numeric(frame: pd.DataFrame, columns: list[str], path: Path | str, what: str) -> pd.DataFrame:
    for column in columns:
        if column not in frame.columns:
            continue
        values = pd.to_numeric(frame[column], errors="coerce")
        text = frame[column].astype(str).str.strip().str.lower()
        bad = values.isna() & ~text.isin(["", "nan", "--"])
        if bad.any():
            row = int(np.flatnonzero(bad.to_numpy())[0])
            raise InputError(path, f"{what}: {column} {frame[column].iloc[row]!r} is not a number",
                             line=row + 2)
        frame[column] = values
    return frame


def read_skhash_catalog(path: Path | str) -> pd.DataFrame:
    """SKHASH ``$catfile``: event_id, time, latitude, longitude, depth (km), optional
    horz_uncert_km, vert_uncert_km, mag. Returns the events.csv columns (missing
    uncertainties and magnitudes as NaN; time kept as written)."""
    frame = read_skhash_csv(path, ["event_id", "time", "latitude", "longitude", "depth"],
                            "earthquake catalog")
    for column in ("horz_uncert_km", "vert_uncert_km", "mag"):
        if column not in frame.columns:
            frame[column] = np.nan
    frame["mag"] = pd.to_numeric(frame["mag"], errors="coerce")  # SKHASH writes "--" for none
    frame = _numeric(frame, ["latitude", "longitude", "depth", "horz_uncert_km",
                             "vert_uncert_km"], path, "earthquake catalog")
    frame["time"] = frame["time"].astype(str).str.strip()
    return frame[["event_id", "time", "latitude", "longitude", "depth", "horz_uncert_km",
                  "vert_uncert_km", "mag"]].reset_index(drop=True)


def read_skhash_polarities(path: Path | str) -> pd.DataFrame:
    """SKHASH ``$fpfile``: event_id, station, network, location, channel, p_polarity (signed
    weight). Missing code columns are blank; optional precomputed ``takeoff``/``azimuth``
    columns (and their uncertainties) are kept."""
    frame = read_skhash_csv(path, ["event_id", "p_polarity"], "polarity")
    for column in ("network", "station", "location", "channel"):
        if column not in frame.columns:
            frame[column] = ""
    return _numeric(frame, ["p_polarity", "takeoff", "azimuth", "takeoff_uncertainty",
                            "azimuth_uncertainty", "origin_latitude", "origin_longitude",
                            "origin_depth_km"], path, "polarity").reset_index(drop=True)


def read_skhash_stations(path: Path | str) -> pd.DataFrame:
    """SKHASH ``$stfile``: station codes (network optional), latitude, longitude, elevation (m)."""
    frame = read_skhash_csv(path, ["latitude", "longitude", "elevation"], "station")
    for column in ("network", "station", "location", "channel"):
        if column not in frame.columns:
            frame[column] = ""
    frame = _numeric(frame, ["latitude", "longitude", "elevation"], path, "station")
    return frame[["network", "station", "location", "channel", "latitude", "longitude",
                  "elevation"]].reset_index(drop=True)


def read_skhash_amplitudes(path: Path | str, ratmin: float, min_sp: float,
                           max_sp: float) -> pd.DataFrame:
    """SKHASH ``$ampfile`` as log10 S/P ratios before station correction.

    Either ``sp_ratio`` (linear S/P) or ``noise_p, noise_s, amp_p, amp_s``; with amplitudes a
    ratio is kept only where |amp_p|/noise_p >= ``ratmin`` and amp_s/noise_s >= ``ratmin``.
    Ratios are clipped to [min_sp, max_sp] as SKHASH does. Returns the codes, ``sp_ratio``
    (log10) and the amplitude columns when given."""
    frame = read_skhash_csv(path, ["event_id"], "amplitude")
    for column in ("network", "station", "location", "channel"):
        if column not in frame.columns:
            frame[column] = ""
    amp_columns = ["noise_p", "noise_s", "amp_p", "amp_s"]
    frame = _numeric(frame, ["sp_ratio"] + amp_columns, path, "amplitude")
    if "sp_ratio" in frame.columns:
        ratio = frame["sp_ratio"].to_numpy(float)
    elif all(c in frame.columns for c in amp_columns):
        amp_p = frame["amp_p"].abs().to_numpy(float)
        amp_s = frame["amp_s"].to_numpy(float)
        with np.errstate(divide="ignore", invalid="ignore"):
            good = (amp_p / frame["noise_p"].to_numpy(float) >= ratmin) & \
                   (amp_s / frame["noise_s"].to_numpy(float) >= ratmin)
            ratio = np.where(good, amp_s / amp_p, np.nan)
    else:
        raise InputError(path, "amplitude file needs a sp_ratio column or noise_p, noise_s, "
                         "amp_p and amp_s")
    with np.errstate(divide="ignore", invalid="ignore"):
        frame["sp_ratio"] = np.log10(np.clip(ratio, min_sp, max_sp))
    frame.loc[~np.isfinite(ratio) | (ratio <= 0), "sp_ratio"] = np.nan
    return frame.dropna(subset=["sp_ratio"]).reset_index(drop=True)


def read_skhash_statcor(path: Path | str) -> pd.DataFrame:
    """SKHASH ``$corfile`` (CSV with ``sta_correction``, log10 S/P) or a HASH-style
    whitespace file ``STA COMP NET correction``; returns codes and ``sta_correction``."""
    path = Path(path)
    first = next((line for line in path.read_text(encoding="latin-1").splitlines()
                  if line.strip() and not line.startswith("#")), "") if path.is_file() else ""
    if "," in first:
        frame = read_skhash_csv(path, ["sta_correction"], "station correction")
        for column in ("network", "station", "location", "channel"):
            if column not in frame.columns:
                frame[column] = ""
        return _numeric(frame, ["sta_correction"], path, "station correction")
    return read_statcor(path)
