"""Event waveforms and station metadata from FDSN web services or a local SDS archive.

Two sources with the same three calls, so stage 1 treats them alike (a third, the files
source, is :mod:`focalflow.waveforms.files`):

- ``stations(latitude, longitude, radius_km, start, end, channels)`` -> Inventory at channel
  level of the stations around an epicentre operating in the window;
- ``waveforms(bulk)`` -> Stream for ``[(net, sta, loc, cha, t0, t1), ...]``;
- ``responses(network, station)`` -> Inventory with instrument responses, all epochs.

:class:`FdsnSource` wraps ObsPy's FDSN ``Client`` with the limits of
:mod:`focalflow.waveforms.fdsn_http` (deadlines, minimum byte rate, answer size) and retries
with exponential back-off, within each event's deadline (:meth:`FdsnSource.start_event`); a
request that answers "no data" (HTTP 204) returns an empty result at once, one refused as too
large (HTTP 413) is split, any other failure after the last retry raises
:class:`DownloadError`; a provider that cannot be reached at all raises
:class:`ProviderUnreachable` (and :func:`require_reachable` stops the stage when no provider
is left). Stations and channels with codes outside the FDSN character set are dropped.
:class:`SdsSource` reads an SDS archive (:mod:`focalflow.waveforms.sds`, never with a wildcard
code) and a folder of StationXML files.

:func:`choose_instruments` keeps one instrument per station (all its components) by the
configured channel and location priorities. Distances are epicentral, in km.
"""
from __future__ import annotations

import fnmatch
import logging
import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable, Optional, TypeVar

from obspy import Inventory, Stream, UTCDateTime
from obspy.geodetics import gps2dist_azimuth, kilometer2degrees

from focalflow.config import FdsnConfig, SdsConfig
from focalflow.errors import ConfigError, FocalflowError, StageFailed
from focalflow.formats.common import check_codes
from focalflow.formats.stationxml import drop_invalid_codes, read_stationxml
from focalflow.waveforms.fdsn_http import AnswerTooLarge, GuardedHandler, HttpLimits, guarded_client
from focalflow.waveforms.sds import read_sds

log = logging.getLogger("focalflow.waveforms.download")

T = TypeVar("T")
Bulk = list[tuple[str, str, str, str, UTCDateTime, UTCDateTime]]


class DownloadError(FocalflowError):
    """A request failed on every try (server errors, timeouts, truncated answers)."""


class ProviderUnreachable(DownloadError):
    """An FDSN provider could not be reached at all (DNS, refused connection, no services).

    The source remembers it and answers every later request with it at once."""


class NetworkGone(StageFailed):
    """Every configured FDSN provider is unreachable: stage 1 stops (exit status 1) rather than
    failing each event the same way."""


def require_reachable(sources: list) -> None:
    """Raise :class:`NetworkGone` when every source is an unreachable FDSN provider."""
    unreachable = [getattr(source, "unreachable", None) for source in sources]
    if sources and all(unreachable):
        raise NetworkGone("; ".join(str(u) for u in unreachable))


@dataclass(frozen=True)
class Instrument:
    """One station's chosen instrument: its channels share location and band/instrument code."""

    network: str
    station: str
    location: str
    channels: tuple[str, ...]
    latitude: float
    longitude: float
    distance_km: float

    @property
    def code(self) -> str:
        """``NET.STA``: the key of the station in manifests and file names."""
        return f"{self.network}.{self.station}"

    def seed_ids(self) -> list[str]:
        return [f"{self.network}.{self.station}.{self.location}.{c}" for c in self.channels]


def with_retries(call: Callable[[], T], retries: int, backoff_s: float, what: str,
                 no_data: Iterable[type[BaseException]] = (),
                 fatal: Iterable[type[BaseException]] = (),
                 passthrough: Iterable[type[BaseException]] = (),
                 deadline: Optional[float] = None) -> Optional[T]:
    """Call ``call()`` up to ``retries + 1`` times, waiting ``backoff_s``, 2x, 4x ... between tries.

    Returns None at once when it raises one of ``no_data``; re-raises ``passthrough`` errors as
    they are and ``fatal`` ones as :class:`DownloadError` at once; raises :class:`DownloadError`
    naming ``what`` and the last error when every try failed. No try starts after ``deadline``
    (a ``time.monotonic()`` value), nor a wait that would end after it.
    """
    no_data, fatal, passthrough = tuple(no_data), tuple(fatal), tuple(passthrough)
    last: BaseException | None = None
    tries = 0
    for attempt in range(retries + 1):
        if attempt:
            wait = backoff_s * 2 ** (attempt - 1)
            if deadline is not None and time.monotonic() + wait >= deadline:
                break
            log.debug("retry %d/%d of %s in %.2f s after: %s", attempt, retries, what, wait, last)
            time.sleep(wait)
        if deadline is not None and time.monotonic() >= deadline:
            break
        tries += 1
        try:
            return call()
        except no_data:
            return None
        except passthrough:
            raise
        except fatal as exc:
            raise DownloadError(f"{what}: {_one_line(exc)}") from None
        except Exception as exc:  # network, HTTP and parsing errors alike are worth a retry
            last = exc
    else:
        raise DownloadError(f"{what}: failed {retries + 1} time(s); last error: {_one_line(last)}")
    done = f"after {tries} tr{'y' if tries == 1 else 'ies'}; last error: {_one_line(last)}" \
        if tries else "before it was sent"
    raise DownloadError(f"{what}: the event's deadline (waveforms.fdsn.event_deadline_s) passed {done}")


def _one_line(exc: BaseException | None) -> str:
    text = " ".join(str(exc).split()) if exc is not None else ""
    name = type(exc).__name__
    return f"{name}: {text[:300]}" if text else name


def fdsn_channel_query(patterns: Iterable[str]) -> str:
    """FDSN channel parameter covering the priority patterns: ``HH[ZNE12]`` becomes ``HH?``."""
    codes = []
    for pattern in patterns:
        code = re.sub(r"\[[^\]]*\]", "?", pattern)
        if code not in codes:
            codes.append(code)
    return ",".join(codes)


def _rank(value: str, patterns: list[str], exact: bool = False) -> int:
    for i, pattern in enumerate(patterns):
        if (value == pattern) if exact else fnmatch.fnmatchcase(value, pattern):
            return i
    return len(patterns)


def _is_complete(channels: Iterable[str]) -> bool:
    """A vertical and two horizontal components (ZNE, Z12, or any two other orientation codes)."""
    components = {c[-1] for c in channels}
    return "Z" in components and len(components - {"Z"}) >= 2


def choose_instruments(inventory: Inventory, latitude: float, longitude: float,
                       max_radius_km: float, channel_priorities: list[str],
                       location_priorities: list[str], time: UTCDateTime) -> list[Instrument]:
    """One instrument per station within ``max_radius_km`` of the epicentre at ``time``.

    Channels are grouped by location and the first two letters of the channel code (band and
    instrument). Groups with all three components come first, then the channel pattern rank,
    then the location rank (``--`` and ``""`` both mean an empty location code). Channels that
    match no pattern are ignored. A station with only a vertical still gets its vertical.
    """
    locations = ["" if p == "--" else p for p in location_priorities]
    by_station: dict[tuple[str, str], dict[tuple[str, str], list]] = {}
    for net in inventory:
        for sta in net:  # a station may come as several elements (epochs): group by its codes
            groups = by_station.setdefault((net.code, sta.code), {})
            for cha in sta.select(time=time):
                if _rank(cha.code, channel_priorities) < len(channel_priorities):
                    channels = groups.setdefault((cha.location_code, cha.code[:2]), [])
                    channels.append((cha, sta))
    chosen = []
    for (network, station), groups in by_station.items():
        if not groups:
            continue
        (location, _), members = min(groups.items(), key=lambda kv: (
            not _is_complete(c.code for c, _ in kv[1]),
            min(_rank(c.code, channel_priorities) for c, _ in kv[1]),
            _rank(kv[0][0], locations, exact=True), kv[0]))
        cha, sta = members[0]
        lat = cha.latitude if cha.latitude is not None else sta.latitude
        lon = cha.longitude if cha.longitude is not None else sta.longitude
        distance_km = gps2dist_azimuth(latitude, longitude, lat, lon)[0] / 1000.0
        if distance_km <= max_radius_km:
            codes = tuple(sorted({c.code for c, _ in members}))
            chosen.append(Instrument(network, station, location, codes, float(lat), float(lon),
                                     round(distance_km, 3)))
    chosen.sort(key=lambda i: (i.distance_km, i.code))
    return chosen


def covers(inventory: Inventory, instrument: Instrument, time: UTCDateTime) -> bool:
    """True if ``inventory`` has every channel of ``instrument`` with a response at ``time``."""
    for channel in instrument.channels:
        found = inventory.select(network=instrument.network, station=instrument.station,
                                 location=instrument.location, channel=channel, time=time)
        if not any(cha.response is not None and cha.response.response_stages
                   for net in found for sta in net for cha in sta):
            return False
    return True


class FdsnSource:
    """One FDSN data centre (an ObsPy provider name like ``SCEDC`` or a base URL).

    The ObsPy client (which first downloads the service descriptions) is made on first use, so
    a run with nothing to fetch sends no request at all. Every request runs under the limits of
    :mod:`focalflow.waveforms.fdsn_http` and, after :meth:`start_event`, within the event's
    deadline. A provider that cannot be reached at all raises :class:`ProviderUnreachable`.
    """

    provides_responses = True

    def __init__(self, provider: str, config: FdsnConfig):
        self.provider = provider
        self.config = config
        self._client = None
        self._event_deadline: Optional[float] = None
        self.unreachable: Optional[ProviderUnreachable] = None

    def __repr__(self) -> str:
        return f"FdsnSource({self.provider!r})"

    def start_event(self) -> None:
        """Start the clock of one event: its requests end by ``event_deadline_s`` from now."""
        self._event_deadline = time.monotonic() + self.config.event_deadline_s

    def _limits(self) -> HttpLimits:
        """The next request's limits: its own deadline, or what is left of the event's."""
        deadline_s, key = self.config.request_deadline_s, "waveforms.fdsn.request_deadline_s"
        if self._event_deadline is not None:
            left = self._event_deadline - time.monotonic()
            if left < deadline_s:
                deadline_s, key = max(0.001, left), "the rest of waveforms.fdsn.event_deadline_s"
        return HttpLimits(timeout_s=min(self.config.timeout_s, deadline_s), deadline_s=deadline_s,
                          min_rate_bytes_s=self.config.min_rate_bytes_s,
                          max_body_bytes=int(self.config.max_answer_mb * 2 ** 20),
                          deadline_key=key)

    @property
    def client(self):
        if self.unreachable is not None:
            raise self.unreachable
        if self._client is None:
            try:
                self._client = with_retries(
                    lambda: guarded_client(self.provider, GuardedHandler(self._limits())),
                    self.config.retries, self.config.backoff_s,
                    f"connecting to FDSN provider {self.provider}", passthrough=(ValueError,),
                    deadline=self._event_deadline)
            except ValueError as exc:  # an unknown provider name or a malformed URL
                raise ConfigError(f"waveforms.fdsn.providers: {exc}") from None
            except DownloadError as exc:
                reason = str(exc).split(": ", 1)[-1].replace("; last error: ", ", last error ")
                self.unreachable = ProviderUnreachable(
                    f"cannot reach FDSN provider {self.provider}: {reason}; check the network or "
                    "use waveforms.source: sds/files")
                raise self.unreachable from None
        return self._client

    def _call(self, what: str, call: Callable[[object], T],
              passthrough: Iterable[type[BaseException]] = ()) -> Optional[T]:
        from obspy.clients.fdsn.header import (FDSNBadRequestException, FDSNForbiddenException,
                                               FDSNNoDataException, FDSNUnauthorizedException)

        client = self.client

        def attempt():
            client.guard.limits = self._limits()
            client.take_failure()
            try:
                return call(client)
            except Exception:
                failure = client.take_failure()  # the limit behind ObsPy's generic error
                if failure is not None:
                    raise failure from None
                raise

        return with_retries(attempt, self.config.retries, self.config.backoff_s,
                            f"{what} from {self.provider}", no_data=(FDSNNoDataException,),
                            fatal=(FDSNBadRequestException, FDSNUnauthorizedException,
                                   FDSNForbiddenException, TypeError, AnswerTooLarge),
                            passthrough=passthrough, deadline=self._event_deadline)

    def stations(self, latitude: float, longitude: float, radius_km: float,
                 start: UTCDateTime, end: UTCDateTime, channels: str) -> Inventory:
        """Channel-level inventory of stations within ``radius_km`` operating in the window."""
        inventory = self._call(
            "station list", lambda c: c.get_stations(
                latitude=latitude, longitude=longitude,
                maxradius=kilometer2degrees(radius_km), starttime=start, endtime=end,
                network=self.config.networks, station=self.config.stations,
                channel=channels, level="channel"))
        if inventory is None:
            return Inventory(networks=[])
        for problem in drop_invalid_codes(inventory):
            log.warning("%s: %s; dropped", self.provider, problem)
        return inventory

    def waveforms(self, bulk: Bulk) -> Stream:
        """Waveforms of a bulk request (empty Stream when the data centre has none).

        A request the data centre refuses as too large (HTTP 413) is split in two and each half
        asked for, down to single channels.
        """
        from obspy.clients.fdsn.header import FDSNRequestTooLargeException

        try:
            stream = self._call(f"waveforms of {len(bulk)} channel(s)",
                                lambda c: c.get_waveforms_bulk(bulk),
                                passthrough=(FDSNRequestTooLargeException,))
        except FDSNRequestTooLargeException as exc:
            if len(bulk) == 1:
                raise DownloadError(f"waveforms of {'.'.join(bulk[0][:4])} from {self.provider}: "
                                    f"refused as too large (HTTP 413) even alone: "
                                    f"{_one_line(exc)}") from None
            half = len(bulk) // 2
            log.debug("%s: request of %d channels too large (HTTP 413); splitting it",
                      self.provider, len(bulk))
            return self.waveforms(bulk[:half]) + self.waveforms(bulk[half:])
        return stream if stream is not None else Stream()

    def responses(self, network: str, station: str) -> Inventory:
        """Response-level inventory of one station, all epochs (empty when unknown)."""
        inventory = self._call(f"StationXML of {network}.{station}",
                               lambda c: c.get_stations(network=network, station=station,
                                                        level="response"))
        return inventory if inventory is not None else Inventory(networks=[])


class SdsSource:
    """A local SDS archive plus a folder of StationXML files (``*.xml``)."""

    provider = "sds"
    provides_responses = True
    unreachable = None  # a local archive is always there

    def __init__(self, config: SdsConfig):
        root, xml_dir = Path(config.root), Path(config.stationxml_dir)
        if not root.is_dir():
            raise FocalflowError(f"waveforms.sds.root: SDS archive folder {root} not found")
        if not xml_dir.is_dir():
            raise FocalflowError(f"waveforms.sds.stationxml_dir: folder {xml_dir} not found")
        self.config = config
        self._inventory: Optional[Inventory] = None

    def __repr__(self) -> str:
        return f"SdsSource({str(self.config.root)!r})"

    def start_event(self) -> None:
        """Nothing to time: a local archive has no deadlines."""

    @property
    def inventory(self) -> Inventory:
        """Every StationXML file of ``stationxml_dir`` merged (read once)."""
        if self._inventory is None:
            xml_dir = Path(self.config.stationxml_dir)
            inventory, read_dates = Inventory(networks=[]), []
            for path in sorted(xml_dir.glob("*.xml")):
                part = read_stationxml(path)
                inventory += part
                if part.created is not None:
                    read_dates.append(part.created)
            if not inventory.networks:
                raise FocalflowError(f"waveforms.sds.stationxml_dir: no *.xml files in {xml_dir}")
            # the files' own dates, not now: rewriting a station's file gives the same bytes
            inventory.created = max(read_dates) if read_dates else inventory.created
            self._inventory = inventory
        return self._inventory

    def stations(self, latitude: float, longitude: float, radius_km: float,
                 start: UTCDateTime, end: UTCDateTime, channels: str) -> Inventory:
        # the channel priorities are applied by choose_instruments; here only place and time
        return self.inventory.select(starttime=start, endtime=end, latitude=latitude,
                                     longitude=longitude, maxradius=kilometer2degrees(radius_km))

    def waveforms(self, bulk: Bulk) -> Stream:
        stream = Stream()
        for net, sta, loc, cha, t0, t1 in bulk:
            try:  # never a pattern: '*' or '?' would match other stations' files
                check_codes(net, sta, loc, cha)
            except ValueError as exc:
                raise DownloadError(f"SDS archive {self.config.root}: not asked for "
                                    f"{net}.{sta}.{loc}.{cha}: {exc}") from None
            try:
                stream += read_sds(self.config.root, net, sta, loc, cha, t0, t1)
            except Exception as exc:
                raise DownloadError(f"SDS archive {self.config.root}: reading {net}.{sta}.{loc}.{cha}:"
                                    f" {_one_line(exc)}") from None
        return stream

    def responses(self, network: str, station: str) -> Inventory:
        return self.inventory.select(network=network, station=station)


def make_sources(waveforms_config) -> list:
    """The configured sources in order of preference (FDSN: one per provider)."""
    if waveforms_config.source == "sds":
        return [SdsSource(waveforms_config.sds)]
    return [FdsnSource(p, waveforms_config.fdsn) for p in waveforms_config.fdsn.providers]
