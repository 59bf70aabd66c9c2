"""Stage 6 over a catalog of any size: chunks of events through one executor, results streamed
to disk, so memory stays flat whatever the number of events.

1. **Split.** The catalog's input tables (picks or CNN polarities, S/P ratios) and the result
   tables of an earlier run are split by chunks of ``parallel.chunk_events`` events
   (:class:`focalflow.event_chunks.EventChunks`).
2. **Solve.** Chunk by chunk: the S/P ratios of the events whose windows or settings changed
   are measured, the observations built (:func:`~focalflow.mechanisms.observations.build_observations`),
   the events to redo found in the ledger (:mod:`focalflow.mechanisms.rerun`), and their
   solves sent to the executor (:mod:`focalflow.parallel`: threads, processes or a Dask
   cluster) in tasks of ``parallel.events_per_task`` events; the next chunk is prepared while
   the workers solve. Each chunk's new rows and ledger records go to the scratch folder.
3. **Write.** Under the tables' locks, mechanisms.csv, mechanisms_acceptable.csv, polinfo.csv
   and sp_ratios.csv are rewritten in catalog order, a chunk at a time (redone events' new
   rows, every other event's rows kept as they were), and the products are written from the
   same chunks (:class:`focalflow.products.results.Products`); then the ledger records.

HASH's single random stream (``hash.rng: hash``) draws in event order across the whole
catalog, so it runs the catalog as one chunk, in this process.
"""
from __future__ import annotations

import collections
import contextlib
import logging
import pickle
from dataclasses import dataclass, field

import pandas as pd
from tqdm import tqdm

from focalflow.event_chunks import EventChunks, MergedTable, as_text, release_free_memory
from focalflow.formats.skhash import ACCEPTABLE_COLUMNS, MECHANISM_COLUMNS, POLINFO_COLUMNS
from focalflow.mechanisms.observations import build_observations, polarity_settings
from focalflow.mechanisms.overrides import read_overrides
from focalflow.mechanisms.rerun import (ItemRerun, mechanism_fingerprints, model_digests,
                                        sp_fingerprints)
from focalflow.mechanisms.result_tables import concat_tables, round_tables
from focalflow.mechanisms.solve import (SolveSettings, catalog_executor, catalog_tasks,
                                        solve_task, velocity_tables)
from focalflow.provenance import Ledger, RerunSummary
from focalflow.tables import COLUMNS, read_table
from focalflow.workdir import locked
from hash_core.compile import ensure_compiled
from hash_core.grid import mechanism_grid
from hash_core.rng import make_rng

log = logging.getLogger("focalflow.6_run_hash")
STAGE = "6_run_hash"
RESULTS = {"mechanisms": ("mechanisms_csv", MECHANISM_COLUMNS),
           "acceptable": ("acceptable_csv", ACCEPTABLE_COLUMNS),
           "polinfo": ("polinfo_csv", POLINFO_COLUMNS)}


@dataclass
class ChunkPlan:
    """What one chunk redoes: S/P ratios and mechanisms, with the problems of each event."""

    k: int
    sp_redo: list = field(default_factory=list)
    redo: list = field(default_factory=list)
    tasks: object = 0
    problems: dict = field(default_factory=dict)
    rerun: object = None
    summary: RerunSummary | None = None
    sp_summary: RerunSummary | None = None


def run_catalog(ctx) -> dict:
    """Stage 6 on the working directory (module docstring); returns the stage's counts."""
    from focalflow.products.results import Products

    cfg, wd = ctx.config.hash, ctx.workdir
    events = read_table(wd.events_csv, "events")
    order = list(events["event_id"])
    size = len(order) if cfg.rng == "hash" else ctx.config.parallel.chunk_events
    ledger = Ledger(wd, STAGE)
    with EventChunks(order, max(size, 1), wd.ledger_dir / "scratch") as chunks:
        _split_inputs(ctx, chunks)
        plans = solve_chunks(ctx, chunks, events, ledger)
        with contextlib.ExitStack() as locks:
            for path in _table_paths(ctx):
                locks.enter_context(locked(path))
            products = Products(ctx, chunks, events, ledger)
            _write_tables(ctx, chunks, plans, products)
        for plan in plans:
            with open(_stash(chunks, plan.k), "rb") as handle:
                ledger.put_changes(pickle.load(handle))
            ledger.save()
        counts = products.finish()
    selected = events[[ctx.selected(e) for e in order]]
    solved = products.catalog[products.catalog["event_id"].isin(set(selected["event_id"]))]
    letters = solved["quality"].value_counts().to_dict()
    return {"events": len(selected), "computed": sum(len(p.redo) for p in plans),
            "mechanisms": int(solved["event_id"].nunique()),
            **{f"quality_{k}": int(v) for k, v in sorted(letters.items()) if k}, **counts}


def _table_paths(ctx) -> list:
    wd = ctx.workdir
    paths = [getattr(wd, attribute) for attribute, _ in RESULTS.values()]
    return paths + ([wd.sp_ratios_csv] if ctx.config.hash.use_sp_ratios else [])


def _split_inputs(ctx, chunks: EventChunks) -> None:
    """Split the tables stage 6 reads by chunk (the result tables are split later, under
    their locks)."""
    wd, source = ctx.workdir, ctx.config.hash.polarity_source
    if source in ("analyst", "combined") or ctx.config.output.quakeml:
        chunks.split_file("picks", wd.picks_csv, "picks")
    if source in ("cnn", "combined"):
        chunks.split_file("polarities", wd.polarities_csv, "polarities")
    if ctx.config.hash.use_sp_ratios:
        chunks.split_file("sp_ratios", wd.sp_ratios_csv, "sp_ratios", as_text=True)
    if source in ("analyst", "combined") and not wd.picks_csv.is_file():
        read_table(wd.picks_csv, "picks")  # names the missing file
    if source in ("cnn", "combined") and not wd.polarities_csv.is_file():
        read_table(wd.polarities_csv, "polarities")


def _small_tables(ctx) -> dict:
    """The whole-catalog tables small enough to hold: stations, overrides, reversals, and the
    polarity settings (:func:`~focalflow.mechanisms.observations.polarity_settings`, with the
    ``hash.polarity_files``)."""
    wd, source = ctx.workdir, ctx.config.hash.polarity_source
    tables = {"stations": read_table(wd.stations_csv, "stations"),
              "overrides": read_overrides(wd.overrides_csv) if wd.overrides_csv.is_file()
              else None}
    if source in ("analyst", "combined"):
        tables["reversals"] = (read_table(wd.reversals_csv, "reversals")
                               if wd.reversals_csv.is_file() else None)
    tables["polarity"] = polarity_settings(ctx.config.hash)
    return tables


def solve_chunks(ctx, chunks: EventChunks, events: pd.DataFrame, ledger: Ledger) -> list[ChunkPlan]:
    """Measure S/P ratios and solve the events to redo, chunk after chunk (module docstring,
    step 2); each chunk's new rows and ledger records go to the scratch folder."""
    cfg = ctx.config.hash
    params, policy = cfg.params(), cfg.policy()
    small = _small_tables(ctx)
    models = model_digests(cfg.velocity_models)
    settings = SolveSettings(params, velocity_tables(cfg.velocity_models, params), policy.seed,
                             make_rng("hash") if policy.rng == "hash" else None)
    ensure_compiled(log.info)
    mechanism_grid(params.dang_deg)
    selected = events[[ctx.selected(e) for e in events["event_id"]]]
    executor, settings.parallel = catalog_executor(policy, len(selected), ctx.config.parallel)
    log.info("solving on %s", executor)
    per_task = ctx.config.parallel.events_per_task
    plans: list[ChunkPlan] = []
    done: dict[int, list] = {}
    progress = tqdm(total=len(selected), desc="events", unit="event", leave=False, disable=None)

    def tasks():
        for k in range(chunks.count):
            plan = _plan_chunk(ctx, chunks, k, selected, ledger, small, models, executor)
            obs, todo = plan.tasks
            parts = list(catalog_tasks(todo, obs, per_task)) or [([], [])]
            plan.tasks = len(parts)
            plans.append(plan)
            done[k] = []
            for part in parts:
                yield k, part

    keys: collections.deque = collections.deque()

    def payloads():
        for k, part in tasks():
            keys.append(k)
            yield part

    with executor:
        for results in executor.map(solve_task, payloads(), settings):
            k = keys.popleft()
            done[k].append(results)
            progress.update(len(results))
            plan = plans[k]
            if len(done[k]) == plan.tasks:
                _finish_chunk(ctx, chunks, plan, done.pop(k), ledger)
    progress.close()
    if chunks.count > 1:
        for what, key in (("S/P ratios", "sp_summary"), ("mechanisms", "summary")):
            summaries = [getattr(plan, key) for plan in plans if getattr(plan, key) is not None]
            if summaries:
                log.info("%s: %s", what, _total(summaries))
    return plans


def _total(summaries: list[RerunSummary]) -> RerunSummary:
    """One summary of the chunks' summaries."""
    total = RerunSummary(summaries[0].noun)
    for summary in summaries:
        total.kept += summary.kept
        total.reasons.update(summary.reasons)
    return total


def _plan_chunk(ctx, chunks: EventChunks, k: int, selected: pd.DataFrame, ledger: Ledger,
                small: dict, models: dict, executor) -> ChunkPlan:
    """Chunk ``k``'s S/P ratios (measured where needed), observations and events to redo;
    ``plan.tasks`` holds (observations, events to solve) until the caller splits them."""
    cfg = ctx.config.hash
    plan = ChunkPlan(k)
    ids = set(chunks.events(k))
    events = selected[selected["event_id"].isin(ids)].reset_index(drop=True)
    ledger.prefetch([f"mechanism/{e}" for e in events["event_id"]]
                    + [f"sp/{e}" for e in events["event_id"]])
    sp_ratios = None
    if cfg.use_sp_ratios:
        sp_ratios = _chunk_sp_ratios(ctx, chunks, plan, events, ledger, executor)
    inputs = {name: chunks.rows(name, k, COLUMNS[name]) for name in ("picks", "polarities")
              if name in _inputs_of(cfg.polarity_source)}
    obs = build_observations(events, cfg.polarity_source, small["stations"], ctx.failures.add,
                             sp_ratios=sp_ratios, overrides=small["overrides"],
                             reversals=small.get("reversals"), **small["polarity"], **inputs)
    rerun = ItemRerun(ledger, "mechanism", [p.name for p in _table_paths(ctx)[:3]], ctx.overwrite)
    plan.redo = rerun.plan(mechanism_fingerprints(ctx.config, events, obs, models),
                           all_or_none="rng hash: one random stream for all events"
                           if cfg.rng == "hash" else "")
    _log_rerun("mechanisms", k, chunks, rerun)
    plan.summary = rerun.summary
    for event_id, station, reason in rerun.kept_failures(plan.redo):
        ctx.failures.add(event_id, station or None, reason)
    plan.problems = {event_id: [] for event_id in plan.redo}
    plan.rerun = rerun
    todo = events[events["event_id"].isin(set(plan.redo))]
    plan.tasks = (obs[obs["event_id"].isin(set(plan.redo))], todo)
    return plan


def _inputs_of(source: str) -> tuple:
    return {"cnn": ("polarities",), "analyst": ("picks",),
            "combined": ("picks", "polarities")}[source]


def _chunk_sp_ratios(ctx, chunks: EventChunks, plan: ChunkPlan, events: pd.DataFrame,
                     ledger: Ledger, executor) -> pd.DataFrame:
    """The chunk's S/P ratios: measured anew for the events whose windows or ``hash.sp_*``
    settings changed, kept for the others."""
    from focalflow.mechanisms.amplitudes import SpSettings, measure_events_sp, read_sp_corrections

    wd, cfg = ctx.workdir, ctx.config.hash
    rerun = ItemRerun(ledger, "sp", [wd.sp_ratios_csv.name], ctx.overwrite)
    plan.sp_redo = rerun.plan(sp_fingerprints(ctx.config, wd, events["event_id"]))
    _log_rerun("S/P ratios", plan.k, chunks, rerun)
    plan.sp_summary = rerun.summary
    for event_id, station, reason in rerun.kept_failures(plan.sp_redo):
        ctx.failures.add(event_id, station or None, reason)
    old = chunks.rows("sp_ratios", plan.k, COLUMNS["sp_ratios"])
    old = old[old["event_id"].isin(set(events["event_id"]) - set(plan.sp_redo))]
    new = pd.DataFrame(columns=COLUMNS["sp_ratios"])
    if plan.sp_redo:
        settings = SpSettings.from_config(cfg)
        corrections = read_sp_corrections(cfg.sp_corrections_file)
        tables = []
        for event_id, table, problems in measure_events_sp(executor, wd, plan.sp_redo,
                                                           settings, corrections):
            tables += [table] if table is not None else []
            for station, reason in problems:
                ctx.failures.add(event_id, station, reason)
            rerun.record(event_id, problems)
        if tables:
            new = pd.concat(tables, ignore_index=True)
        chunks.split("new_sp_ratios", [new])
    rows = pd.concat([old, as_text(new)], ignore_index=True) if len(new) else old
    for column in COLUMNS["sp_ratios"][5:]:   # as read back from sp_ratios.csv
        rows[column] = pd.to_numeric(rows[column], errors="coerce")
    return rows


def _log_rerun(what: str, k: int, chunks: EventChunks, rerun: ItemRerun) -> None:
    where = f" (events {k * chunks.size + 1}-{min((k + 1) * chunks.size, len(chunks.order))})" \
        if chunks.count > 1 else ""
    (log.info if chunks.count == 1 else log.debug)("%s%s: %s", what, where, rerun.summary)


def _finish_chunk(ctx, chunks: EventChunks, plan: ChunkPlan, task_results: list,
                  ledger: Ledger) -> None:
    """A solved chunk: its new rows and ledger records to the scratch folder."""
    parts = []
    for results in task_results:
        for event_id, result, problems in results:
            for problem in problems:
                plan.problems[problem[0]].append((problem[1] or "", problem[2]))
                ctx.failures.add(*problem)
            if result is not None:
                parts.append(result)
    frames = round_tables(concat_tables(parts))   # as written
    for name in RESULTS:
        chunks.split(f"new_{name}", [frames[name]])
    for event_id in plan.redo:
        plan.rerun.record(event_id, plan.problems[event_id])
    plan.rerun = None
    with open(_stash(chunks, plan.k), "wb") as handle:
        pickle.dump(ledger.take_changes(), handle, protocol=pickle.HIGHEST_PROTOCOL)
    del parts, frames
    release_free_memory()


def _stash(chunks: EventChunks, k: int):
    return chunks.scratch_file(f"ledger.{k}.pickle")


def _write_tables(ctx, chunks: EventChunks, plans: list[ChunkPlan], products) -> None:
    """Rewrite the result tables in catalog order from the old tables and the chunks' new rows
    (module docstring, step 3), handing each merged chunk to ``products``."""
    wd = ctx.workdir
    tables = {name: (getattr(wd, attribute), columns)
              for name, (attribute, columns) in RESULTS.items()}
    if ctx.config.hash.use_sp_ratios:
        tables["sp_ratios"] = (wd.sp_ratios_csv, COLUMNS["sp_ratios"])
    writers = {}
    for name, (path, columns) in tables.items():
        chunks.split_file(f"old_{name}", path, as_text=True)
        writers[name] = MergedTable(path, f"old_{name}", chunks, columns)
    redo = {plan.k: set(plan.redo) for plan in plans}
    sp_redo = {plan.k: set(plan.sp_redo) for plan in plans}
    committed = False
    try:
        for k in range(chunks.count + 1):
            merged = {}
            for name, writer in writers.items():
                replaced = sp_redo.get(k, set()) if name == "sp_ratios" else redo.get(k, set())
                new = chunks.rows(f"new_{name}", k, tables[name][1]) if replaced else None
                merged[name] = writer.write(k, new, replaced, products.rows_wanted(name, merged))
            products.add(k, merged)
            del merged, new
            release_free_memory()
        committed = True
    finally:
        for writer in writers.values():
            writer.close(commit=committed)
