"""One polarity per pick from several sources (analyst, CNN models, SKHASH polarity files).

Each candidate row is an observation (:mod:`focalflow.mechanisms.observations`) of true ground
motion with a ``source`` (SKHASH's names: ``trad_p`` analyst, ``dl_p`` a CNN, ``con_p`` a
consensus file, ``imp_p`` imputed, ...) and a ``polarity_weight`` in [0, 1]. A pick is an
(event, network, station, location); :func:`consensus_polarities` keeps one row per pick by
the rule of ``hash.consensus``:

* ``analyst_first`` — the analyst's polarity where there is one, else the first other source's;
* ``agree_or_drop`` — the polarity all sources give; a pick whose sources disagree is dropped
  (and reported);
* ``majority`` — the polarity most sources give; a tie drops the pick;
* ``weighted`` — the sign of the summed signed weights, with weight |sum| / (sum of weights);
  a sum of 0 drops the pick.

The kept row's ``source`` names every source of the pick joined by ``+``, the source of the
kept row first and the others in the order given (``trad_p+dl_p``), so ``polinfo.csv`` tells
where each polarity came from.
"""
from __future__ import annotations

from typing import Callable

import numpy as np
import pandas as pd

CONSENSUS_RULES = ("analyst_first", "agree_or_drop", "majority", "weighted")
PICK = ["event_id", "network", "station", "location"]


def _joined(kept: str, given: list) -> str:
    """The sources of a pick, the kept row's first: ``trad_p+dl_p``."""
    return "+".join(dict.fromkeys([str(kept), *given]))


def consensus_polarities(candidates: pd.DataFrame, rule: str,
                         on_problem: Callable[[str, str, str], None]) -> pd.DataFrame:
    """One polarity row per pick of ``candidates`` (observations of kind P, sources in order of
    precedence) by ``rule`` (module docstring); dropped picks go to ``on_problem(event_id,
    station code, reason)``."""
    if rule not in CONSENSUS_RULES:
        raise ValueError(f"consensus rule must be one of {', '.join(CONSENSUS_RULES)}, not {rule!r}")
    if candidates.empty:
        return candidates
    frame = candidates.reset_index(drop=True)
    sign = np.sign(frame["p_polarity"].to_numpy(float))
    weight = np.abs(np.nan_to_num(frame["polarity_weight"].to_numpy(float), nan=1.0))
    keep, sources, polarity, weights = [], [], [], []
    for key, rows in frame.groupby(PICK, sort=False).indices.items():
        votes = sign[rows]
        given = frame.loc[rows, "source"].astype(str).tolist()
        if len(rows) == 1 or rule == "analyst_first":
            analyst = [r for r in rows if str(frame.at[r, "source"]).startswith("trad_p")]
            chosen = analyst[0] if analyst else rows[0]
            keep.append(chosen)
            sources.append(_joined(frame.at[chosen, "source"], given))
            polarity.append(sign[chosen])
            weights.append(frame.at[chosen, "polarity_weight"])
            continue
        if rule == "weighted":
            total = float(np.sum(votes * weight[rows]))
            verdict = np.sign(total)
            share = abs(total) / float(weight[rows].sum()) if weight[rows].sum() > 0 else 0.0
        else:
            ups, downs = int((votes > 0).sum()), int((votes < 0).sum())
            if rule == "agree_or_drop":
                verdict = 1.0 if downs == 0 else (-1.0 if ups == 0 else 0.0)
            else:
                verdict = float(np.sign(ups - downs))
            share = np.nan
        if verdict == 0:
            on_problem(key[0], ".".join(str(k) for k in key[1:]),
                       f"polarity sources disagree ({'+'.join(given)}: "
                       f"{', '.join('U' if v > 0 else 'D' for v in votes)}); "
                       f"dropped by the {rule} rule")
            continue
        first = rows[int(np.flatnonzero(votes == verdict)[0])]
        keep.append(first)
        sources.append(_joined(frame.at[first, "source"], given))
        polarity.append(verdict)
        weights.append(share if rule == "weighted" else frame.at[first, "polarity_weight"])
    out = frame.loc[keep].copy()
    out["source"] = sources
    out["p_polarity"] = np.asarray(polarity, dtype=float)
    out["polarity_weight"] = np.asarray(weights, dtype=float)
    return out.reset_index(drop=True)
