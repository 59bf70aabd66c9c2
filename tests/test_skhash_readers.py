"""Readers of SKHASH control files and CSV tables, on the ToC2ME files and small broken ones."""
from __future__ import annotations

import pytest

from focalflow.errors import InputError
from focalflow.formats import skhash


@pytest.fixture
def toc2me(shared_dir):
    return shared_dir / "data" / "toc2me"


def test_control_file_of_the_toc2me_demo(toc2me, tmp_path):
    control = skhash.read_skhash_control(toc2me / "skhash_demo" / "control_file_skhash.txt",
                                         base_dir=tmp_path)
    assert control.fpfile == tmp_path / "ToC2ME_demo" / "IN" / "SKHASH.pol.csv"
    assert control.vmodel_paths == [tmp_path / "ToC2ME_demo" / "vz.north"]
    assert control.ampfile is None                       # commented out in the file
    params = control.params
    assert (params.badfrac, params.prob_max, params.max_agap_deg, params.delmax_km) == \
        (0.01, 0.9, 40, 120)
    assert (params.npolmin, params.nmc, params.maxout, params.dang_deg) == (8, 30, 500, 5)
    assert params.zero_depth_uncert_exact and params.misfit_weights == "radiation"
    assert "outfolder_plots" in control.ignored


def test_catalog_polarity_and_station_tables(toc2me):
    demo = toc2me / "skhash_demo" / "IN"
    events = skhash.read_skhash_catalog(demo / "SKHASH.eq_catalog.csv")
    assert list(events["event_id"]) == ["1", "2", "3"]
    assert events["mag"].isna().all()                    # written as "--"
    assert events.iloc[0]["depth"] == pytest.approx(3.201)
    pol = skhash.read_skhash_polarities(demo / "SKHASH.pol.csv")
    assert pol.iloc[0][["station", "network", "location"]].tolist() == ["1107", "5B", ""]
    assert set(pol["p_polarity"]) == {1, -1}
    stations = skhash.read_skhash_stations(demo / "SKHASH.stations.csv")
    assert (stations["network"] == "").all() and stations.iloc[0]["station"] == "1107"


def test_amplitude_ratios_are_log10_and_nan_rows_dropped(toc2me):
    control = skhash.SkhashControl()   # SKHASH's ratmin and S/P clipping
    amps = skhash.read_skhash_amplitudes(toc2me / "manual" / "20161104064824.680.amp.csv",
                                         control.params.ratmin, control.min_sp, control.max_sp)
    first = amps.iloc[0]
    assert first["station"] == "1107" and first["sp_ratio"] == pytest.approx(0.32222, abs=1e-4)
    assert amps["sp_ratio"].notna().all()


def test_amplitudes_from_noise_and_signal_use_ratmin(tmp_path):
    path = tmp_path / "amp.csv"
    path.write_text("event_id,station,network,location,channel,noise_p,noise_s,amp_p,amp_s\n"
                    "1,A,XX,--,HHZ,1,1,-10,100\n"
                    "1,B,XX,--,HHZ,1,1,2,100\n")
    amps = skhash.read_skhash_amplitudes(path, ratmin=3, min_sp=0.0005, max_sp=2000.0)
    assert list(amps["station"]) == ["A"] and amps.iloc[0]["sp_ratio"] == pytest.approx(1.0)


def test_bad_tables_name_file_and_problem(tmp_path):
    path = tmp_path / "pol.csv"
    path.write_text("event_id,station,network,location,channel,p_polarity\n1,A,XX,--,HHZ,up\n")
    with pytest.raises(InputError, match="pol.csv, line 2.*'up' is not a number"):
        skhash.read_skhash_polarities(path)
    path.write_text("event_id,station\n1,A\n")
    with pytest.raises(InputError, match="lacks column.*p_polarity"):
        skhash.read_skhash_polarities(path)
    control = tmp_path / "control.txt"
    control.write_text("$npolmin\neight\n")
    with pytest.raises(InputError, match="line 2.*npolmin"):
        skhash.read_skhash_control(control)
    control.write_text("$input_format\nhash1\n")
    with pytest.raises(InputError, match="--hash-inp"):
        skhash.read_skhash_control(control)
