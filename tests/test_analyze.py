"""python -m focalflow.products.analyze: catalog figures, selection and group average of any catalog."""
from __future__ import annotations

import matplotlib.image as mpimg
import numpy as np
import pandas as pd
import pytest

from focalflow.products.analyze import average_mechanism, main, read_station_list
from focalflow.errors import InputError
from focalflow.mechanisms.catalog import read_mechanism_catalog, select
from focalflow.formats.common import parse_any_time
from focalflow.products.plots.catalog import CATALOG_FIGURES
from hash_core.geometry import kagan_angle

TOC2ME = "data/toc2me/skhash_demo/mt_solution_20241114_SKHASH_quality_A.txt"


def ink(path) -> float:
    image = mpimg.imread(path)[..., :3]
    return float((image < 0.9).any(axis=-1).mean())


@pytest.fixture
def small_catalog(tmp_path):
    """A whitespace catalog like ToC2ME's: two strike-slip clusters and one normal event."""
    lines = ["# event_id lat lon depth strike dip rake",
             "20200101000000.000 35.00 -118.00 5.0 30 88 2 -1",
             "20200102000000.000 35.01 -118.01 5.2 32 86 -3 -1",
             "20200103000000.000 35.02 -118.00 5.1 28 89 1 -1",
             "20200301000000.000 36.00 -117.00 7.0 200 45 -90 -1"]
    path = tmp_path / "mechanisms.txt"
    path.write_text("\n".join(lines) + "\n")
    return path


def test_selection_by_region_time_and_class(small_catalog):
    catalog = read_mechanism_catalog(small_catalog)
    assert list(catalog["faulting_class"]) == ["strike-slip"] * 3 + ["normal"]
    assert catalog["time"].iloc[0] == "2020-01-01T00:00:00.000000Z"
    assert len(select(catalog, region=(34.9, 35.5, -118.5, -117.5))) == 3
    assert len(select(catalog, start="2020-01-02", end="2020-02-01")) == 2
    assert list(select(catalog, classes=["normal"])["event_id"]) == ["20200301000000.000"]


def test_average_of_a_cluster_is_close_to_its_members(small_catalog):
    cluster = select(read_mechanism_catalog(small_catalog), classes=["strike-slip"])
    mean = average_mechanism(cluster)
    assert mean["mechanisms"] == 3 and mean["faulting_class"] == "strike-slip"
    rotations = kagan_angle(cluster[["strike", "dip", "rake"]].to_numpy(float),
                            np.array([mean["strike"], mean["dip"], mean["rake"]]))
    assert rotations.max() < 6.0
    assert mean["median_rotation_deg"] == pytest.approx(np.median(rotations), abs=0.2)


def test_command_writes_figures_and_average(small_catalog, tmp_path, capsys):
    out = tmp_path / "analysis"
    code = main([str(small_catalog), "--out", str(out), "--class", "strike-slip", "--average",
                 "--dpi", "50"])
    assert code == 0
    for name in CATALOG_FIGURES.values():
        assert ink(out / name) > 0.01, name
    assert ink(out / "average_mechanism.png") > 0.05
    assert len(pd.read_csv(out / "catalog.csv")) == 3
    assert pd.read_csv(out / "average_mechanism.csv")["mechanisms"].iloc[0] == 3


def test_bad_input_names_the_file_and_line(tmp_path):
    path = tmp_path / "bad.txt"
    path.write_text("1 35.0 -118.0 5.0 30 88 2\n2 35.0 -118.0 5.0 thirty 88 2\n")
    with pytest.raises(InputError, match=r"bad.txt, line 2: non-numeric"):
        read_mechanism_catalog(path)
    assert main([str(path), "--out", str(tmp_path / "x")]) == 2
    assert main([str(tmp_path / "missing.csv")]) == 2
    good = tmp_path / "good.txt"
    good.write_text("1 35.0 -118.0 5.0 30 88 2\n")
    assert main([str(good), "--region", "1,2,3", "--out", str(tmp_path / "y")]) == 2
    assert main([str(good), "--class", "thrust", "--out", str(tmp_path / "y")]) == 2


def test_odd_time_texts_are_read():
    assert str(parse_any_time("2016-11-25 05时14分08秒")) == "2016-11-25T05:14:08.000000Z"
    assert str(parse_any_time("20161128051644.670")) == "2016-11-28T05:16:44.670000Z"
    assert parse_any_time("") is None and parse_any_time("n/a") is None


def test_skhash_output_is_read(shared_dir):
    catalog = read_mechanism_catalog(shared_dir / "data/toc2me/skhash_demo/OUT/out.csv")
    assert list(catalog["event_id"]) == ["1", "2", "3"]
    assert list(catalog["quality"]) == ["A", "A", "A"]
    assert catalog["time"].iloc[1] == "2016-11-25T05:14:08.000000Z"
    assert (catalog["faulting_class"] == "strike-slip").all()


def test_toc2me_catalog_all_figures(shared_dir, tmp_path):
    out = tmp_path / "toc2me"
    stations = shared_dir / "data/toc2me/stationlist_ToC2ME.txt"
    code = main([str(shared_dir / TOC2ME), "--out", str(out), "--stations", str(stations),
                 "--average", "--dpi", "60"])
    assert code == 0
    catalog = pd.read_csv(out / "catalog.csv")
    assert len(catalog) == 2519
    counts = catalog["faulting_class"].value_counts()
    assert counts.sum() == 2519 and counts["strike-slip"] > 0.8 * 2519
    for name in CATALOG_FIGURES.values():
        assert ink(out / name) > 0.01, name
    mean = pd.read_csv(out / "average_mechanism.csv").iloc[0]
    assert mean["faulting_class"] == "strike-slip" and mean["dip"] > 75
    assert len(read_station_list(stations)) == 69


def test_focalflow_csv_and_quakeml_give_one_row_per_event(tmp_path):
    from focalflow.formats.quakeml_mechanisms import write_mechanisms_quakeml
    from results_case import MECHANISMS, build_workdir

    root = build_workdir(tmp_path / "work")
    from_csv = read_mechanism_catalog(root / "mechanisms.csv")  # ev2 has two solutions: first kept
    assert list(from_csv["event_id"]) == list(MECHANISMS)
    assert list(from_csv["strike"]) == [m[0] for m in MECHANISMS.values()]
    write_mechanisms_quakeml(tmp_path / "mechanisms.xml", pd.read_csv(root / "mechanisms.csv"))
    from_xml = read_mechanism_catalog(tmp_path / "mechanisms.xml")
    assert list(from_xml["event_id"]) == list(MECHANISMS)
    assert np.allclose(from_xml[["strike", "dip", "rake", "origin_lat"]],
                       from_csv[["strike", "dip", "rake", "origin_lat"]])
    assert list(from_xml["faulting_class"]) == list(from_csv["faulting_class"])
