"""The review app's one link to stage 6's engine: the working directory's observations and
one event solved with its HASH settings, kept warm (velocity tables, numba kernels) for the
life of the server.

Stage 6 is being given a public "solve one event" function; until it lands this adapter
builds on today's engine (``focalflow.stages.run_hash`` for the observation table and
:class:`focalflow.mechanisms.solve.EventSolver`), so switching is a change here only.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from focalflow.cli import StageContext
from focalflow.mechanisms.overrides import apply_overrides, effective_edits
from focalflow.mechanisms.solve import (EventSolver, OBS_COLUMNS, RunOptions,
                                        add_distance_azimuth, attach_stations, make_observations,
                                        station_code, velocity_tables)


class ReviewSolver:
    """Solves single events of a working directory the way stage 6 does, with the reviewed
    edits of ``overrides.csv`` applied (after the station reversals)."""

    def __init__(self, ctx: StageContext):
        from focalflow.stages import run_hash
        from focalflow.tables import read_table

        cfg = ctx.config.hash
        self.ctx = ctx
        self.events = read_table(ctx.workdir.events_csv, "events").set_index("event_id",
                                                                             drop=False)
        self.stations = read_table(ctx.workdir.stations_csv, "stations")
        self.observations = run_hash._workdir_observations(ctx, self.events.reset_index(drop=True))
        self._rows = self.observations.groupby("event_id", sort=False).indices
        options = RunOptions(npolmin=cfg.npolmin, max_agap_deg=cfg.max_agap_deg,
                             max_pgap_deg=cfg.max_pgap_deg, dang_deg=cfg.dang_deg, nmc=cfg.nmc,
                             maxout=cfg.maxout, badfrac=cfg.badfrac, qbadfac=cfg.qbadfac,
                             delmax_km=cfg.delmax_km, cangle_deg=cfg.cangle_deg,
                             prob_max=cfg.prob_max, rng=cfg.rng, seed=cfg.seed,
                             default_depth_sigma_km=cfg.depth_uncert_km, threads=cfg.threads,
                             misfit_weights=cfg.misfit_weights)
        self.solver = EventSolver(options, velocity_tables(cfg.velocity_models))

    def event_observations(self, event_id: str, overrides: pd.DataFrame | None) -> pd.DataFrame:
        """The event's observation rows (polarities and S/P ratios) with its edits applied; a
        ``set`` for a station without a polarity row adds one."""
        rows = self.observations.iloc[self._rows.get(event_id, [])]
        if overrides is None or not len(overrides):
            return rows.reset_index(drop=True)
        mine = overrides[overrides["event_id"] == event_id]
        obs = apply_overrides(rows, mine)
        added = [edit for edit in effective_edits(mine).to_dict("records")
                 if edit["action"] == "set" and not _has_polarity(obs, edit)]
        if added:
            obs = pd.concat([obs, self._polarity_rows(event_id, added)], ignore_index=True)
        return obs

    def _polarity_rows(self, event_id: str, edits: list[dict]) -> pd.DataFrame:
        frame = pd.DataFrame([{"event_id": event_id, "network": e["network"],
                               "station": e["station"], "location": e["location"],
                               "channel": e["channel"], "p_polarity": float(e["polarity"]),
                               "impulsive": False, "source": "review"} for e in edits])
        rows = make_observations(frame, kind="P")
        site = lambda f: f["network"] + "." + f["station"] + "." + f["location"]  # noqa: E731
        rows = attach_stations(rows, self.stations, site, self.ctx.failures.add)
        return add_distance_azimuth(rows, self.events.reset_index(drop=True))

    def solve(self, event_id: str, observations: pd.DataFrame) -> dict | None:
        """``{"mechanisms": rows (dicts, preferred first), "acceptable": (n, 3) strike/dip/rake,
        "polinfo": frame}`` of the event, or None when it cannot be solved (the reason is
        in ``problems``)."""
        self.problems: list[tuple] = []
        event = self.events.loc[event_id].to_dict()
        columns = {c: observations[c].to_numpy() for c in OBS_COLUMNS}
        for name in ("distance_km", "takeoff_deg", "azimuth_deg", "takeoff_sigma_deg",
                     "azimuth_sigma_deg", "station_lat", "station_lon", "station_elev_m",
                     "p_polarity", "sp_ratio"):
            columns[name] = pd.to_numeric(observations[name], errors="coerce").to_numpy(float)
        columns["sta_code"] = np.array([station_code(*codes) for codes in zip(
            observations["network"], observations["station"], observations["location"],
            observations["channel"])], dtype=object)
        result = self.solver.solve(event, columns, lambda *p: self.problems.append(p))
        if result is None:
            return None
        acceptable = np.column_stack([result["acceptable"][k] for k in ("strike", "dip", "rake")])
        return {"mechanisms": result["mechanisms"], "acceptable": acceptable,
                "polinfo": pd.DataFrame(result["polinfo"])}


def _has_polarity(observations: pd.DataFrame, edit: dict) -> bool:
    match = ((observations["network"] == edit["network"])
             & (observations["station"] == edit["station"])
             & (observations["location"] == edit["location"]) & (observations["kind"] == "P"))
    return bool(match.any())
