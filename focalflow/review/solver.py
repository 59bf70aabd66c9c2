"""The review app's link to stage 6: one event's observations built and solved exactly as
stage 6 builds and solves them (:func:`focalflow.mechanisms.observations.build_observations`,
:func:`focalflow.mechanisms.solve.solve_event`), with the working directory's tables and
velocity tables loaded once and the grid-search kernels kept warm for the life of the server.
"""
from __future__ import annotations

import pandas as pd

from focalflow.cli import StageContext
from focalflow.mechanisms.observations import build_observations, polarity_settings
from focalflow.mechanisms.solve import event_stream, solve_event, velocity_tables
from focalflow.tables import read_table


class ReviewSolver:
    """Solves single events of a working directory the way stage 6 does, with given reviewed
    edits (``overrides.csv`` rows) applied after the station reversals."""

    def __init__(self, ctx: StageContext):
        wd, cfg = ctx.workdir, ctx.config.hash
        self.ctx = ctx
        self.events = read_table(wd.events_csv, "events").set_index("event_id", drop=False)
        self.stations = read_table(wd.stations_csv, "stations")
        self.params, self.policy = cfg.params(), cfg.policy()
        self.velocity_tables = velocity_tables(cfg.velocity_models, self.params)
        self.polarity = polarity_settings(cfg)
        self.tables = {"picks": _optional(wd.picks_csv, "picks"),
                       "polarities": _optional(wd.polarities_csv, "polarities"),
                       "reversals": _optional(wd.reversals_csv, "reversals"),
                       "sp_ratios": (_optional(wd.sp_ratios_csv, "sp_ratios")
                                     if cfg.use_sp_ratios else None)}
        self.problems: list[tuple] = []

    def event_observations(self, event_id: str, overrides: pd.DataFrame | None) -> pd.DataFrame:
        """The event's observation rows (polarities and S/P ratios, stations attached) with the
        edits of ``overrides`` applied; a ``set`` of a station without a polarity adds one."""
        event = self.events.loc[[event_id]].reset_index(drop=True)
        return build_observations(event, self.ctx.config.hash.polarity_source, self.stations,
                                  self._problem, overrides=overrides, **self.polarity,
                                  **self.tables)

    def solve(self, event_id: str, observations: pd.DataFrame) -> dict[str, pd.DataFrame]:
        """``{"mechanisms", "acceptable", "polinfo"}`` frames of the event (empty when it
        cannot be solved; :attr:`problems` says why), from its own numpy random stream as
        stage 6 draws it (with ``hash.rng: hash`` stage 6 shares one stream between events,
        which a single event cannot reproduce)."""
        self.problems = []
        return solve_event(self.events.loc[event_id].to_dict(), observations, self.params,
                           self.velocity_tables, event_stream(event_id, self.policy.seed),
                           self._problem)

    def _problem(self, event_id, station, reason) -> None:
        self.problems.append((event_id, station, reason))


def _optional(path, name: str) -> pd.DataFrame | None:
    return read_table(path, name) if path.is_file() else None
