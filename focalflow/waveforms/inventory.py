"""The working directory's station metadata, ``stations/NET.STA.xml``: one file per station.

:class:`StationXmlCache` is the one place stages 1 and 2 read these files; each is read at most
once per run. Stage 1 fills it (:meth:`StationXmlCache.ensure` fetches a station's file when it
lacks a channel's response), stage 2 looks stations up (:meth:`StationXmlCache.lookup`, with
the reason when a station has no usable file) and records which file each event was made from
(:meth:`StationXmlCache.digest`). A station without a file is looked up in the ``fallback``
(:class:`focalflow.waveforms.metadata.StationMetadata`: the user's station lists and SAC
headers), which gives coordinates and orientations but no responses.
"""
from __future__ import annotations

import logging
from pathlib import Path
from typing import Iterable

from obspy import Inventory, UTCDateTime

from focalflow.errors import InputError
from focalflow.formats.stationxml import read_stationxml
from focalflow.provenance import file_digest
from focalflow.waveforms.download import DownloadError, Instrument, covers
from focalflow.workdir import atomic_path

log = logging.getLogger("focalflow.waveforms.inventory")

ABSENT = "absent"


class StationXmlCache:
    """``NET.STA.xml`` files of one folder, read once per run.

    With ``refresh`` (stage 1's ``--overwrite``) :meth:`ensure` fetches each station's file
    again, once per run.
    """

    def __init__(self, folder: Path | str, refresh: bool = False, fallback=None):
        self.folder = Path(folder)
        self.refresh = refresh
        self.fallback = fallback
        self._read: dict[str, tuple[Inventory | None, str]] = {}
        self._fetched: set[str] = set()

    def path(self, code: str) -> Path:
        """The file of station ``code`` (``NET.STA``)."""
        return self.folder / f"{code}.xml"

    def lookup(self, code: str, channels: Iterable[tuple[str, str]] = ()
               ) -> tuple[Inventory | None, str]:
        """``(inventory, "")``, or ``(None, why)`` when the station's file is absent or unreadable
        and the fallback does not know the station; ``channels`` ((location, channel) of the
        data) are the channels a fallback inventory lists."""
        if not self.path(code).is_file() and self.fallback is not None:
            network, station = code.split(".", 1)
            inventory = self.fallback.inventory(network, station,
                                                [(loc, cha, None) for loc, cha in channels])
            if inventory is not None:
                return inventory, ""
            return None, (f"station without metadata (no {self.path(code).name} in {self.folder}, "
                          "and no station list or SAC header gives its coordinates)")
        if code not in self._read:
            path = self.path(code)
            if not path.is_file():
                self._read[code] = (None, f"station without metadata (no {path.name} in "
                                          f"{self.folder})")
            else:
                try:
                    self._read[code] = (read_stationxml(path), "")
                except InputError as exc:
                    self._read[code] = (None, f"station without metadata ({path.name}: "
                                              f"{exc.message[:200]})")
        return self._read[code]

    def digest(self, code: str) -> str:
        """:func:`~focalflow.provenance.file_digest` of the station's file, else the fallback's
        digest, else ``"absent"``."""
        path = self.path(code)
        if path.is_file():
            return file_digest(path)
        return f"lists:{self.fallback.digest}" if self.fallback is not None else ABSENT

    def ensure(self, instrument: Instrument, source, time: UTCDateTime) -> None:
        """Make sure the station's file has the instrument's responses at ``time``: fetch it from
        ``source`` (a :mod:`focalflow.waveforms.download` source) when it does not."""
        code = instrument.code
        if not (self.refresh and code not in self._fetched):
            existing, problem = self.lookup(code)
            if existing is not None and covers(existing, instrument, time):
                return
            if problem and self.path(code).is_file():
                log.warning("%s; fetching it again", problem)
        inventory = source.responses(instrument.network, instrument.station)
        if not covers(inventory, instrument, time):
            raise DownloadError(f"no response for {', '.join(instrument.seed_ids())} at {time} "
                                f"in the StationXML from {source.provider}")
        with atomic_path(self.path(code)) as tmp:
            inventory.write(str(tmp), format="STATIONXML")
        self._read[code] = (inventory, "")
        self._fetched.add(code)
