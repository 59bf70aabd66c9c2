"""The one configuration schema of focalflow.

Every parameter of every stage, its type, unit and default lives here and nowhere else.
``load_config`` reads ``config.yaml``, validates it before any stage does work and resolves
relative paths against the folder of the config file. Errors name the key, what was wrong and
the allowed values; an unknown key suggests the closest known one.

Units are in the names: ``_s`` seconds, ``_km`` kilometres, ``_deg`` degrees, ``_hz`` hertz.
"""
from __future__ import annotations

import difflib
from dataclasses import fields
from pathlib import Path
from typing import Any, Literal, Optional, get_args

import yaml
from pydantic import (BaseModel, ConfigDict, Field, ValidationError, ValidationInfo,
                      field_validator)

from focalflow.errors import ConfigError
from focalflow.mechanisms.sp_settings import SpSettings
from hash_core.params import HashParams, RunPolicy, describe


class Section(BaseModel):
    """Base of every config section: unknown keys are errors, values are checked on assignment,
    and ``true``/``false`` are never taken for numbers (pydantic would read ``nmc: true`` as 1)."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)

    @field_validator("*", mode="before")
    @classmethod
    def _booleans_are_not_numbers(cls, value: Any, info: ValidationInfo) -> Any:
        if _holds_bool(value) and _is_numeric(cls.model_fields[info.field_name].annotation):
            raise ValueError(f"expected a number, got the boolean {str(value).lower()}")
        return value


def _holds_bool(value: Any) -> bool:
    if isinstance(value, (list, tuple)):
        return any(isinstance(v, bool) for v in value)
    return isinstance(value, bool)


def _is_numeric(annotation: Any) -> bool:
    """int or float, alone, optional or in a list."""
    if annotation in (int, float):
        return True
    return any(_is_numeric(arg) for arg in get_args(annotation))


class SacHeadersConfig(Section):
    """Which SAC header markers hold the picks (catalog.format: sac_headers)."""

    p_marker: str = Field("auto", pattern=r"^(auto|a|t[0-9])$", description=(
        "Marker of the P pick: a, t0 ... t9, or auto (the first whose label ka/kt* names P, "
        "e.g. 'P', 'Pg', 'IPU0')."))
    s_marker: str = Field("auto", pattern=r"^(auto|a|t[0-9])$",
                          description="Marker of the S pick, as p_marker.")
    theoretical_picks: bool = Field(False, description=(
        "Use markers labelled as theoretical times (e.g. kt3 = 'p_taup') as picks."))
    vert_uncert_header: Optional[str] = Field(
        None, pattern=r"^user[0-9]$",
        description="Header (user0 ... user9) holding each event's vertical uncertainty in km.")


class CatalogConfig(Section):
    """Where the events and analyst picks come from (read by stages 1 and 3)."""

    phase_file: Path = Field(Path("demo_data/phases.arc"), description=(
        "Phase/catalog file: Hypoinverse-2000 archive, QuakeML, CSV, a GaMMA catalog "
        "(format phasenet), or a folder of SAC files (format sac_headers)."))
    format: Literal["auto", "hypoinverse", "quakeml", "csv", "sac_headers", "phasenet"] = Field(
        "auto", description="Format of phase_file; auto guesses from the extension and content "
        "(a folder: sac_headers).")
    picks_file: Optional[Path] = Field(
        None, description="For format csv: the picks table (events.csv columns go in "
        "phase_file); for format phasenet: the PhaseNet or GaMMA picks CSV.")
    pick_window_s: float = Field(
        120.0, gt=0, description="For format phasenet without an event column: a pick belongs to "
        "the latest origin at most this long before it.")
    duplicate_tolerance_s: float = Field(
        0.1, ge=0, le=10, description="Picks of one event, station and phase closer than this "
        "are one pick given twice: merged, with a warning.")
    sac_headers: SacHeadersConfig = SacHeadersConfig()


class FdsnConfig(Section):
    """FDSN web services (stage 1, waveforms.source: fdsn)."""

    providers: list[str] = Field(["SCEDC"], min_length=1,
                                 description="ObsPy provider names (SCEDC, IRIS, ...) or base URLs.")
    timeout_s: float = Field(60.0, gt=0, description="Longest wait for a connection or for the "
                             "next bytes of an answer.")
    request_deadline_s: float = Field(300.0, gt=0, description="Longest time one request may take "
                                      "in all (connection, headers, body); then it is abandoned and retried.")
    min_rate_bytes_s: float = Field(1000.0, ge=0, description="An answer arriving slower than this "
                                    "(over any stretch of min(timeout_s, 10) s) is abandoned and retried.")
    max_answer_mb: float = Field(256.0, gt=0, description="Largest answer accepted, after "
                                 "decompression (MiB); a larger one fails that request.")
    event_deadline_s: float = Field(900.0, gt=0, description="Longest time spent on one event, "
                                    "retries included; its unfinished stations are failed and "
                                    "fetched on the next run.")
    retries: int = Field(3, ge=0, le=20, description="Retries of a failed request.")
    backoff_s: float = Field(2.0, ge=0, description="First wait between retries; doubles each retry.")
    networks: str = Field("*", description="Network codes, comma separated, wildcards allowed.")
    stations: str = Field("*", description="Station codes, comma separated, wildcards allowed.")
    stations_per_request: int = Field(10, ge=1, le=500,
                                      description="Stations per bulk waveform request.")


class SdsConfig(Section):
    """A local SDS archive (stage 1, waveforms.source: sds)."""

    root: Path = Field(Path("demo_data/sds"), description="SDS archive root folder.")
    stationxml_dir: Path = Field(Path("demo_data/stationxml"),
                                 description="Folder of StationXML files for the archive's stations.")


class FilesConfig(Section):
    """A folder tree of miniSEED or SAC files, any naming (stage 1, waveforms.source: files)."""

    root: Path = Field(Path("data"), description=(
        "Folder searched at any depth; event-cut or continuous files, several channels or "
        "events per file allowed. Indexed once (files_index.csv), updated on reruns."))
    stationxml_dir: Optional[Path] = Field(
        None, description="Folder of StationXML files (responses); null: coordinates from "
        "stations.station_files and SAC headers.")


class WaveformsConfig(Section):
    """Stage 1: event waveforms and station metadata."""

    source: Literal["fdsn", "sds", "files"] = Field("sds", description="Where waveforms come from.")
    pre_origin_s: float = Field(30.0, ge=0, description="Window start before the origin time.")
    post_origin_s: float = Field(90.0, gt=0, description="Window end after the origin time.")
    max_radius_km: float = Field(150.0, gt=0, description="Stations within this epicentral distance.")
    channel_priorities: list[str] = Field(
        ["HH[ZNE12]", "BH[ZNE12]", "EH[ZNE12]", "HN[ZNE12]", "SH[ZNE12]"], min_length=1,
        description="Channel patterns in order of preference; the first present at a station wins.")
    location_priorities: list[str] = Field(["", "00", "10", "01", "--"], min_length=1,
                                           description="Location codes in order of preference.")
    fdsn: FdsnConfig = FdsnConfig()
    sds: SdsConfig = SdsConfig()
    files: FilesConfig = FilesConfig()


class SacConfig(Section):
    """Stage 2: miniSEED to the waveform store (store/traces/), optionally SAC files too."""

    write_files: bool = Field(False, description="Also write SAC files (sac/<event>/ in stage 2, "
                              "cut/<event>/ in stage 3) to look at in SAC; the pipeline reads "
                              "the HDF5 waveform store either way.")
    rotate_to_zne: bool = Field(True, description="Rotate 1/2 (or other azimuths) to Z, N, E.")
    gap_policy: Literal["merge", "reject"] = Field(
        "merge", description="merge: fill gaps up to max_gap_s; reject: drop any gappy trace.")
    max_gap_s: float = Field(1.0, ge=0, description="Longest gap filled when gap_policy is merge.")
    gap_fill: Literal["interpolate", "zeros"] = Field("interpolate", description="How gaps are filled.")
    min_duration_s: float = Field(10.0, ge=0, description="Traces shorter than this are dropped.")


class PhasesConfig(Section):
    """Stage 3: pick tables and P/S windows."""

    p_before_s: float = Field(2.0, gt=0, description="P window start before the P pick.")
    p_after_s: float = Field(2.0, gt=0, description="P window end after the P pick.")
    s_before_s: float = Field(2.0, gt=0, description="S window start before the S pick.")
    s_after_s: float = Field(3.0, gt=0, description="S window end after the S pick.")
    predict_s_from_p: bool = Field(
        True, description="Cut an S window at vp/vs x P travel time where no S pick exists.")
    vp_vs: float = Field(1.73, gt=1.0, lt=3.0, description="Vp/Vs used for predicted S windows.")


class PolarityConfig(Section):
    """Stage 4: CNN first-motion polarity."""

    model: str = Field("focalflow-default",
                       description="Model name (focalflow-default, diting-motion, eqpolarity) or a "
                       "weights file path.")
    weights: Optional[Path] = Field(None, description="Weights file overriding the model's default "
                                    "(required for eqpolarity: e.g. best_weigths_Binary_SCSN_Best.h5).")
    cache_dir: Path = Field(Path("~/.cache/focalflow"), description="Where downloaded weights are kept.")
    device: Literal["auto", "cpu", "gpu"] = Field("auto", description="auto uses a GPU when present.")
    batch_size: int = Field(1024, ge=1, le=1_000_000, description="Traces per inference batch; "
                            "stage 4 reads ahead 1,024 picks at a time, so it uses at most 1,024.")
    min_confidence: float = Field(0.5, ge=0, le=1,
                                  description="Calls with max(prob_up, prob_down) below this become 0.")
    analyst: Literal["keep", "replace", "compare"] = Field(
        "compare", description="keep: analyst polarity wins where given; replace: CNN always; "
        "compare: CNN used, agreement reported.")
    input_rate_hz: Optional[float] = Field(
        None, gt=0, description="Resample windows to this rate instead of the model's own (stretches "
        "onsets in time; e.g. 150 for diting-motion on 10-30 Hz microseismic onsets); null: the "
        "model's rate.")
    shift_samples: list[int] = Field(
        [0], min_length=1, description="Test-time window shifts in samples at the input rate; "
        "probabilities are averaged over them (e.g. [-2, -1, 0, 1, 2]).")


class StationsConfig(Section):
    """Stage 5: station tables."""

    stationxml_dir: Optional[Path] = Field(
        None, description="StationXML folder; default the working directory's stations/.")
    station_files: list[Path] = Field(
        [], description="Station lists of any kind: StationXML, FDSN text, NonLinLoc, CSV "
        "(SKHASH), HASH scsn.stations, plain '[NET] STA LAT LON [ELEV]'; StationXML rows win "
        "where both give a channel. Stages 1-2 use them where there is no StationXML.")
    columns: Optional[list[str]] = Field(
        None, description="Fields of plain whitespace station lists in order (network, station, "
        "latitude, longitude, elevation, elevation_km, ignore) when they cannot be told apart.")
    nonlinloc_elevation_unit: Literal["auto", "m", "km"] = Field(
        "auto", description="Elevation unit of NonLinLoc lists; auto: km if all within +-9, else m.")
    reversals_file: Optional[Path] = Field(
        Path("demo_data/reversals.csv"),
        description="Polarity-reversal table: CSV (network,station,start,end; station * for "
        "all stations) or HASH scsn.reverse; null for none.")
    reversed: Literal["listed", "all"] = Field(
        "listed", description="listed: the stations of reversals_file are reversed; all: every "
        "station is (a deployment recorded with inverted polarity), as one table line.")


def _hash(name: str):
    """The config field of HASH parameter ``name``: default, range and description are
    :class:`hash_core.params.HashParams`' (or :class:`~hash_core.params.RunPolicy`'s)."""
    owner = HashParams if name in {f.name for f in fields(HashParams)} else RunPolicy
    return Field(**describe(owner, name))


def _sp(name: str):
    """The config field ``sp_<name>``: default, range and description are
    :class:`~focalflow.mechanisms.sp_settings.SpSettings`'."""
    return Field(**describe(SpSettings, name))


class HashConfig(Section):
    """Stage 6: the HASH grid search (names and defaults follow HASH v1.2)."""

    polarity_source: Literal["cnn", "analyst", "combined"] = Field(
        "cnn", description="cnn: polarities.csv from stage 4; analyst: picks.csv; "
        "combined: every source (and polarity_files), one polarity per pick by the consensus "
        "rule.")
    consensus: Literal["analyst_first", "agree_or_drop", "majority", "weighted"] = Field(
        "analyst_first", description="With polarity_source combined: analyst_first (the "
        "analyst's where given, else the CNN's), agree_or_drop (sources must agree), majority, "
        "or weighted (sign of the summed signed weights).")
    polarity_files: list[Path] = Field(
        [], description="More polarity sources for polarity_source combined: SKHASH polarity "
        "CSVs (p_polarity a signed weight of the true ground motion), e.g. consensus or "
        "imputed polarities.")
    polarity_weights: Literal["none", "onset", "cnn_probability"] = Field(
        "onset", description="How polarities count: onset (impulsive/emergent, HASH's two "
        "misfit counts), none (all alike), cnn_probability (weighted as SKHASH weights them: "
        "the CNN's probability; analyst picks by weight code).")
    velocity_models: list[Path] = Field([Path("velocity/demo.txt")], min_length=1,
                                        description="1-D P velocity models used in the Monte Carlo.")
    npolmin: int = _hash("npolmin")
    max_agap_deg: float = _hash("max_agap_deg")
    max_pgap_deg: float = _hash("max_pgap_deg")
    dang_deg: float = _hash("dang_deg")
    nmc: int = _hash("nmc")
    maxout: int = _hash("maxout")
    max_accepted: int = _hash("max_accepted")
    badfrac: float = _hash("badfrac")
    badmin: float = _hash("badmin")
    delmax_km: float = _hash("delmax_km")
    cangle_deg: float = _hash("cangle_deg")
    prob_max: float = _hash("prob_max")
    max_solutions: int = _hash("max_solutions")
    use_sp_ratios: bool = Field(True, description="Use S/P amplitude ratios measured from the windows.")
    ratmin: float = _hash("ratmin")
    qbadfac: float = _hash("qbadfac")
    qbadmin: float = _hash("qbadmin")
    sp_freqmin_hz: float = _sp("freqmin_hz")
    sp_freqmax_hz: float = _sp("freqmax_hz")
    sp_p_window_s: float = _sp("p_window_s")
    sp_s_window_s: float = _sp("s_window_s")
    sp_noise_window_s: float = _sp("noise_window_s")
    sp_corrections_file: Optional[Path] = Field(
        None, description="log10 S/P station corrections (HASH statcor or SKHASH corfile CSV); "
        "null for none.")
    depth_uncert_km: float = _hash("depth_uncert_km")
    horz_uncert_km: float = _hash("horz_uncert_km")
    perturb_epicenter: bool = _hash("perturb_epicenter")
    delmin_km: float = _hash("delmin_km")
    max_takeoff_sigma_deg: float = _hash("max_takeoff_sigma_deg")
    iterative_avg: bool = _hash("iterative_avg")
    honest_quality: bool = _hash("honest_quality")
    quality_min_polarities: int = _hash("quality_min_polarities")
    quality_loo_max_deg: float = _hash("quality_loo_max_deg")
    table_depths_km: tuple[float, float, float] = _hash("table_depths_km")
    table_distances_km: tuple[float, float, float] = _hash("table_distances_km")
    n_rays: int = _hash("n_rays")
    table_edges: Literal["skip", "clamp", "hash_v12"] = _hash("table_edges")
    misfit_weights: Literal["radiation", "hash_v12"] = _hash("misfit_weights")
    rng: Literal["numpy", "hash"] = _hash("rng")
    seed: int = _hash("seed")
    threads: int = _hash("threads")

    def params(self) -> HashParams:
        """The HASH parameters of this section (every HashParams field of the same name)."""
        return HashParams(**{f.name: getattr(self, f.name) for f in fields(HashParams)
                             if f.name in type(self).model_fields})

    def policy(self) -> RunPolicy:
        """The run policy of this section (random stream, seed, threads)."""
        return RunPolicy(**{f.name: getattr(self, f.name) for f in fields(RunPolicy)})


class OutputConfig(Section):
    """Figures, QuakeML and the HTML report (end of stage 6)."""

    figures: bool = Field(True, description="Draw per-event and catalog figures.")
    dpi: int = Field(150, ge=50, le=600, description="Resolution of PNG figures.")
    station_labels: bool = Field(False, description="Write station codes on beachballs.")
    report: bool = Field(True, description="Write report/index.html.")
    quakeml: bool = Field(True, description="Write mechanisms.xml (QuakeML) of the mechanisms.")
    waveform_before_s: float = Field(0.15, gt=0, description=(
        "Seconds of the vertical P window shown before the pick in the waveform figure."))
    waveform_after_s: float = Field(0.35, gt=0, description=(
        "Seconds of the vertical P window shown after the pick in the waveform figure."))


class FiguresConfig(Section):
    """Per-event figures (figures/<event>/): which events stage 6 draws them for."""

    events: int | Literal["all"] = Field(
        20, description="Draw them for the first N events with a mechanism (and every event "
        "named with --events), or all; draw any other on demand with "
        "python -m focalflow.figures EVENT.")
    workers: int = Field(0, ge=0, le=256, description="Processes drawing them (0: every core).")

    @field_validator("events")
    @classmethod
    def _not_negative(cls, value):
        if value != "all" and value < 0:
            raise ValueError("must be a number of events (0 or more) or all")
        return value


class ParallelConfig(Section):
    """How per-event work is spread: threads or processes here, or a Dask cluster."""

    executor: Literal["threads", "processes"] = Field(
        "threads", description="On this machine: threads, or processes for work that holds "
        "Python's lock (stages 2 and 3).")
    scheduler: Optional[str] = Field(
        None, description="A dask.distributed cluster instead: local (a LocalCluster on this "
        "machine) or a scheduler address such as tcp://10.0.0.1:8786; null: none.")
    workers: int = Field(0, ge=0, le=4096, description="Workers (threads, processes or local "
                         "cluster processes); 0: every core. Stage 6 on threads uses "
                         "hash.threads.")
    events_per_task: int = Field(100, ge=1, le=100_000, description="Events sent to a worker "
                                 "at a time (stage 4: their P windows fill whole batches).")
    chunk_events: int = Field(500, ge=1, le=1_000_000, description="Events held in memory "
                              "at once; results are written to disk after each chunk.")

    @field_validator("scheduler")
    @classmethod
    def _scheduler(cls, value: Optional[str]) -> Optional[str]:
        if value is not None and value != "local" and "://" not in value and ":" not in value:
            raise ValueError("must be local or a scheduler address such as "
                             "tcp://10.0.0.1:8786")
        return value


class Config(Section):
    """The whole configuration; ``config.yaml`` mirrors this layout."""

    workdir: Path = Field(Path("work"), description="Working directory shared by all stages.")
    catalog: CatalogConfig = CatalogConfig()
    waveforms: WaveformsConfig = WaveformsConfig()
    sac: SacConfig = SacConfig()
    phases: PhasesConfig = PhasesConfig()
    polarity: PolarityConfig = PolarityConfig()
    stations: StationsConfig = StationsConfig()
    hash: HashConfig = HashConfig()
    output: OutputConfig = OutputConfig()
    figures: FiguresConfig = FiguresConfig()
    parallel: ParallelConfig = ParallelConfig()

    @field_validator("workdir")
    @classmethod
    def _workdir_not_empty(cls, value: Path) -> Path:
        if str(value).strip() in ("", "."):
            raise ValueError("workdir must name a folder other than the current one")
        return value


def _resolve_paths(model: BaseModel, base: Path) -> None:
    """Make every relative Path field absolute against ``base`` (the config file's folder)."""
    for name in type(model).model_fields:
        value = getattr(model, name)
        if isinstance(value, BaseModel):
            _resolve_paths(value, base)
        elif isinstance(value, Path):
            setattr(model, name, _absolute(value, base))
        elif isinstance(value, list) and value and all(isinstance(v, Path) for v in value):
            setattr(model, name, [_absolute(v, base) for v in value])


def _absolute(path: Path, base: Path) -> Path:
    path = path.expanduser()
    return path if path.is_absolute() else (base / path).resolve()


def _section_for(loc: tuple) -> type[BaseModel]:
    """The schema class that owns the key at ``loc`` (all but its last element)."""
    model: type[BaseModel] = Config
    for key in loc[:-1]:
        field = model.model_fields.get(str(key))
        if field is None or not (isinstance(field.annotation, type)
                                 and issubclass(field.annotation, BaseModel)):
            break
        model = field.annotation
    return model


def _describe(error: dict[str, Any], lines: dict[tuple, int]) -> str:
    loc = tuple(error["loc"])
    key = ".".join(str(p) for p in loc)
    line = _line_of(loc, lines)
    where = f"line {line}: " if line is not None else ""
    if error["type"] == "extra_forbidden":
        known = list(_section_for(loc).model_fields)
        close = difflib.get_close_matches(str(loc[-1]), known, n=1, cutoff=0.5)
        hint = f"; did you mean '{'.'.join(str(p) for p in loc[:-1] + (close[0],))}'?" if close else ""
        return f"{where}unknown key '{key}'{hint} (known keys here: {', '.join(known)})"
    message = error["msg"].removeprefix("Value error, ")
    if error["type"] == "literal_error":
        message = f"{message} (got {error.get('input')!r})"
    return f"{where}key '{key}': {message}"


def _line_of(loc: tuple, lines: dict[tuple, int]) -> Optional[int]:
    """Line of the deepest key of ``loc`` present in the file."""
    for end in range(len(loc), 0, -1):
        if loc[:end] in lines:
            return lines[loc[:end]]
    return None


def config_from_dict(data: dict[str, Any], base_dir: Path | str = ".", source: str = "config",
                     lines: Optional[dict[tuple, int]] = None) -> Config:
    """Validate a config mapping; relative paths are resolved against ``base_dir``.

    ``lines`` maps key paths (``("hash", "nmc")``) to their line in ``source``, so that errors
    name the line.
    """
    lines = lines or {}
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(f"{source}: the top level must be a mapping of keys, got {type(data).__name__}")
    try:
        config = Config.model_validate(data)
    except ValidationError as exc:
        errors = [_describe(e, lines) for e in exc.errors()]
        if len(errors) == 1 and errors[0].startswith("line "):
            raise ConfigError(f"{source}, {errors[0]}") from None
        text = "\n  ".join(errors)
        raise ConfigError(f"{source}: invalid configuration:\n  {text}") from None
    _resolve_paths(config, Path(base_dir).resolve())
    _check_workdir(config.workdir, source, lines.get(("workdir",)))
    return config


def _check_workdir(workdir: Path, source: str, line: Optional[int]) -> None:
    """Refuse a working directory that is a filesystem root, the home folder, or the checkout
    (or a folder holding it): the stages write logs/, mseed/, sac/ ... into it."""
    where = f"{source}, line {line}" if line is not None else source
    checkout = Path(__file__).resolve().parents[1]
    workdir = workdir.resolve()
    if workdir == Path(workdir.anchor):
        reason = "is a filesystem root"
    elif workdir == Path.home().resolve():
        reason = "is your home folder"
    elif workdir == checkout or workdir in checkout.parents:
        reason = f"is {'' if workdir == checkout else 'a folder holding '}the focalflow checkout"
    else:
        return
    raise ConfigError(f"{where}: workdir {workdir} {reason}; the stages write their folders "
                      "(logs/, mseed/, sac/, ...) into it: name a folder of its own, e.g. work")


def load_config(path: Path | str = "config.yaml") -> Config:
    """Read and validate a YAML config file; raise ConfigError naming the file, line and key.

    The file must be UTF-8; a key given twice in one mapping is an error (YAML would keep the
    last silently).
    """
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"{path}: config file not found")
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[:exc.start].count(b"\n") + 1
        raise ConfigError(f"{path}, line {line}: not UTF-8 text (byte 0x{raw[exc.start]:02x}); "
                          "save the file as UTF-8") from None
    try:
        lines = _key_lines(yaml.compose(text, Loader=yaml.SafeLoader), str(path))
        data = yaml.safe_load(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f", line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        problem = " ".join(p for p in (exc.context, exc.problem) if p)
        raise ConfigError(f"{path}{where}: not valid YAML: {problem}") from None
    except yaml.reader.ReaderError as exc:  # a character YAML does not allow (e.g. NUL)
        line = text[:exc.position].count("\n") + 1
        raise ConfigError(f"{path}, line {line}: not valid YAML: character "
                          f"{exc.character!r} is not allowed in YAML text") from None
    return config_from_dict(data, base_dir=path.parent, source=str(path), lines=lines)


def _key_lines(node, source: str, path: tuple = ()) -> dict[tuple, int]:
    """Line of every key (and list item) under ``node``; ConfigError for a key given twice."""
    lines: dict[tuple, int] = {}
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            key = (*path, key_node.value)
            line = key_node.start_mark.line + 1
            if key in lines:
                raise ConfigError(f"{source}, line {line}: key '{'.'.join(map(str, key))}' is "
                                  f"given twice (first on line {lines[key]}); keep one")
            lines[key] = line
            lines.update(_key_lines(value_node, source, key))
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            lines[(*path, index)] = item.start_mark.line + 1
            lines.update(_key_lines(item, source, (*path, index)))
    return lines


def _yaml_value(value: Any) -> str:
    if isinstance(value, Path):
        value = str(value)
    elif isinstance(value, list):
        value = [str(v) if isinstance(v, Path) else v for v in value]
    return yaml.safe_dump(value, default_flow_style=True, width=1000).strip().removesuffix("\n...")


def render_default_yaml(model: type[BaseModel] = Config, indent: int = 0) -> str:
    """config.yaml text with every key, its default and its description as a comment."""
    pad = "  " * indent
    lines: list[str] = []
    for name, field in model.model_fields.items():
        annotation = field.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            doc = (annotation.__doc__ or "").strip().splitlines()[0]
            lines += ["", f"{pad}# {doc}", f"{pad}{name}:", render_default_yaml(annotation, indent + 1)]
        else:
            comment = f"  # {field.description}" if field.description else ""
            lines.append(f"{pad}{name}: {_yaml_value(field.default)}{comment}")
    return "\n".join(lines)


if __name__ == "__main__":
    print("# focalflow configuration: every key with its default. The defaults run the demo")
    print("# (python -m focalflow.demo, then bash run_pipeline.sh). Relative paths are relative")
    print("# to this file's folder. Units are in the key names (_s, _km, _deg, _hz).")
    print(render_default_yaml())
