"""The review app's web server: Python's standard ``http.server``, bound to 127.0.0.1.

Routes (JSON in and out; event ids travel as the ``id`` query parameter):

=========================  ==============================================================
``GET /``                  the page (``static/index.html``; its script and style are local)
``GET /api/catalog``       every event, its mechanism and review state
``GET /api/event?id=E``    event E solved now with its edits, its stations and history
``GET /api/waveforms?id=E`` the vertical P windows of E's stations
``POST /api/edit``         ``{"event_id", "action": flip|drop|set|restore, "network",
                           "station", "location", "polarity", "note"}``: appended to
                           overrides.csv; answers like ``/api/event``
``POST /api/accept``       ``{"event_id", "note"}``: the event is marked accepted
=========================  ==============================================================

POSTs must be ``application/json`` from this server's own page (a browser sends other sites'
cross-origin JSON requests only after a preflight this server never grants), and the ``Host``
header must name the loopback address, so other web pages cannot edit a working directory.
"""
from __future__ import annotations

import json
import logging
import math
import threading
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlparse

from focalflow.errors import FocalflowError
from focalflow.review.session import ReviewSession

log = logging.getLogger("focalflow.review")

STATIC_DIR = Path(__file__).resolve().parent / "static"
STATIC_TYPES = {".html": "text/html; charset=utf-8", ".js": "text/javascript; charset=utf-8",
                ".css": "text/css; charset=utf-8"}
LOOPBACK_HOSTS = ("127.0.0.1", "localhost")


class ReviewServer(ThreadingHTTPServer):
    """Serves one :class:`ReviewSession` on 127.0.0.1 (``port`` 0: any free port)."""

    daemon_threads = True

    def __init__(self, session: ReviewSession, port: int = 8765):
        self.session = session
        super().__init__(("127.0.0.1", port), ReviewHandler)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/"

    def start(self) -> threading.Thread:
        """Serve in a background thread (tests, notebooks); stop with :meth:`shutdown`."""
        thread = threading.Thread(target=self.serve_forever, name="focalflow-review",
                                  daemon=True)
        thread.start()
        return thread


class ReviewHandler(BaseHTTPRequestHandler):
    server: ReviewServer

    def log_message(self, format: str, *args) -> None:  # noqa: A002 (http.server's name)
        log.debug("%s %s", self.address_string(), format % args)

    # ------------------------------------------------------------------ GET
    def do_GET(self) -> None:
        url = urlparse(self.path)
        if not self._trusted_host():
            return
        if url.path in ("/", "/index.html"):
            return self._static("index.html")
        if url.path.startswith("/static/"):
            return self._static(url.path.removeprefix("/static/"))
        session = self.server.session
        query = parse_qs(url.query)
        routes = {"/api/catalog": lambda: session.catalog(),
                  "/api/event": lambda: session.event(self._id(query)),
                  "/api/waveforms": lambda: session.waveforms(self._id(query))}
        if url.path not in routes:
            return self._json({"error": f"no such page: {url.path}"}, HTTPStatus.NOT_FOUND)
        self._answer(routes[url.path])

    # ------------------------------------------------------------------ POST
    def do_POST(self) -> None:
        url = urlparse(self.path)
        if not self._trusted_host():
            return
        if self.headers.get("Content-Type", "").split(";")[0].strip() != "application/json":
            return self._json({"error": "POST needs Content-Type: application/json"},
                              HTTPStatus.UNSUPPORTED_MEDIA_TYPE)
        try:
            length = int(self.headers.get("Content-Length", "0"))
            body = json.loads(self.rfile.read(length) or b"{}")
        except (ValueError, json.JSONDecodeError) as exc:
            return self._json({"error": f"request body is not JSON: {exc}"},
                              HTTPStatus.BAD_REQUEST)
        session = self.server.session
        if url.path == "/api/edit":
            polarity = body.get("polarity")
            self._answer(lambda: session.edit(
                str(body.get("event_id", "")), str(body.get("action", "")),
                str(body.get("network", "")), str(body.get("station", "")),
                str(body.get("location", "")),
                None if polarity in (None, "") else float(polarity), str(body.get("note", ""))))
        elif url.path == "/api/accept":
            self._answer(lambda: session.accept(str(body.get("event_id", "")),
                                                str(body.get("note", ""))))
        else:
            self._json({"error": f"no such action: {url.path}"}, HTTPStatus.NOT_FOUND)

    # ------------------------------------------------------------------ helpers
    def _trusted_host(self) -> bool:
        host = (self.headers.get("Host") or "").rsplit(":", 1)[0].strip("[]")
        if host in LOOPBACK_HOSTS:
            return True
        self._json({"error": "the review server answers only on 127.0.0.1"},
                   HTTPStatus.FORBIDDEN)
        return False

    @staticmethod
    def _id(query: dict) -> str:
        values = query.get("id")
        if not values:
            raise FocalflowError("missing ?id=EVENT_ID")
        return values[0]

    def _answer(self, make) -> None:
        try:
            self._json(make())
        except (FocalflowError, ValueError) as exc:
            self._json({"error": str(exc)}, HTTPStatus.BAD_REQUEST)
        except Exception as exc:  # one broken request must not stop the server
            log.exception("review request %s failed", self.path)
            self._json({"error": f"{type(exc).__name__}: {exc}"},
                       HTTPStatus.INTERNAL_SERVER_ERROR)

    def _static(self, name: str) -> None:
        path = (STATIC_DIR / name).resolve()
        if path.parent != STATIC_DIR or path.suffix not in STATIC_TYPES or not path.is_file():
            return self._json({"error": f"no such file: {name}"}, HTTPStatus.NOT_FOUND)
        self._send(path.read_bytes(), STATIC_TYPES[path.suffix])

    def _json(self, payload, status: HTTPStatus = HTTPStatus.OK) -> None:
        self._send(json.dumps(_finite(payload), allow_nan=False).encode(),
                   "application/json; charset=utf-8", status)

    def _send(self, data: bytes, content_type: str, status: HTTPStatus = HTTPStatus.OK) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(data)


def _finite(value):
    """``value`` with NaN and infinities as None (JSON has no NaN)."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    if hasattr(value, "item"):  # NumPy scalars
        return _finite(value.item())
    return value


def serve(session: ReviewSession, port: int = 8765, open_browser: bool = False) -> None:
    """Serve until interrupted (Ctrl-C)."""
    server = ReviewServer(session, port)
    threading.Thread(target=session.warm_up, name="warm-up", daemon=True).start()
    log.info("review %s at %s (Ctrl-C to stop)", session.ctx.workdir.root, server.url)
    if open_browser:
        import webbrowser

        webbrowser.open(server.url)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        log.info("review server stopped")
    finally:
        server.server_close()
