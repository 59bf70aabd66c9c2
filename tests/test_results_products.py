"""The end-of-stage-6 products on a small working directory: QuakeML, figures, report."""
from __future__ import annotations

import re
import shutil

import matplotlib.image as mpimg
import numpy as np
import pandas as pd
import pytest
from obspy import read_events

from focalflow.cli import run_stage
from focalflow.config import config_from_dict
from focalflow.formats.quakeml_mechanisms import read_mechanisms_quakeml
from focalflow.products.plots.catalog import CATALOG_FIGURES
from focalflow.products.results import event_observations, load_tables, write_products
from focalflow.workdir import WorkDir
from results_case import MECHANISMS, NO_MECHANISM, build_workdir


def assert_not_blank(path):
    """A PNG with drawn content: more than 1 % non-white pixels and real contrast."""
    image = mpimg.imread(path)[..., :3]
    assert image.shape[0] > 100 and image.shape[1] > 100, path
    ink = (image < 0.9).any(axis=-1).mean()
    assert ink > 0.01 and image.std() > 0.05, f"{path} looks blank (ink {ink:.3f})"


@pytest.fixture(scope="module")
def products(tmp_path_factory):
    """A working directory after write_products (run as stage 6 would)."""
    root = build_workdir(tmp_path_factory.mktemp("results") / "work")
    config = config_from_dict({"workdir": str(root), "output": {"dpi": 50}}, base_dir=root)
    summary = run_stage("6_run_hash", write_products, config)
    return WorkDir(root), config, summary


def test_every_event_with_a_mechanism_gets_both_figures(products):
    wd, _, summary = products
    assert summary["event_figures"] == len(MECHANISMS)
    for event_id in MECHANISMS:
        for name in ("beachball.png", "waveforms.png"):
            assert_not_blank(wd.event_figures_dir(event_id) / name)
    assert not wd.event_figures_dir(NO_MECHANISM).exists()


def test_catalog_figures_and_summary_table(products):
    wd, _, _ = products
    for name in CATALOG_FIGURES.values():
        assert_not_blank(wd.figures_dir / name)
    summary = pd.read_csv(wd.figures_dir / "quality_summary.csv")
    assert list(summary["quality"]) == ["A", "B", "C", "all"]
    assert list(summary["events"]) == [2, 1, 1, 4]


def test_faulting_class_column_is_added_to_mechanisms_csv(products):
    wd, _, _ = products
    mechanisms = pd.read_csv(wd.mechanisms_csv, dtype={"event_id": str})
    first = mechanisms.drop_duplicates("event_id").set_index("event_id")["faulting_class"]
    assert first.to_dict() == {"ev1": "strike-slip", "ev2": "normal", "ev3": "reverse",
                               "ev4": "oblique"}


def test_quakeml_round_trips_through_obspy(products):
    wd, _, _ = products
    mechanisms = pd.read_csv(wd.mechanisms_csv, dtype={"event_id": str})
    polinfo = pd.read_csv(wd.polinfo_csv, dtype={"event_id": str})
    catalog = read_events(str(wd.mechanisms_xml))
    assert len(catalog) == len(MECHANISMS)
    by_id = {str(e.resource_id).rsplit("/", 1)[-1]: e for e in catalog}
    for row in mechanisms.drop_duplicates("event_id").itertuples(index=False):
        event = by_id[row.event_id]
        mechanism = event.preferred_focal_mechanism()
        plane1 = mechanism.nodal_planes.nodal_plane_1
        assert (plane1.strike, plane1.dip, plane1.rake) == pytest.approx(
            (row.strike, row.dip, row.rake))
        plane2 = mechanism.nodal_planes.nodal_plane_2
        assert (plane2.strike, plane2.dip, plane2.rake) == pytest.approx(
            (row.strike2, row.dip2, row.rake2))
        assert mechanism.nodal_planes.preferred_plane is None  # first motions cannot tell
        assert plane1.strike_errors.uncertainty == pytest.approx(row.fault_plane_uncertainty)
        assert mechanism.misfit == pytest.approx(row.polarity_misfit / 100)
        assert mechanism.station_polarity_count == row.num_p_pol
        assert mechanism.azimuthal_gap == pytest.approx(row.azimuthal_gap)
        assert mechanism.station_distribution_ratio == pytest.approx(
            row.sta_distribution_ratio / 100)
        assert str(mechanism.method_id).endswith("HASH")
        assert any(c.text == f"HASH quality {row.quality}" for c in mechanism.comments)
        axes = mechanism.principal_axes
        assert 0 <= axes.p_axis.plunge <= 90 and 0 <= axes.t_axis.plunge <= 90
        origin = event.preferred_origin()
        assert origin.depth == pytest.approx(row.origin_depth_km * 1000)
        assert event.preferred_magnitude().mag == pytest.approx(MECHANISMS[row.event_id][3])
        used = polinfo[(polinfo["event_id"] == row.event_id) & polinfo["p_polarity"].notna()]
        assert len(event.picks) == len(used)
        picks = {p.waveform_id.station_code: p for p in event.picks}
        arrivals = {str(a.pick_id): a for a in origin.arrivals}
        for obs in used.itertuples(index=False):
            pick = picks[obs.sta_code.split(".")[1]]
            assert pick.polarity == ("positive" if obs.p_polarity > 0 else "negative")
            arrival = arrivals[str(pick.resource_id)]
            assert arrival.takeoff_angle == pytest.approx(180 - obs.takeoff)  # QuakeML: from down
            assert arrival.azimuth == pytest.approx(obs.azimuth)
    assert len(by_id["ev2"].focal_mechanisms) == 2  # HASH's second solution kept


def test_quakeml_reads_back_into_focalflow_tables(products):
    wd, _, _ = products
    written = pd.read_csv(wd.mechanisms_csv, dtype={"event_id": str})
    mechanisms, polinfo = read_mechanisms_quakeml(wd.mechanisms_xml)
    assert list(mechanisms["event_id"]) == list(written["event_id"])
    for column in ("strike", "dip", "rake", "strike2", "fault_plane_uncertainty",
                   "aux_plane_uncertainty", "polarity_misfit", "prob_mech",
                   "sta_distribution_ratio", "origin_lat", "origin_depth_km", "azimuthal_gap",
                   "takeoff_gap", "num_p_pol"):
        assert np.allclose(mechanisms[column].astype(float), written[column].astype(float)), column
    assert list(mechanisms["quality"]) == list(written["quality"])
    assert list(mechanisms["faulting_class"]) == list(written["faulting_class"])
    assert list(mechanisms["mult_solution_flag"]) == list(written["mult_solution_flag"])
    used = pd.read_csv(wd.polinfo_csv, dtype={"event_id": str}).dropna(subset=["p_polarity"])
    merged = used.merge(polinfo, on=["event_id", "sta_code"], suffixes=("", "_xml"))
    assert len(merged) == len(used)
    for column in ("p_polarity", "takeoff", "azimuth", "sr_dist_km", "pol_agreement"):
        assert np.allclose(merged[column], merged[f"{column}_xml"]), column


def test_report_is_self_contained_and_lists_every_event(products, tmp_path):
    wd, _, _ = products
    moved = tmp_path / "moved_report"
    shutil.copytree(wd.report_dir, moved)  # the folder works on its own, anywhere
    page = (moved / "index.html").read_text()
    body = page.split("<tbody>", 1)[1].split("</tbody>", 1)[0]
    assert body.count("<tr>") == len(MECHANISMS) + 1  # the event without mechanism too
    assert body.count('<svg class="ball"') == len(MECHANISMS)  # inline table beachballs
    sources = re.findall(r'<img[^>]* src="([^"]+)"', page)
    assert len(sources) == len(CATALOG_FIGURES) + len(MECHANISMS)  # one figure per event
    for source in sources:
        assert not source.startswith(("/", "..")) and (moved / source).is_file(), source
    assert "http://" not in page.replace("http://focalflow", "") and "https://" not in page


def test_report_shows_the_multiple_solution_flag(products):
    wd, _, _ = products
    page = (wd.report_dir / "index.html").read_text()
    row = re.search(r"<tr><td[^>]*><a[^>]*>ev2</a>.*?</tr>", page).group(0)
    assert "multiple" in row
    assert "Multiple solutions" in page.split('id="event-ev2"', 1)[1].split('class="event"', 1)[0]


def test_observations_join_polinfo_probabilities_and_sp(products):
    wd, _, _ = products
    observations = event_observations("ev1", load_tables(wd)).set_index("station")
    assert len(observations) == 12
    assert observations["misfit"].sum() == 1
    assert observations.loc["R03", "sp_ratio"] == pytest.approx(0.6)
    up = observations["polarity"] > 0
    assert (observations.loc[up, "prob_up"] > 0.9).all()


def test_rerun_keeps_outputs_and_a_bad_event_is_a_failure_row(products, tmp_path):
    wd, config, _ = products
    root = tmp_path / "copy"
    shutil.copytree(wd.root, root)
    copy = WorkDir(root)
    xml_before = copy.mechanisms_xml.read_bytes()
    figure = copy.event_figures_dir("ev1") / "beachball.png"
    stamp = figure.stat().st_mtime_ns
    again = config.model_copy(update={"workdir": root})
    summary = run_stage("6_run_hash", write_products, again)
    assert summary["event_figures"] == 0 and figure.stat().st_mtime_ns == stamp
    assert copy.mechanisms_xml.read_bytes() == xml_before

    polinfo = pd.read_csv(copy.polinfo_csv, dtype={"event_id": str})
    polinfo["takeoff"] = polinfo["takeoff"].astype(object)
    polinfo.loc[polinfo["event_id"] == "ev3", "takeoff"] = "not-a-number"
    polinfo.to_csv(copy.polinfo_csv, index=False)
    shutil.rmtree(copy.event_figures_dir("ev3"))
    summary = run_stage("6_run_hash", write_products, again)
    assert summary["event_figures"] == 0
    failures = pd.read_csv(copy.failures_csv, dtype=str)
    assert list(failures["event_id"]) == ["ev3"]
    assert "figures not drawn" in failures["reason"].iloc[0]
    assert "figures not drawn" in (copy.report_dir / "index.html").read_text()
