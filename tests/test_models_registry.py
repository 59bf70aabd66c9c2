"""The weights registry: names, shipped files, download once over real HTTP with sha256 checks."""
from __future__ import annotations

import hashlib
import http.server
import threading

import pytest

from models.base import WeightsError
from models.diting_motion import DiTingMotion
from models.registry import ModelEntry, REGISTRY, load_model, weights_file


@pytest.fixture
def weights_server(shared_dir):
    """A loopback HTTP server serving the published DiTingMotion file; yields (url, hits)."""
    payload = (shared_dir / "models" / "DiTingMotionJul.hdf5").read_bytes()
    hits = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            hits.append(self.path)
            if self.path != "/DiTingMotionJul.hdf5":
                self.send_error(404)
                return
            self.send_response(200)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}", hits
    server.shutdown()
    server.server_close()


def entry_for(url: str, sha256: str) -> ModelEntry:
    return ModelEntry(name="diting-test", model_class="models.diting_motion:DiTingMotion",
                      filename="DiTingMotionJul.hdf5", url=url, sha256=sha256)


def test_download_once_verified_then_cached(weights_server, tmp_path, monkeypatch):
    url, hits = weights_server
    entry = entry_for(f"{url}/DiTingMotionJul.hdf5", REGISTRY["diting-motion"].sha256)
    monkeypatch.setitem(REGISTRY, entry.name, entry)
    model = load_model("diting-test", cache_dir=tmp_path / "cache", device="cpu", reuse=True)
    assert isinstance(model, DiTingMotion)
    assert model.weights_path == tmp_path / "cache" / "DiTingMotionJul.hdf5"
    again = load_model("diting-test", cache_dir=tmp_path / "cache", device="cpu", reuse=True)
    assert again.keras_model is model.keras_model
    assert hits == ["/DiTingMotionJul.hdf5"]           # the second load used the cache


def test_download_with_wrong_checksum_is_refused_and_not_kept(weights_server, tmp_path):
    url, _ = weights_server
    entry = entry_for(f"{url}/DiTingMotionJul.hdf5", "0" * 64)
    with pytest.raises(WeightsError, match="downloaded file refused: checksum mismatch"):
        weights_file(entry, tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_cached_file_with_wrong_checksum_is_refused(tmp_path):
    (tmp_path / "DiTingMotionJul.hdf5").write_bytes(b"not the published weights")
    entry = entry_for("http://127.0.0.1:9/never", REGISTRY["diting-motion"].sha256)
    with pytest.raises(WeightsError, match="checksum mismatch"):
        weights_file(entry, tmp_path)


def test_offline_says_where_to_put_the_file(weights_server, tmp_path):
    url, _ = weights_server
    entry = entry_for(f"{url}/missing.hdf5", REGISTRY["diting-motion"].sha256)
    with pytest.raises(WeightsError) as info:
        weights_file(entry, tmp_path)
    message = str(info.value)
    assert "Put the file by hand at" in message and str(tmp_path / "DiTingMotionJul.hdf5") in message
    assert entry.sha256 in message


def test_unknown_model_name_lists_the_known_ones():
    with pytest.raises(WeightsError, match="unknown model name 'ditingmotion'.*diting-motion"):
        load_model("ditingmotion")


def test_a_weights_path_picks_the_architecture_that_loads_it(shared_dir, tmp_path):
    model = load_model(str(shared_dir / "models" / "DiTingMotionJul.hdf5"), device="cpu", reuse=True)
    assert isinstance(model, DiTingMotion)
    junk = tmp_path / "junk.h5"
    junk.write_bytes(b"\x89HDF\r\n\x1a\n" + b"\0" * 100)
    with pytest.raises(WeightsError, match="no known architecture loads this file"):
        load_model(str(junk), device="cpu")


def test_published_checksum_matches_the_reference_file(shared_dir):
    digest = hashlib.sha256((shared_dir / "models" / "DiTingMotionJul.hdf5").read_bytes()).hexdigest()
    assert digest == REGISTRY["diting-motion"].sha256
