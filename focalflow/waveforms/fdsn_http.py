"""HTTP for ObsPy's FDSN client with limits a hostile or broken server cannot get around.

ObsPy's ``Client`` bounds each socket operation by its timeout, so a server that sends one
byte per second keeps a request alive forever, and it inflates a gzip answer whole in memory.
:func:`guarded_client` makes that client with one more urllib handler, which reads every
answer itself, under :class:`HttpLimits`:

- a deadline for the whole exchange (connection, headers and body): a watchdog shuts the
  socket down when it passes, wherever the exchange is blocked;
- a minimum byte rate for the body, checked over each stretch of ``rate_window_s``;
- a size limit on the body after decompression (gzip is inflated here, a piece at a time);
- a body shorter than its announced Content-Length is named as cut off;
- the answer of a ``query`` must look like what the service serves (miniSEED, StationXML or
  FDSN text): an HTML page or other text with status 200 is named as such.

A violated limit is recorded on the handler (ObsPy turns every error inside ``urlopen`` into a
generic one) and the client's ``take_failure`` hands it to the caller.
"""
from __future__ import annotations

import functools
import http.client
import io
import re
import socket
import threading
import time
import urllib.request
import urllib.response
import zlib
from dataclasses import dataclass
from typing import Optional

CHUNK_BYTES = 64 * 1024


@dataclass(frozen=True)
class HttpLimits:
    """Limits of one HTTP exchange; times in seconds, rate in bytes per second."""

    timeout_s: float = 60.0
    deadline_s: float = 300.0
    min_rate_bytes_s: float = 1000.0
    max_body_bytes: int = 256 * 2 ** 20
    deadline_key: str = "waveforms.fdsn.request_deadline_s"  # named when it passes

    @property
    def rate_window_s(self) -> float:
        """Length of the stretches over which the body's rate is checked."""
        return min(self.timeout_s, 10.0)


class AnswerRefused(Exception):
    """An answer broke one of the limits or is not what an FDSN service serves."""

    retry = True  # worth asking again (a slow or confused server may recover)


class SlowAnswer(AnswerRefused):
    """The whole-request deadline passed or the body came slower than the minimum rate."""


class AnswerTooLarge(AnswerRefused):
    """The body (after decompression) is larger than the limit: asking again gives the same."""

    retry = False


class CutOff(AnswerRefused):
    """The connection closed before the announced Content-Length arrived."""


class NotFdsnAnswer(AnswerRefused):
    """Status 200 with an HTML page or other text where miniSEED or StationXML was asked for."""


class _Watchdog:
    """Shuts the exchange's socket down when the deadline passes, waking any blocked read."""

    def __init__(self, deadline_s: float):
        self.deadline = time.monotonic() + deadline_s
        self.expired = False
        self._socket: Optional[socket.socket] = None
        self._lock = threading.Lock()
        self._timer = threading.Timer(deadline_s, self._expire)
        self._timer.daemon = True
        self._timer.start()

    def attach(self, sock: socket.socket) -> None:
        with self._lock:
            self._socket = sock
            if self.expired:
                self._shutdown()

    def _expire(self) -> None:
        with self._lock:
            self.expired = True
            self._shutdown()

    def _shutdown(self) -> None:
        if self._socket is not None:
            try:
                self._socket.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def cancel(self) -> None:
        self._timer.cancel()


def _watched(connection_class, watchdog: _Watchdog):
    """``connection_class`` whose socket is handed to ``watchdog`` once connected."""

    class Watched(connection_class):
        def connect(self):
            super().connect()
            watchdog.attach(self.sock)

    return Watched


_HTML = re.compile(rb"^\s*(<!doctype\s+html|<html|<head|<body)", re.IGNORECASE)
_TITLE = re.compile(rb"<title[^>]*>(.*?)</title>", re.IGNORECASE | re.DOTALL)
_MSEED2 = re.compile(rb"^[0-9 ]{6}[DRQM][ \x00]")


def check_fdsn_body(url: str, body: bytes, content_type: str) -> None:
    """Raise :class:`NotFdsnAnswer` when the 200 answer to a query is not FDSN data."""
    head = body[:512]
    if _HTML.match(head) or content_type.lower().startswith("text/html"):
        title = _TITLE.search(body[:4096])
        named = f" titled {title.group(1).decode('utf-8', 'replace').strip()[:80]!r}" if title else ""
        raise NotFdsnAnswer(f"the server answered with an HTML page{named} (status 200), "
                            "not FDSN data")
    if not body or "/query" not in url:
        return
    if "/dataselect/" in url and not (_MSEED2.match(head) or head.startswith(b"MS")):
        raise NotFdsnAnswer(f"the answer to a dataselect query is not miniSEED "
                            f"(it starts {_preview(head)})")
    if "/station/" in url and not (head.lstrip().startswith(b"<") or head.lstrip().startswith(b"#")):
        raise NotFdsnAnswer(f"the answer to a station query is neither StationXML nor FDSN text "
                            f"(it starts {_preview(head)})")


def _preview(head: bytes) -> str:
    return repr(head[:40].decode("latin-1"))


class _BodyReader:
    """Reads a response body under the limits, inflating gzip a piece at a time."""

    def __init__(self, response, limits: HttpLimits, watchdog: _Watchdog, url: str):
        self.response = response
        self.limits = limits
        self.watchdog = watchdog
        self.url = url
        self.gzip = (response.headers.get("Content-Encoding") or "").lower() in ("gzip", "x-gzip")
        self._inflater = zlib.decompressobj(16 + zlib.MAX_WBITS) if self.gzip else None
        self.parts: list[bytes] = []
        self.size = 0        # bytes of body after decompression
        self.received = 0    # bytes as sent

    def read(self) -> bytes:
        started = window_start = time.monotonic()
        window_bytes = 0
        while True:
            try:
                piece = self.response.read1(CHUNK_BYTES)
            except (OSError, http.client.HTTPException) as exc:
                if self.watchdog.expired:
                    raise self._too_slow(started) from None
                raise exc
            if self.watchdog.expired:
                raise self._too_slow(started)
            if not piece:
                if self.response.length:  # read1 ends quietly where read would complain
                    raise CutOff(f"the answer was cut off after {self.received} bytes, "
                                 f"{self.response.length} fewer than announced")
                break
            self.received += len(piece)
            self._add(piece)
            window_bytes += len(piece)
            now = time.monotonic()
            if now - window_start >= self.limits.rate_window_s:
                rate = window_bytes / (now - window_start)
                if rate < self.limits.min_rate_bytes_s:
                    raise SlowAnswer(f"the answer arrived at {rate:.0f} bytes/s, below the minimum "
                                     f"of {self.limits.min_rate_bytes_s:g} bytes/s "
                                     "(waveforms.fdsn.min_rate_bytes_s); abandoned")
                window_start, window_bytes = now, 0
        if self._inflater is not None:
            self._emit(self._inflater.flush())
        return b"".join(self.parts)

    def _too_slow(self, started: float) -> SlowAnswer:
        return SlowAnswer(f"no complete answer within {self.limits.deadline_s:.3g} s "
                          f"({self.limits.deadline_key}); {self.received} bytes had arrived "
                          f"after {time.monotonic() - started:.0f} s of body")

    def _add(self, piece: bytes) -> None:
        if self._inflater is None:
            self._emit(piece)
            return
        data = piece
        while data:
            # max_length keeps one inflation step small whatever the compression ratio
            self._emit(self._inflater.decompress(data, CHUNK_BYTES))
            data = self._inflater.unconsumed_tail
            if self._inflater.eof:  # gzip allows several members one after another; what
                # follows a member is all in unused_data (unconsumed_tail may repeat it)
                data = self._inflater.unused_data
                self._inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)

    def _emit(self, data: bytes) -> None:
        self.size += len(data)
        if self.size > self.limits.max_body_bytes:
            what = "inflates to" if self.gzip else "is"
            raise AnswerTooLarge(f"the answer {what} more than "
                                 f"{self.limits.max_body_bytes / 2 ** 20:g} MiB "
                                 "(waveforms.fdsn.max_answer_mb); refused")
        if data:
            self.parts.append(data)


class GuardedHandler(urllib.request.HTTPHandler, urllib.request.HTTPSHandler):
    """Opens http(s) URLs and reads the whole answer under :class:`HttpLimits`.

    The answer handed on is already read (and inflated): a plain ``addinfourl`` over the bytes,
    without ``Content-Encoding``, so ObsPy inflates nothing itself.
    """

    handler_order = 400  # before urllib's own HTTP(S) handlers

    def __init__(self, limits: HttpLimits):
        urllib.request.HTTPSHandler.__init__(self)
        self.limits = limits
        self.network_error: Optional[OSError] = None  # the last one, of any thread
        self._local = threading.local()

    @property
    def failure(self) -> Optional[AnswerRefused]:
        return getattr(self._local, "failure", None)

    @failure.setter
    def failure(self, value: Optional[AnswerRefused]) -> None:
        self._local.failure = value

    def http_open(self, req):
        return self._open(http.client.HTTPConnection, req)

    def https_open(self, req):
        return self._open(http.client.HTTPSConnection, req, context=self._context)

    def _open(self, connection_class, req, **kwargs):
        watchdog = _Watchdog(self.limits.deadline_s)
        try:
            try:
                response = self.do_open(_watched(connection_class, watchdog), req, **kwargs)
            except (OSError, http.client.HTTPException) as exc:
                if watchdog.expired:
                    raise self._fail(SlowAnswer(f"no answer within {self.limits.deadline_s:.3g} s "
                                                f"({self.limits.deadline_key})")) from None
                self.network_error = exc
                raise
            try:
                body = _BodyReader(response, self.limits, watchdog, req.full_url).read()
                if response.status == 200:
                    check_fdsn_body(req.full_url, body,
                                    response.headers.get("Content-Type") or "")
            except AnswerRefused as exc:
                raise self._fail(exc) from None
            finally:
                response.close()
        finally:
            watchdog.cancel()
        headers = response.headers
        del headers["Content-Encoding"]
        del headers["Content-Length"]
        answer = urllib.response.addinfourl(io.BytesIO(body), headers, req.full_url, response.status)
        answer.msg = response.reason
        return answer

    def _fail(self, exc: AnswerRefused) -> AnswerRefused:
        self.failure = exc
        return exc


def guarded_client(base_url: str, guard: GuardedHandler):
    """ObsPy's FDSN ``Client`` for ``base_url`` whose every request goes through ``guard``
    (the service discovery included).

    When the discovery finds nothing, the network error behind it (ObsPy reports only "no
    services") is raised as a ConnectionError. The client's :meth:`take_failure` gives the
    limit the last failed request of this thread broke (and forgets it), or None.
    """
    from obspy.clients.fdsn.header import FDSNException

    guard.network_error = None
    try:
        return _client_class()(base_url, guard)
    except FDSNException:
        if guard.network_error is not None:
            raise ConnectionError(_reason(guard.network_error)) from None
        raise


@functools.cache
def _client_class():
    """The subclass of ObsPy's Client (made on first use: ObsPy's FDSN module is slow to load,
    and stages 2-6 never need it)."""
    from obspy.clients.fdsn import Client

    class GuardedClient(Client):
        def __init__(self, base_url: str, guard: GuardedHandler):
            self.guard = guard
            super().__init__(base_url, timeout=guard.limits.timeout_s)

        def _set_opener(self, user, password):
            super()._set_opener(user, password)
            self._url_opener.add_handler(self.guard)

        def take_failure(self) -> Optional[AnswerRefused]:
            failure, self.guard.failure = self.guard.failure, None
            return failure

    return GuardedClient


def _reason(exc: OSError) -> str:
    """``[Errno 111] Connection refused`` rather than ``<urlopen error [Errno 111] ...>``."""
    inner = getattr(exc, "reason", None)
    return str(inner if inner is not None else exc)
