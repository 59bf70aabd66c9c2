"""P and S first arrivals and take-off angles from ObsPy's TauP on a 1-D model file.

The demo computes its rays with TauP (spherical Earth, exact ray parameters) on a model built
from ``velocity/demo.txt``, independently of ``hash_core``'s own ray tracer, so the pipeline's
take-off angles can be checked against them.
"""
from __future__ import annotations

import contextlib
import io
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from obspy.taup import TauPyModel
from obspy.taup.taup_create import TauPCreate
from obspy.taup.taup_time import TauPTime

VP_VS = 1.73


def read_velocity_model(path: Path | str) -> tuple[np.ndarray, np.ndarray]:
    """``depth_km vp_km_s`` lines (``#`` comments) -> (depth_km, vp_km_s) arrays."""
    data = np.loadtxt(path, comments="#", ndmin=2)
    return data[:, 0], data[:, 1]


def gardner_density(vp_km_s: np.ndarray) -> np.ndarray:
    """Density in g/cm^3 from Gardner et al. (1974): rho = 1.74 vp^0.25 (vp in km/s)."""
    return 1.74 * np.asarray(vp_km_s) ** 0.25


# A coarse whole Earth below the demo model (values rounded from ak135), only so that TauP has
# a planet with a core; local rays never reach it.
_DEEP_EARTH = """\
120.0 8.05 4.50 3.37
660.0 10.20 5.61 4.06
2891.0 13.66 7.28 5.57
outer-core
2891.0 8.00 0.00 9.91
5153.5 10.29 0.00 12.17
inner-core
5153.5 11.04 3.50 12.70
6371.0 11.26 3.67 13.01"""


def named_discontinuity_model(depth_km: np.ndarray, vp_km_s: np.ndarray) -> str:
    """TauP ``.nd`` text: the given crust/upper mantle (Vs = Vp/1.73, Gardner density), then a
    coarse deep Earth."""
    # Sublayers under 2 km: TauP's power-law slowness interpolation overflows in thick layers
    # with the steep gradients of a crust and then needs its linear fallback, which it only
    # takes for thin layers. Linear interpolation keeps the model the same.
    fine_depth = np.unique(np.concatenate([depth_km, np.arange(depth_km[0], depth_km[-1], 1.0)]))
    vp_km_s = np.interp(fine_depth, depth_km, vp_km_s)
    depth_km = fine_depth
    vs = vp_km_s / VP_VS
    rho = gardner_density(vp_km_s)
    lines = []
    for z, vp, s, r in zip(depth_km, vp_km_s, vs, rho):
        if vp >= 7.5 and "mantle" not in lines:
            lines.append("mantle")  # TauP wants the top of the mantle named
        lines.append(f"{z:.3f} {vp:.4f} {s:.4f} {r:.4f}")
    return "\n".join(lines) + "\n" + _DEEP_EARTH + "\n"


@dataclass
class Arrival:
    """First arrival of one phase: travel time (s), take-off angle from the downward vertical
    at the source (deg), incidence angle from the vertical at the receiver (deg)."""

    time_s: float
    takeoff_deg: float
    incidence_deg: float


class DemoTravelTimes:
    """TauP model built from a ``depth_km vp_km_s`` file (in a temporary folder)."""

    def __init__(self, velocity_file: Path | str):
        depth, vp = read_velocity_model(velocity_file)
        with tempfile.TemporaryDirectory() as tmp:
            nd = Path(tmp) / "focalflow_demo.nd"
            nd.write_text(named_discontinuity_model(depth, vp))
            npz = Path(tmp) / "focalflow_demo.npz"
            # coarser sampling than TauP's defaults: build_taup_model's settings are meant for
            # global phases; here every arrival is refined by ray shooting anyway
            creator = TauPCreate(str(nd), str(npz), max_interp_error=0.5, max_range_interval=10.0,
                                 max_depth_interval=500.0)
            creator.load_velocity_model()
            with contextlib.redirect_stdout(io.StringIO()):
                creator.run()
            self.model = TauPyModel(model=str(npz))

    def first_arrivals(self, depth_km: float, distances_deg) -> list[tuple[Arrival, Arrival]]:
        """First P and first S arrival from a source at ``depth_km`` to surface receivers at
        each of ``distances_deg`` (the depth-corrected model is built once per call)."""
        calculators = {}
        for phase, names in (("P", ["p", "P", "Pn"]), ("S", ["s", "S", "Sn"])):
            calculator = TauPTime(self.model.model, names, depth_km, 0.0, receiver_depth=0.0)
            calculator.depth_correct(depth_km)
            calculator.recalc_phases()
            calculators[phase] = calculator
        result = []
        for distance in distances_deg:
            pair = []
            for phase, calculator in calculators.items():
                calculator.calc_time(float(distance))
                if not calculator.arrivals:
                    raise ValueError(f"TauP found no {phase} arrival at {distance:.3f} deg, "
                                     f"source depth {depth_km} km")
                first = calculator.arrivals[0]
                pair.append(Arrival(float(first.time), float(first.takeoff_angle),
                                    float(first.incident_angle)))
            result.append(tuple(pair))
        return result
