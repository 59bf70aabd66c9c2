"""Fine-tune a polarity model on analyst-labelled picks (transfer learning to a user's own data).

    python -m focalflow.polarity.finetune --config config.yaml --out my_model.weights.h5
    python -m focalflow.polarity.finetune --labels labels.csv --out my_model.weights.h5 \
        [--base focalflow-default|eqpolarity|WEIGHTS] [--base-weights WEIGHTS] [--pick-header t1]

Labelled picks come from one of:

* ``--labels CSV`` with a column ``polarity`` (first motion **on the recorded trace**: +1/-1,
  or U/D; 0/blank rows are dropped) and either a column ``file`` (a SAC file, or any file ObsPy
  reads together with a ``pick_time`` column; the pick is ``pick_time`` (ISO 8601 UTC) when
  given, else SAC header ``--pick-header``, ``a`` by default) or the columns ``event_id,
  network, station, location`` naming stage 3's vertical P window (``store/windows/<event_id>.h5``)
  of the working directory of ``--config``;
* no ``--labels``: the analyst P polarities (U/D) of ``picks.csv`` in ``--config``'s working
  directory, with stage 3's windows.

The fine-tuning itself (split by station, augmentation, early stopping) is
:func:`models.finetune.finetune`; the base is any model built in code (FocalflowNet by default,
or EQpolarity with ``--base eqpolarity --base-weights FILE``).

Writes ``--out`` (weights) and beside it ``<name>.json`` (machine-readable card: command, base,
labels, split, settings, per-epoch history, scores), ``<name>.md`` (model card),
``<name>_learning_curves.png`` (loss and accuracy per epoch, training and validation parts),
and the held-out evaluation of :mod:`focalflow.polarity.evaluate` for the base and the
fine-tuned model: ``<name>_evaluation.csv`` (column ``model``), ``<name>_evaluation.png``
(fine-tuned), ``<name>_evaluation_base.png``, plus ``<name>_held_out.csv`` (one row per held-out
trace, both models' calls).
"""
from __future__ import annotations

import argparse
import json
import logging
import shlex
import sys
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from focalflow.errors import FocalflowError, InputError
from focalflow.polarity.predict import TraceWindow, analyst_polarity, read_sac, snr
from models.errors import ModelError

log = logging.getLogger("focalflow.polarity.finetune")

POLARITY_TEXT = {"U": 1, "D": -1, "+": 1, "-": -1, "C": 1}


# ------------------------------------------------------------------ labelled data
def parse_polarity(values, path: Path | str) -> np.ndarray:
    """+1/-1/0 from a labels column holding numbers (+1/-1/0) or letters (U/D, blank)."""
    out = np.zeros(len(values), np.int64)
    for i, value in enumerate(values):
        text = "" if pd.isna(value) else str(value).strip().upper()
        if text in POLARITY_TEXT:
            out[i] = POLARITY_TEXT[text]
        elif text in ("", "0", "0.0", "X", "?"):
            out[i] = 0
        else:
            try:
                out[i] = int(np.sign(float(text)))
            except ValueError:
                raise InputError(path, f"polarity {value!r} is neither +1/-1/0 nor U/D",
                                 line=i + 2) from None
    return out


def read_labels(path: Path | str) -> pd.DataFrame:
    """A labels CSV (see the module docstring) with ``polarity`` as +1/-1/0."""
    path = Path(path)
    try:
        labels = pd.read_csv(path, dtype=str, keep_default_na=False, skipinitialspace=True)
    except (OSError, pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise InputError(path, f"cannot read labels CSV: {exc}") from None
    labels.columns = [c.strip() for c in labels.columns]
    if "polarity" not in labels.columns and "p_polarity" in labels.columns:
        labels = labels.rename(columns={"p_polarity": "polarity"})
    if "polarity" not in labels.columns:
        raise InputError(path, "labels CSV needs a 'polarity' column (+1/-1 or U/D on the recorded trace)")
    if "file" not in labels.columns:
        missing = [c for c in ("event_id", "network", "station") if c not in labels.columns]
        if missing:
            raise InputError(path, "labels CSV needs a 'file' column or the columns event_id, "
                             f"network, station (missing: {', '.join(missing)})")
    labels["polarity"] = parse_polarity(labels["polarity"], path)
    for column in ("network", "station", "location", "channel"):
        if column not in labels.columns:
            labels[column] = ""
    if "file" in labels.columns:
        labels["file"] = [str((path.parent / f) if f and not Path(f).is_absolute() else f)
                          for f in labels["file"]]
    return labels


def read_window(path: Path | str, pick_header: str = "a", pick_time: str | None = None
                ) -> TraceWindow:
    """One labelled trace as a :class:`TraceWindow` whose ``a`` is the pick: SAC read with NumPy
    (pick in header ``pick_header``), anything else through ObsPy with ``pick_time``."""
    path = Path(path)
    if not path.is_file():
        raise InputError(path, "labelled trace file not found")
    if pick_time is None and pick_header == "a":
        window = read_sac(path)
    else:
        import obspy

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # ObsPy's note on rounding delta
            try:
                trace = obspy.read(str(path))[0]
            except Exception as exc:  # ObsPy raises many types for an unreadable file
                raise InputError(path, f"cannot read waveform: {exc}") from None
        if pick_time:
            try:
                pick = float(obspy.UTCDateTime(pick_time) - trace.stats.starttime)
            except Exception:
                raise InputError(path, f"bad pick_time {pick_time!r} (ISO 8601 UTC expected)") from None
            b = 0.0
        else:
            sac = trace.stats.get("sac", {})
            value = sac.get(pick_header)
            pick = np.nan if value is None else float(value)
            b = float(sac.get("b", 0.0))
        window = TraceWindow(data=trace.data.astype(np.float32), delta=trace.stats.delta, b=b, a=pick)
    if not np.isfinite(window.a):
        raise InputError(path, f"no pick: SAC header '{pick_header}' is unset")
    return window


def labelled_windows(labels: pd.DataFrame, workdir=None, pick_header: str = "a"
                     ) -> tuple[pd.DataFrame, list[TraceWindow]]:
    """The decided (+1/-1) labelled picks whose trace can be read, and their windows; a row that
    cannot be read is logged and skipped."""
    from focalflow.polarity.predict import read_p_windows

    rows, windows = [], []
    labels = labels[labels["polarity"] != 0]
    for i, row in labels.iterrows():
        try:
            if "file" in labels.columns:
                window = read_window(row["file"], pick_header, row.get("pick_time") or None)
            else:
                if workdir is None:
                    raise FocalflowError("labels without a 'file' column need --config "
                                         "(stage 3's P windows of its working directory)")
                frame, found = read_p_windows(workdir, pd.DataFrame([row]).assign(
                    time=row.get("time", ""), polarity=row.get("polarity", "")))
                if found[0] is None:
                    raise InputError(workdir.event_windows_file(str(row["event_id"])),
                                     frame["reason"].iloc[0])
                window = found[0]
        except InputError as exc:
            log.warning("skipping label %s: %s", i, exc)
            continue
        rows.append(row)
        windows.append(window)
    return pd.DataFrame(rows).reset_index(drop=True), windows


def picks_as_labels(workdir) -> pd.DataFrame:
    """Analyst P polarities of ``picks.csv`` as a labels frame (workdir windows)."""
    from focalflow.tables import read_table

    picks = read_table(workdir.picks_csv, "picks")
    picks = picks[picks["phase"] == "P"].copy()
    picks["polarity"] = analyst_polarity(picks["polarity"])
    return picks[["event_id", "network", "station", "location", "channel", "polarity"]]


def window_snr(windows: list[TraceWindow]) -> np.ndarray:
    """:func:`focalflow.polarity.predict.snr` of each window."""
    return np.array([snr(w.data[None, :], [w.pick_index], w.sampling_rate_hz)[0]
                     for w in windows])


# ------------------------------------------------------------------ command
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m focalflow.polarity.finetune",
                                     description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--labels", type=Path, help="labels CSV (default: picks.csv of --config)")
    parser.add_argument("--config", type=Path, help="config.yaml (working directory, windows)")
    parser.add_argument("--out", type=Path, required=True, help="new weights (*.weights.h5)")
    parser.add_argument("--base", default="focalflow-default",
                        help="registry name or weights file of the model to start from")
    parser.add_argument("--base-weights", type=Path, help="weights file for a --base name "
                        "(required for --base eqpolarity)")
    parser.add_argument("--pick-header", default="a", help="SAC header holding the pick time")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--test-fraction", type=float, default=0.3, help="held-out stations")
    parser.add_argument("--val-fraction", type=float, default=0.2,
                        help="stations of the rest used for early stopping")
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--patience", type=int, default=5)
    parser.add_argument("--learning-rate", type=float, default=3e-4)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--max-shift", type=int, default=3, help="augmentation shifts (samples)")
    parser.add_argument("--synthetic", type=int, default=2000,
                        help="synthetic onsets mixed into the training set")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    if not args.out.name.endswith(".weights.h5"):
        parser.error("--out must end in .weights.h5")
    if args.labels is None and args.config is None:
        parser.error("give --labels, --config, or both")
    try:
        return run(args, argv)
    except (FocalflowError, ModelError) as exc:
        log.error("%s", exc)
        return 2


def run(args, argv) -> int:
    from focalflow.workdir import WorkDir, write_text_atomic
    from models.finetune import finetune
    from models.registry import load_model
    from models.train import card_path, configure_tensorflow

    configure_tensorflow(args.seed, args.threads)
    workdir = None
    if args.config is not None:
        from focalflow.config import load_config

        workdir = WorkDir(load_config(args.config).workdir)
    labels = read_labels(args.labels) if args.labels else picks_as_labels(workdir)
    labels, windows = labelled_windows(labels, workdir, args.pick_header)
    if len(labels) < 6:
        raise FocalflowError(f"only {len(labels)} usable labelled picks: too few to fine-tune")
    base = load_model(args.base, args.base_weights, device="cpu")
    if base.new_network() is None:
        raise FocalflowError(f"--base {args.base}: fine-tuning needs a model built in code "
                             f"(focalflow-default, eqpolarity), got {type(base).__name__}")
    base_name = f"{args.base} ({base.weights_path.name})"
    result = finetune(base, windows, labels["polarity"].to_numpy(),
                      labels["station"].astype(str).to_numpy(), seed=args.seed,
                      test_fraction=args.test_fraction, val_fraction=args.val_fraction,
                      epochs=args.epochs, patience=args.patience,
                      learning_rate=args.learning_rate, batch_size=args.batch_size,
                      max_shift=args.max_shift, synthetic=args.synthetic)
    base.save(args.out)

    stem = args.out.name[:-len(".weights.h5")]
    write_evaluation(result, labels, windows, args.out.parent, stem, base_name)
    stations = {p: sorted(set(labels["station"].astype(str)[result["part"] == p]))
                for p in ("train", "val", "test")}
    card = {"model": base.name, "weights": args.out.name, "base": base_name,
            "command": "python -m focalflow.polarity.finetune " + " ".join(
                shlex.quote(a) for a in (argv if argv is not None else sys.argv[1:])),
            "labels": str(args.labels or workdir.picks_csv),
            "n_labelled": int(len(labels)), "stations": stations,
            "settings": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
            "n_train_inputs": result["n_train_inputs"], "n_val_inputs": result["n_val_inputs"],
            "epochs_run": len(result["history"].get("loss", [])), "history": result["history"],
            "held_out_before": result["scores_before"], "held_out_after": result["scores_after"]}
    write_text_atomic(card_path(args.out), json.dumps(card, indent=1) + "\n")
    write_text_atomic(args.out.with_name(stem + ".md"), model_card_text(card, stem))
    b, a = result["scores_before"], result["scores_after"]
    log.info("held-out (%d picks, stations %s): before %d right / %d wrong / %d undecided; "
             "after %d / %d / %d; wrote %s", b["n"], ", ".join(stations["test"]), b["right"],
             b["wrong"], b["undecided"], a["right"], a["wrong"], a["undecided"], args.out)
    return 0


def write_evaluation(result: dict, labels: pd.DataFrame, windows: list[TraceWindow],
                     folder: Path, stem: str, base_name: str) -> None:
    """The held-out evaluation files and the learning curves: ``<stem>_held_out.csv`` (one row
    per held-out trace, base and fine-tuned calls), ``<stem>_evaluation.csv``
    (:func:`focalflow.polarity.evaluate.evaluation_table` of both models, column ``model``),
    ``<stem>_evaluation.png`` / ``_evaluation_base.png``
    (:func:`focalflow.polarity.evaluate.plot_evaluation`) and ``<stem>_learning_curves.png``
    (:func:`focalflow.polarity.evaluate.plot_learning_curves`)."""
    from focalflow.polarity.evaluate import evaluation_table, plot_evaluation, plot_learning_curves
    from focalflow.workdir import atomic_path

    test = np.flatnonzero(result["part"] == "test")
    keys = labels.iloc[test][[c for c in ("event_id", "network", "station", "location", "channel",
                                          "file") if c in labels.columns]].reset_index(drop=True)
    ratios = window_snr([windows[i] for i in test])
    before = result["before"].assign(snr=ratios)
    after = result["after"].assign(snr=ratios)
    per_trace = pd.concat([keys, before.add_prefix("before_"),
                           after.drop(columns=["label", "snr"]).add_prefix("after_")], axis=1)
    with atomic_path(folder / f"{stem}_held_out.csv") as tmp:
        per_trace.to_csv(tmp, index=False, float_format="%.4f")
    tables = []
    for frame, name, suffix in ((before, base_name, "_base"), (after, "fine-tuned", "")):
        table = evaluation_table(frame.rename(columns={"polarity": "recorded_polarity"}))
        plot_evaluation(table, folder / f"{stem}_evaluation{suffix}.png",
                        f"{name}: {len(test)} held-out picks")
        tables.append(table.assign(model=name))
    with atomic_path(folder / f"{stem}_evaluation.csv") as tmp:
        pd.concat(tables).to_csv(tmp, index=False)
    plot_learning_curves({f"fine-tuning {stem}": result["history"]},
                         folder / f"{stem}_learning_curves.png")


def model_card_text(card: dict, stem: str) -> str:
    """A short Markdown model card of a fine-tuned model."""
    b, a = card["held_out_before"], card["held_out_after"]
    return "\n".join([
        f"# {card['weights']} — fine-tuned {card['model']}", "",
        f"- Base: {card['base']}", f"- Labels: {card['labels']} ({card['n_labelled']} decided picks)",
        f"- Command: `{card['command']}`",
        f"- Split by station: train {len(card['stations']['train'])}, validation "
        f"{len(card['stations']['val'])}, held-out test {len(card['stations']['test'])} stations "
        f"({', '.join(card['stations']['test'])})",
        f"- Training inputs: {card['n_train_inputs']} (shifts, sign flips, synthetic), "
        f"{card['epochs_run']} epochs run (early stopping on the validation loss)", "",
        "| held-out picks | right | wrong | undecided | accuracy where decided |",
        "|---|---|---|---|---|",
        f"| base model | {b['right']} | {b['wrong']} | {b['undecided']} | {b['accuracy_where_both_decide']:.3f} |",
        f"| fine-tuned | {a['right']} | {a['wrong']} | {a['undecided']} | {a['accuracy_where_both_decide']:.3f} |",
        "", f"Learning curves: `{stem}_learning_curves.png`. Held-out evaluation: "
        f"`{stem}_evaluation.csv` / `{stem}_evaluation.png` (base: `{stem}_evaluation_base.png`); "
        f"per trace: `{stem}_held_out.csv`.", ""])


if __name__ == "__main__":
    sys.exit(main())
