"""Stage 1 with waveforms.source: files on the demo's continuous archive (the layout of
examples/continuous_archive.yaml): the same event windows as the SDS source, and reruns that
follow the folder tree."""
from __future__ import annotations

import logging
import shutil

import pytest
from obspy import read

from conftest import demo_config_dict
from focalflow.cli import run_stage
from focalflow.config import config_from_dict
from focalflow.stages import get_waveforms
from focalflow.tables import read_table


def stage1(config, **kwargs) -> dict:
    return run_stage("1_get_waveforms", get_waveforms.run, config, **kwargs)


def files_config(demo_dir, archive, workdir, **stations):
    data = demo_config_dict(demo_dir, workdir)
    data["waveforms"] = {"source": "files", "files": {
        "root": str(archive), "stationxml_dir": str(demo_dir / "stationxml")}}
    data["stations"].update(stations)
    return config_from_dict(data)


def mseed_files(workdir):
    return {str(p.relative_to(workdir)): p.read_bytes()
            for p in sorted((workdir / "mseed").rglob("*.mseed"))}


@pytest.fixture(scope="module")
def archive(demo_dir, tmp_path_factory):
    """A copy of the demo's SDS tree, renamed so that no SDS client could find it."""
    root = tmp_path_factory.mktemp("archive") / "day_files"
    for number, path in enumerate(sorted((demo_dir / "sds").rglob("*.D.*"))):
        target = root / path.parts[-3] / f"{number:04d}_{path.parts[-2][:3]}.bin"
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, target)
    return root


def test_files_source_cuts_the_same_windows_as_the_sds_source(demo_dir, archive, tmp_path):
    sds = config_from_dict(demo_config_dict(demo_dir, tmp_path / "sds"))
    files = files_config(demo_dir, archive, tmp_path / "files")
    assert stage1(sds)["stations_ok"] == stage1(files)["stations_ok"] == 300
    assert mseed_files(tmp_path / "files") == mseed_files(tmp_path / "sds")
    index = read_table(tmp_path / "files" / "files_index.csv")
    assert index["path"].nunique() == len(list(archive.rglob("*.bin")))
    assert set(index["format"]) == {"MSEED"}  # several rows per day file: one per piece
    xml = sorted(p.name for p in (tmp_path / "files" / "stations").glob("*.xml"))
    assert len(xml) == 30  # StationXML with responses, as from the SDS source


def test_rerun_reads_only_changed_files_and_redoes_their_events(demo_dir, archive, tmp_path,
                                                                caplog):
    tree = tmp_path / "tree"
    shutil.copytree(archive, tree)
    config = files_config(demo_dir, tree, tmp_path / "work")
    stage1(config)
    before = mseed_files(tmp_path / "work")
    with caplog.at_level(logging.INFO):
        assert stage1(config)["events_skipped"] == 10
    assert "files index: 0 file(s) read" in caplog.text
    assert mseed_files(tmp_path / "work") == before

    # one station's day file loses its data after 06:00: only the events it covered change
    path = next(p for p in sorted(tree.rglob("*_HHZ.bin")) if p.parent.name == "ST07")
    stream = read(str(path))
    cut = stream[0].stats.starttime.replace(hour=6, minute=0, second=0)
    stream.trim(endtime=cut).write(str(path), format="MSEED")
    caplog.clear()
    with caplog.at_level(logging.INFO):
        summary = stage1(config)
    assert "files index: 1 file(s) read" in caplog.text
    assert "input files changed" in caplog.text
    assert 0 < 10 - summary["events_skipped"] < 10
    after = mseed_files(tmp_path / "work")
    changed = {name for name in before if before[name] != after.get(name)}
    assert changed and all("ST07..HHZ" in name for name in changed)


def test_station_list_instead_of_stationxml(demo_dir, archive, tmp_path):
    """No StationXML: coordinates from a plain list; nothing written to stations/; a station
    the list lacks is named once per event."""
    listing = tmp_path / "stations.txt"
    from obspy import read_inventory

    inventory = read_inventory(str(demo_dir / "stationxml" / "*.xml"))
    lines = [f"{sta.code} {net.code} {sta.longitude:.4f} {sta.latitude:.4f}"
             for net in inventory for sta in net if sta.code != "ST30"]
    listing.write_text("\n".join(lines) + "\n")
    data = demo_config_dict(demo_dir, tmp_path / "work")
    data["waveforms"] = {"source": "files", "files": {"root": str(archive)}}
    data["stations"]["station_files"] = [str(listing)]
    config = config_from_dict(data)
    summary = stage1(config, events={"60000001"})
    assert summary["stations_ok"] == 29
    assert not list((tmp_path / "work" / "stations").glob("*.xml"))
    failures = read_table(tmp_path / "work" / "logs" / "failures.csv", "failures")
    assert failures["station"].tolist() == ["FF.ST30"]
    assert "no coordinates" in failures["reason"].iloc[0]
