"""Known polarity models: name -> model class + weights (shipped file, or URL + sha256).

:func:`load_model` is what stage 4 calls with ``polarity.model`` / ``polarity.weights`` /
``polarity.cache_dir`` / ``polarity.device`` from the config:

* a known name (``focalflow-default``, ``diting-motion``) uses the weights shipped in
  ``models/weights/`` or, for published weights, the file in the cache directory — downloaded
  from the entry's URL the first time and verified against its sha256 (a file whose checksum
  does not match is refused, never used);
* ``eqpolarity`` has no weights of its own here: ``weights:`` must name a file (the published
  ``best_weigths_Binary_*.h5`` of Chen et al. 2024, or one trained with ``models.train``);
* ``weights:`` in the config overrides the file of a known name (same architecture);
* a path to a weights file picks the architecture that loads it.

Offline, a missing download ends with a :class:`WeightsError` that says where to put the file
by hand and which sha256 it must have.
"""
from __future__ import annotations

import hashlib
import importlib
import logging
import urllib.error
import urllib.request
import warnings
from dataclasses import dataclass
from pathlib import Path

from models.base import PolarityModel, select_device
from models import import_tensorflow
from models.errors import WeightsError, atomic_path

log = logging.getLogger("focalflow.models")

MODELS_DIR = Path(__file__).resolve().parent
DOWNLOAD_TIMEOUT_S = 60.0


@dataclass(frozen=True)
class ModelEntry:
    """One known model: its class (``module:Class``) and where its weights come from."""

    name: str
    model_class: str
    filename: str | None = None
    url: str | None = None
    sha256: str | None = None
    shipped: Path | None = None
    citation: str = ""

    def load_class(self) -> type[PolarityModel]:
        module, _, cls = self.model_class.partition(":")
        return getattr(importlib.import_module(module), cls)


REGISTRY: dict[str, ModelEntry] = {
    "focalflow-default": ModelEntry(
        name="focalflow-default",
        model_class="models.focalflow_net:FocalflowNet",
        filename="focalflow_polarity_v1.weights.h5",
        shipped=MODELS_DIR / "weights" / "focalflow_polarity_v1.weights.h5",
        sha256="a05ca1f08edc4a3d6282b57fb6dae60d376dfd3603875ff06aee0546dfe57167",
        citation="focalflow's own model; see models/README.md",
    ),
    "diting-motion": ModelEntry(
        name="diting-motion",
        model_class="models.diting_motion:DiTingMotion",
        filename="DiTingMotionJul.hdf5",
        url="https://github.com/mingzhaochina/DiTing-FOCALFLOW/raw/main/models/DiTingMotionJul.hdf5",
        sha256="81204e86b9f07fed13d7dd796331883f07b13c4b6494b2b6e374a30fb0a0aee6",
        citation="Zhao et al. (2023), Front. Earth Sci. 11:1103914",
    ),
    "eqpolarity": ModelEntry(
        name="eqpolarity",
        model_class="models.eqpolarity:EQPolarity",
        citation="Chen et al. (2024), IEEE TGRS 62:5917411",
    ),
}


def known_models() -> list[str]:
    return sorted(REGISTRY)


def register(entry: ModelEntry) -> None:
    """Add or replace a registry entry (e.g. a fine-tuned model of a user's own)."""
    REGISTRY[entry.name] = entry


def sha256_of(path: Path | str) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def verify(path: Path, sha256: str | None) -> None:
    """Raise :class:`WeightsError` if ``path``'s sha256 differs from ``sha256`` (None: no check)."""
    if sha256 is None:
        return
    actual = sha256_of(path)
    if actual != sha256.lower():
        raise WeightsError(f"{path}: checksum mismatch (sha256 {actual}, expected {sha256}); "
                           "the file is damaged or not the published one: delete it and fetch it "
                           "again")


def download(url: str, destination: Path, sha256: str | None,
             timeout_s: float = DOWNLOAD_TIMEOUT_S) -> Path:
    """Fetch ``url`` into ``destination`` atomically, verifying ``sha256`` before the rename."""
    log.info("downloading %s -> %s", url, destination)
    try:
        with atomic_path(destination) as tmp:
            with urllib.request.urlopen(url, timeout=timeout_s) as response, open(tmp, "wb") as out:
                for block in iter(lambda: response.read(1 << 20), b""):
                    out.write(block)
            try:
                verify(tmp, sha256)
            except WeightsError as exc:
                raise WeightsError(f"{url}: downloaded file refused: "
                                   f"{str(exc).split(': ', 1)[1]}") from None
    except (urllib.error.URLError, OSError, TimeoutError) as exc:
        reason = getattr(exc, "reason", exc)
        raise WeightsError(f"cannot download {url}: {reason}. Offline? Put the file by hand at "
                           f"{destination}" + (f" (sha256 {sha256})" if sha256 else "")) from None
    return destination


def weights_file(entry: ModelEntry, cache_dir: Path | str) -> Path:
    """The verified local weights file of ``entry``: shipped, cached, or downloaded once."""
    if entry.filename is None:
        raise WeightsError(
            f"{entry.name}: no weights file given and none is shipped: set polarity.weights to the "
            f"path of a {entry.name} weights file (the published best_weigths_Binary_*.h5 of "
            f"{entry.citation or 'its authors'}, or one trained with python -m models.train "
            f"--model {entry.name})")
    if entry.shipped is not None:
        if not entry.shipped.is_file():
            raise WeightsError(f"{entry.shipped}: the shipped weights of {entry.name} are missing "
                               "(incomplete checkout?)")
        verify(entry.shipped, entry.sha256)
        return entry.shipped
    cached = Path(cache_dir).expanduser() / entry.filename
    if cached.is_file():
        verify(cached, entry.sha256)
        return cached
    if entry.url is None:
        raise WeightsError(f"{entry.name}: no weights at {cached} and no download URL; "
                           "put the file there")
    return download(entry.url, cached, entry.sha256)


def load_model(model: str, weights: Path | str | None = None,
               cache_dir: Path | str = "~/.cache/focalflow", device: str = "auto",
               input_rate_hz: float | None = None, reuse: bool = False,
               quiet: bool = True) -> PolarityModel:
    """A ready :class:`PolarityModel` for a config's ``model``/``weights``/``cache_dir``/``device``
    (and ``input_rate_hz``, see :class:`PolarityModel`).

    With ``reuse``, a network already loaded in this process from the same unchanged file is
    shared instead of loaded again (stage 4 and the benchmarks do this; never train a reused
    model: its weights are shared). ``quiet``: hide TensorFlow's start-up messages.
    """
    import_tensorflow(quiet)
    entry = REGISTRY.get(model)
    if entry is not None:
        path = Path(weights).expanduser() if weights is not None else weights_file(entry, cache_dir)
        return _loaded(entry.load_class(), path, device, input_rate_hz, reuse)
    path = Path(model).expanduser()
    if not path.suffix and not path.exists():
        raise WeightsError(f"unknown model name {model!r}; known names: "
                           f"{', '.join(known_models())}, or give the path of a weights file")
    if not path.is_file():
        raise WeightsError(f"{path}: weights file not found")
    problems = []
    for candidate in dict.fromkeys(e.model_class for e in REGISTRY.values()):
        cls = next(e for e in REGISTRY.values() if e.model_class == candidate).load_class()
        # Keras warns while it tries a file on the wrong architecture: keep only the warnings of
        # the architecture that loads it
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                model = _loaded(cls, path, device, input_rate_hz, reuse)
            except WeightsError as exc:
                problems.append(f"{cls.__name__}: {exc}")
                continue
        for warning in caught:
            warnings.warn_explicit(warning.message, warning.category, warning.filename,
                                   warning.lineno)
        return model
    raise WeightsError(f"{path}: no known architecture loads this file:\n  "
                       + "\n  ".join(problems))


_LOADED: dict[tuple, PolarityModel] = {}


def _loaded(cls: type[PolarityModel], path: Path, device: str, input_rate_hz: float | None,
            reuse: bool) -> PolarityModel:
    """``cls(path, device).at_input_rate(input_rate_hz)``; with ``reuse``, sharing the network
    already loaded in this process from the same unchanged file (loading and tracing take
    seconds)."""
    if not reuse:
        return cls(path, device=device).at_input_rate(input_rate_hz)
    try:
        stat = path.stat()
    except OSError:
        raise WeightsError(f"{path}: weights file not found") from None
    key = (cls, str(path.resolve()), stat.st_mtime_ns, stat.st_size, select_device(device))
    if key not in _LOADED:
        _LOADED[key] = cls(path, device=device)
    return _LOADED[key].at_input_rate(input_rate_hz)
