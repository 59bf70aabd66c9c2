"""CNN first-motion polarity models of focalflow.

Each architecture is a :class:`models.base.PolarityModel` subclass owning its preprocessing,
weights loading and batched ``classify``; :func:`models.registry.load_model` turns a name from
the config (``focalflow-default``, ``diting-motion``, ``eqpolarity``) or a weights path into a
ready model. This package never imports ``focalflow``; its errors are
:class:`models.errors.ModelError` (importing it is cheap: this file imports nothing heavy).
"""
import os
import sys
import tempfile


def import_tensorflow(quiet: bool = True) -> None:
    """Import TensorFlow with its C++ start-up messages (absl, oneDNN, CPU features) hidden.

    TensorFlow writes them to file descriptor 2 while it loads, before any Python logging, and
    TF_CPP_MIN_LOG_LEVEL no longer silences all of them; so standard error is pointed at a
    scratch file for the import. If the import fails, what TensorFlow wrote is shown. With
    ``quiet=False`` (``-v``) TensorFlow speaks as it likes."""
    if "tensorflow" in sys.modules:
        return
    if not quiet:
        import tensorflow  # noqa: F401
        return
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as scratch:
        os.dup2(scratch.fileno(), 2)
        try:
            import tensorflow  # noqa: F401
        except BaseException:
            os.dup2(saved, 2)
            scratch.seek(0)
            sys.stderr.write(scratch.read().decode(errors="replace"))
            raise
        finally:
            os.dup2(saved, 2)
            os.close(saved)
