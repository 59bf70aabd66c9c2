"""A loopback FDSN web service (dataselect + station) for tests, with injectable faults.

It speaks enough of the FDSN protocol for ObsPy's ``Client``: ``application.wadl`` and
``version`` of both services, ``/fdsnws/dataselect/1/query`` (GET and POST bulk) and
``/fdsnws/station/1/query`` (levels network, station, channel, response; radius and box
selection), HTTP 204 when nothing matches. It serves an ObsPy ``Stream`` and ``Inventory``
held in memory.

Faults make chosen requests fail, as hostile or broken servers do:

- ``error`` answers HTTP 500; ``nodata`` answers 204 (no data) even when there is data;
- ``stall`` waits ``stall_s`` before answering (longer than the client's timeout);
- ``truncate`` announces the full Content-Length, sends half the body and closes;
- ``trickle`` answers 200 and sends the body one byte every ``1 / trickle_bytes_s`` seconds;
- ``bomb`` answers 200 with a gzip body (gzip members of zeros) inflating to ``bomb_bytes``;
- ``html`` answers 200 with an HTML maintenance page instead of data;
- ``body`` answers 200 with the fault's own ``body`` (``content_type``, ``encoding``).

``max_bulk_lines`` makes the dataselect service refuse larger bulk requests with HTTP 413
(request too large), as data centres do. Every request is logged so a test can count what the
client asked for.

>>> with FdsnTestServer(stream, inventory) as server:      # doctest: +SKIP
...     Client(server.url).get_waveforms("XX", "A", "", "HHZ", t0, t1)
"""
from __future__ import annotations

import functools
import gzip
import io
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Optional
from urllib.parse import parse_qs, urlsplit

from obspy import Inventory, Stream, UTCDateTime
from obspy.geodetics import locations2degrees

PARAMETERS = {
    "dataselect": ["starttime", "endtime", "network", "station", "location", "channel",
                   "quality", "minimumlength", "longestonly", "format", "nodata"],
    "station": ["starttime", "endtime", "startbefore", "startafter", "endbefore", "endafter",
                "network", "station", "location", "channel", "minlatitude", "maxlatitude",
                "minlongitude", "maxlongitude", "latitude", "longitude", "minradius", "maxradius",
                "level", "includerestricted", "includeavailability", "updatedafter",
                "matchtimeseries", "format", "nodata"],
}
TYPES = {"starttime": "xs:date", "endtime": "xs:date", "startbefore": "xs:date",
         "startafter": "xs:date", "endbefore": "xs:date", "endafter": "xs:date",
         "updatedafter": "xs:date", "minlatitude": "xs:double", "maxlatitude": "xs:double",
         "minlongitude": "xs:double", "maxlongitude": "xs:double", "latitude": "xs:double",
         "longitude": "xs:double", "minradius": "xs:double", "maxradius": "xs:double",
         "minimumlength": "xs:double", "longestonly": "xs:boolean",
         "includerestricted": "xs:boolean", "includeavailability": "xs:boolean",
         "matchtimeseries": "xs:boolean", "nodata": "xs:int"}


def wadl(service: str, base: str) -> bytes:
    """A WADL document listing the query parameters of ``service``."""
    params = "\n".join(f'          <param name="{name}" style="query" '
                       f'type="{TYPES.get(name, "xs:string")}"/>'
                       for name in PARAMETERS[service])
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<application xmlns="http://wadl.dev.java.net/2009/02"
             xmlns:xs="http://www.w3.org/2001/XMLSchema">
  <resources base="{base}/fdsnws/{service}/1/">
    <resource path="query">
      <method id="query" name="GET">
        <request>
{params}
        </request>
      </method>
      <method id="queryPOST" name="POST"/>
    </resource>
    <resource path="version"><method name="GET"/></resource>
    <resource path="application.wadl"><method name="GET"/></resource>
  </resources>
</application>
""".encode()


@dataclass
class Fault:
    """Make up to ``times`` matching query requests fail (``times=None``: every one).

    ``service`` ("dataselect" or "station") and ``station`` (a station code that must appear
    in the request) narrow which requests match; ``mode`` is one of the faults of the module
    docstring.
    """

    mode: str
    service: Optional[str] = None
    station: Optional[str] = None
    times: Optional[int] = 1
    body: bytes = b""
    content_type: str = "application/xml"
    encoding: Optional[str] = None

    def matches(self, service: str, text: str) -> bool:
        if self.times == 0 or (self.service and self.service != service):
            return False
        return self.station is None or self.station in text


@dataclass
class Request:
    method: str
    service: str
    resource: str
    query: str
    status: int = 0  # 0 while the answer is not sent yet (a stalled request)


@dataclass
class _State:
    stream: Stream
    inventory: Inventory
    faults: list[Fault]
    stall_s: float
    trickle_bytes_s: float = 1.0
    bomb_bytes: int = 3 * 2 ** 30
    max_bulk_lines: Optional[int] = None
    requests: list[Request] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    closing: threading.Event = field(default_factory=threading.Event)


def _codes(value: Optional[str]) -> list[Optional[str]]:
    if value is None:
        return [None]
    return ["" if v.strip() == "--" else v.strip() for v in value.split(",")]


def select_waveforms(stream: Stream, lines: list[dict[str, str]]) -> Stream:
    """The part of ``stream`` asked for by FDSN request lines (codes may hold ``*``/``?``)."""
    result = Stream()
    for line in lines:
        t0, t1 = UTCDateTime(line["starttime"]), UTCDateTime(line["endtime"])
        for net in _codes(line.get("network")):
            for sta in _codes(line.get("station")):
                for loc in _codes(line.get("location")):
                    for cha in _codes(line.get("channel")):
                        picked = stream.select(network=net, station=sta, location=loc, channel=cha)
                        result += picked.slice(t0, t1, nearest_sample=False)
    return Stream([tr for tr in result if tr.stats.npts])


def select_stations(inventory: Inventory, params: dict[str, str]) -> Inventory:
    """The part of ``inventory`` asked for by FDSN station query parameters, at its level."""
    def value(name):
        return params.get(name)

    selected = Inventory(networks=[], source=inventory.source)
    for net in _codes(value("network")):
        for sta in _codes(value("station")):
            for loc in _codes(value("location")):
                for cha in _codes(value("channel")):
                    selected += inventory.select(
                        network=net, station=sta, location=loc, channel=cha,
                        starttime=UTCDateTime(value("starttime")) if value("starttime") else None,
                        endtime=UTCDateTime(value("endtime")) if value("endtime") else None)
    selected = selected.copy()
    if value("latitude") is not None and value("maxradius") is not None:
        lat, lon = float(value("latitude")), float(value("longitude"))
        for net in selected:
            net.stations = [s for s in net.stations if locations2degrees(
                lat, lon, s.latitude, s.longitude) <= float(value("maxradius"))]
    level = value("level") or "station"
    for net in selected:
        for sta in net:
            if level in ("network", "station"):
                sta.channels = []
            elif level == "channel":
                for cha in sta:
                    cha.response = None
        if level == "network":
            net.stations = []
    selected.networks = [n for n in selected.networks if n.stations or level == "network"]
    # one Network element per code, as data centres answer
    merged: dict[str, object] = {}
    for net in selected.networks:
        if net.code in merged:
            merged[net.code].stations.extend(net.stations)
        else:
            merged[net.code] = net
    selected.networks = list(merged.values())
    return selected


class _Handler(BaseHTTPRequestHandler):
    server_version = "focalflow-test-fdsnws/1.0"
    state: _State

    def log_message(self, *args):  # keep pytest output clean
        pass

    def do_GET(self):
        self._answer("GET", "")

    def do_POST(self):
        length = int(self.headers.get("Content-Length") or 0)
        self._answer("POST", self.rfile.read(length).decode())

    def _answer(self, method: str, body: str):
        url = urlsplit(self.path)
        parts = url.path.strip("/").split("/")
        known = len(parts) == 4 and parts[0] == "fdsnws" and parts[1] in PARAMETERS
        service, resource = (parts[1], parts[3]) if known else ("", url.path)
        query = url.query if method == "GET" else body
        self._request = Request(method, service, resource, query)
        with self.state.lock:
            self.state.requests.append(self._request)
        if not known:
            return self._send(404, b"not found", "text/plain")
        if resource == "application.wadl":
            base = f"http://{self.headers.get('Host')}"
            return self._send(200, wadl(service, base), "application/xml")
        if resource == "version":
            return self._send(200, b"1.1.0", "text/plain")
        if resource != "query":
            return self._send(404, b"not found", "text/plain")
        fault = self._take_fault(service, query)
        if fault == "error":
            return self._send(500, b"Error 500: injected failure", "text/plain")
        if fault == "nodata":
            return self._send(204, b"", None)
        if fault == "html":
            return self._send(200, MAINTENANCE_PAGE, "text/html; charset=utf-8")
        if fault == "body":
            return self._send(200, self._fault.body, self._fault.content_type,
                              encoding=self._fault.encoding)
        if fault == "bomb":
            return self._send(200, gzip_bomb(self.state.bomb_bytes), "application/xml",
                              encoding="gzip")
        if fault == "stall":
            self.state.closing.wait(self.state.stall_s)
        if (service == "dataselect" and method == "POST" and self.state.max_bulk_lines
                and len([r for r in body.splitlines() if len(r.split()) == 6])
                > self.state.max_bulk_lines):
            return self._send(413, b"Error 413: request too large", "text/plain")
        try:
            payload, content_type = self._query(service, method, url.query, body)
        except (ValueError, KeyError) as exc:
            return self._send(400, f"Error 400: {exc}".encode(), "text/plain")
        if payload is None:
            return self._send(204, b"", None)
        if fault == "trickle":
            return self._trickle(payload, content_type)
        self._send(200, payload, content_type, truncate=(fault == "truncate"))

    def _take_fault(self, service: str, text: str) -> Optional[str]:
        with self.state.lock:
            for fault in self.state.faults:
                if fault.matches(service, text):
                    if fault.times is not None:
                        fault.times -= 1
                    self._fault = fault
                    return fault.mode
        return None

    def _query(self, service: str, method: str, query: str, body: str):
        if service == "dataselect":
            if method == "POST":
                lines = []
                for row in body.splitlines():
                    fields = row.split()
                    if len(fields) == 6:
                        lines.append(dict(zip(["network", "station", "location", "channel",
                                               "starttime", "endtime"], fields)))
            else:
                params = {k: v[0] for k, v in parse_qs(query, keep_blank_values=True).items()}
                lines = [params]
            stream = select_waveforms(self.state.stream, lines)
            if not stream:
                return None, None
            buffer = io.BytesIO()
            stream.write(buffer, format="MSEED")
            return buffer.getvalue(), "application/vnd.fdsn.mseed"
        params = {k: v[0] for k, v in parse_qs(query, keep_blank_values=True).items()}
        inventory = select_stations(self.state.inventory, params)
        if not inventory.networks:
            return None, None
        buffer = io.BytesIO()
        inventory.write(buffer, format="STATIONXML")
        return buffer.getvalue(), "application/xml"

    def _trickle(self, payload: bytes, content_type: str):
        """Status 200, then the body one byte at a time until done or the client gives up."""
        self._request.status = 200
        try:
            self.send_response(200)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            for i in range(len(payload)):
                self.wfile.write(payload[i:i + 1])
                self.wfile.flush()
                if self.state.closing.wait(1.0 / self.state.trickle_bytes_s):
                    break
        except (BrokenPipeError, ConnectionResetError):
            pass
        self.close_connection = True

    def _send(self, status: int, payload: bytes, content_type: Optional[str],
              truncate: bool = False, encoding: Optional[str] = None):
        self._request.status = status
        try:
            self.send_response(status)
            if content_type:
                self.send_header("Content-Type", content_type)
            if encoding:
                self.send_header("Content-Encoding", encoding)
            self.send_header("Content-Length", str(len(payload)))
            if truncate:
                self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(payload[: len(payload) // 2] if truncate else payload)
            self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (timeout): nothing to answer
        if truncate:
            self.close_connection = True


MAINTENANCE_PAGE = b"""<!DOCTYPE html>
<html><head><title>Scheduled maintenance</title></head>
<body><h1>The data centre is down for maintenance.</h1><p>Please come back later.</p></body></html>
"""


@functools.lru_cache(maxsize=4)
def gzip_bomb(size: int) -> bytes:
    """A gzip body that inflates to ``size`` bytes of zeros: concatenated 16 MiB members (a
    3 GiB bomb is about 3 MB)."""
    block = 16 * 2 ** 20
    member = gzip.compress(bytes(block), compresslevel=9)
    count, rest = divmod(size, block)
    return member * count + (gzip.compress(bytes(rest), compresslevel=9) if rest else b"")


class FdsnTestServer:
    """Serve ``stream`` and ``inventory`` over FDSN web services on 127.0.0.1 (a free port).

    Use as a context manager; ``url`` is the base URL for ObsPy's ``Client``; ``requests`` is
    the log of every request; ``queries(service)`` counts the data requests. ``stall_s``,
    ``trickle_bytes_s``, ``bomb_bytes`` and ``max_bulk_lines`` tune the faults.
    """

    def __init__(self, stream: Stream, inventory: Inventory, faults: list[Fault] | None = None,
                 stall_s: float = 60.0, trickle_bytes_s: float = 1.0,
                 bomb_bytes: int = 3 * 2 ** 30, max_bulk_lines: Optional[int] = None):
        self.state = _State(stream, inventory, list(faults or []), stall_s, trickle_bytes_s,
                            bomb_bytes, max_bulk_lines)
        handler = type("Handler", (_Handler,), {"state": self.state})
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def requests(self) -> list[Request]:
        with self.state.lock:
            return list(self.state.requests)

    @property
    def faults(self) -> list[Fault]:
        return self.state.faults

    def queries(self, service: str | None = None) -> list[Request]:
        """The data requests (``query``), optionally of one service."""
        return [r for r in self.requests
                if r.resource == "query" and (service is None or r.service == service)]

    def clear_log(self) -> None:
        with self.state.lock:
            self.state.requests.clear()

    def __enter__(self) -> "FdsnTestServer":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.state.closing.set()
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(5)
