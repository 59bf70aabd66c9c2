"""Train a polarity network built in code on synthetic onsets (the recipe of
:mod:`models.synthetic`).

    python -m models.train --out models/weights/focalflow_polarity_v1.weights.h5 --seed 0
    python -m models.train --model eqpolarity --out eqpolarity_synthetic.weights.h5 \
        --n-train 6000 --n-val 1000 --n-test 2000 --epochs 4

Reproducible: the training, validation and test sets are drawn from the seed (seeds ``seed``,
``seed + 1``, ``seed + 2``), Keras is seeded and TensorFlow runs deterministic ops. Writes the
weights and, beside them, ``<name>.json`` with the command, recipe, settings, training history
and the accuracy on the held-out synthetic test set (:func:`synthetic_scores`).
"""
from __future__ import annotations

import argparse
import json
import logging
import platform
import shlex
import sys
import time
from pathlib import Path

import numpy as np

from models.errors import write_text_atomic
from models.synthetic import Recipe, make_dataset, recipe_for

log = logging.getLogger("focalflow.models.train")

CLARITY_LOSS_WEIGHT = 0.3


def configure_tensorflow(seed: int, threads: int) -> None:
    """Seed Python/NumPy/TensorFlow, make ops deterministic and bound the CPU threads."""
    import keras
    import tensorflow as tf

    keras.utils.set_random_seed(seed)
    tf.config.experimental.enable_op_determinism()
    if threads:
        try:
            tf.config.threading.set_intra_op_parallelism_threads(threads)
            tf.config.threading.set_inter_op_parallelism_threads(threads)
        except RuntimeError:  # TensorFlow already running in this process: keep its threads
            log.info("TensorFlow already initialised; thread settings unchanged")


def compile_for_training(model, learning_rate: float,
                         clarity_weight: float = CLARITY_LOSS_WEIGHT) -> None:
    """Adam and the model's own loss (:meth:`models.base.PolarityModel.training_loss`; for
    FocalflowNet the clarity loss is weighted ``clarity_weight``)."""
    import keras

    model.keras_model.compile(optimizer=keras.optimizers.Adam(learning_rate),
                              **model.training_loss(clarity_weight))


def fit(model, inputs, polarity, clarity, val_inputs, val_polarity, val_clarity, *,
        epochs: int, batch_size: int, learning_rate: float, patience: int,
        clarity_weight: float = CLARITY_LOSS_WEIGHT) -> dict:
    """Train ``model.keras_model`` in place with early stopping on the validation loss (best
    weights restored); rows the model cannot learn from (undecided ones for a model that always
    decides) are left out. Returns the Keras history (lists per epoch): ``loss``, ``val_loss``,
    the accuracy (``accuracy`` or ``polarity_accuracy``) and its ``val_`` twin."""
    import keras

    targets, keep = model.training_targets(polarity, clarity)
    val_targets, val_keep = model.training_targets(val_polarity, val_clarity)
    compile_for_training(model, learning_rate, clarity_weight)
    callbacks = [keras.callbacks.EarlyStopping("val_loss", patience=patience,
                                               restore_best_weights=True),
                 keras.callbacks.ReduceLROnPlateau("val_loss", factor=0.3,
                                                   patience=max(1, patience // 2))]
    history = model.keras_model.fit(
        inputs[keep], _rows(targets, keep),
        validation_data=(val_inputs[val_keep], _rows(val_targets, val_keep)),
        epochs=epochs, batch_size=batch_size, shuffle=True, callbacks=callbacks, verbose=2)
    model._infer = None  # the inference function traced the old weights' graph; retrace
    return {k: [float(v) for v in values] for k, values in history.history.items()}


def _rows(targets, keep: np.ndarray):
    """``targets`` (an array or a dict of arrays) restricted to the rows of ``keep``."""
    if isinstance(targets, dict):
        return {k: np.asarray(v)[keep] for k, v in targets.items()}
    return np.asarray(targets)[keep]


def decisions(model, inputs: np.ndarray, min_confidence: float = 0.0) -> np.ndarray:
    """+1/-1/0 decisions of ``model`` on prepared inputs (same rule as ``classify``)."""
    from models.base import decide

    probs = model.predict_inputs(inputs, batch_size=4096)
    valid = np.ones(len(inputs), bool)
    return decide(probs, valid, [""] * len(inputs), min_confidence)["polarity"].to_numpy()


def polarity_scores(predicted: np.ndarray, truth: np.ndarray) -> dict:
    """Counts and rates of predicted vs true polarity (+1/-1/0)."""
    decided_truth = truth != 0
    both = decided_truth & (predicted != 0)
    right = int(np.sum(both & (predicted == truth)))
    wrong = int(np.sum(both & (predicted != truth)))
    return {"n": int(len(truth)), "labelled": int(decided_truth.sum()), "right": right,
            "wrong": wrong, "undecided": int(np.sum(decided_truth & (predicted == 0))),
            "accuracy_where_both_decide": right / max(1, right + wrong),
            "decided_fraction_of_labelled": (right + wrong) / max(1, int(decided_truth.sum())),
            "noise_called_undecided": float(np.mean(predicted[~decided_truth] == 0))
            if (~decided_truth).any() else float("nan")}


def synthetic_scores(model, data: dict) -> dict:
    """Scores on a synthetic set: overall, by SNR of the first half-cycle, by frequency."""
    predicted = decisions(model, data["inputs"])
    truth = data["polarity"]
    scores = {"all": polarity_scores(predicted, truth)}
    for low, high in ((2, 5), (5, 10), (10, 30), (30, np.inf)):
        rows = (data["snr"] >= low) & (data["snr"] < high)
        scores[f"snr_{low}_{high}"] = polarity_scores(predicted[rows], truth[rows])
    for low, high in ((1, 5), (5, 15), (15, 45)):
        rows = (data["freq_hz"] >= low) & (data["freq_hz"] < high)
        scores[f"freq_{low}_{high}_hz"] = polarity_scores(predicted[rows], truth[rows])
    return scores


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m models.train", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, required=True, help="weights file (*.weights.h5)")
    parser.add_argument("--model", choices=sorted(ARCHITECTURES), default="focalflow-net",
                        help="architecture to train (default focalflow-net)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--init", type=Path,
                        help="start from these weights (continue a training run on fresh "
                             "synthetic traces: give another --seed)")
    parser.add_argument("--n-train", type=int, default=60000, help="synthetic training traces")
    parser.add_argument("--n-val", type=int, default=6000, help="synthetic validation traces")
    parser.add_argument("--n-test", type=int, default=10000, help="synthetic held-out test traces")
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--learning-rate", type=float, default=2e-3)
    parser.add_argument("--patience", type=int, default=4, help="early-stopping patience (epochs)")
    parser.add_argument("--threads", type=int, default=2, help="TensorFlow CPU threads (0: all)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    if not args.out.name.endswith(".weights.h5"):
        parser.error("--out must end in .weights.h5")

    configure_tensorflow(args.seed, args.threads)
    started = time.time()
    model = architecture(args.model).untrained(seed=args.seed, device="cpu")
    if args.init is not None:
        model.keras_model.load_weights(args.init)
    recipe = recipe_for(model, Recipe())
    train = make_dataset(model, args.n_train, seed=args.seed, recipe=recipe)
    val = make_dataset(model, args.n_val, seed=args.seed + 1, recipe=recipe)
    generated = time.time()
    log.info("generated %d + %d synthetic traces in %.0f s", args.n_train, args.n_val,
             generated - started)
    history = fit(model, train["inputs"], train["polarity"], train["clarity"],
                  val["inputs"], val["polarity"], val["clarity"], epochs=args.epochs,
                  batch_size=args.batch_size, learning_rate=args.learning_rate,
                  patience=args.patience)
    trained = time.time()
    del train
    test = make_dataset(model, args.n_test, seed=args.seed + 2, recipe=recipe)
    scores = synthetic_scores(model, test)
    model.save(args.out)
    card = {
        "model": model.name, "weights": args.out.name,
        "command": "python -m models.train " + " ".join(shlex.quote(a) for a in
                                                        (argv if argv is not None else sys.argv[1:])),
        "settings": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()},
        "recipe": recipe.as_dict(),
        "parameters": int(model.keras_model.count_params()),
        "epochs_run": len(history.get("loss", [])),
        "history": history,
        "synthetic_test": scores,
        "seconds": {"generate": round(generated - started), "train": round(trained - generated)},
        "environment": {"python": platform.python_version(),
                        "tensorflow": _version("tensorflow"), "keras": _version("keras"),
                        "numpy": np.__version__},
    }
    write_text_atomic(card_path(args.out), json.dumps(card, indent=1) + "\n")
    all_ = scores["all"]
    log.info("held-out synthetic: %d right, %d wrong, %d undecided of %d labelled "
             "(accuracy where both decide %.4f); noise called undecided %.3f; wrote %s",
             all_["right"], all_["wrong"], all_["undecided"], all_["labelled"],
             all_["accuracy_where_both_decide"], all_["noise_called_undecided"], args.out)
    return 0


ARCHITECTURES = {"focalflow-net": "models.focalflow_net:FocalflowNet",
                 "eqpolarity": "models.eqpolarity:EQPolarity"}


def architecture(name: str):
    """The model class trained under ``name`` (see :data:`ARCHITECTURES`)."""
    import importlib

    module, _, cls = ARCHITECTURES[name].partition(":")
    return getattr(importlib.import_module(module), cls)


def card_path(weights: Path) -> Path:
    """``x.weights.h5`` -> ``x.json`` (the machine-readable model card beside the weights)."""
    return weights.with_name(weights.name[:-len(".weights.h5")] + ".json")


def _version(module: str) -> str:
    try:
        return __import__(module).__version__
    except ImportError:
        return "absent"


if __name__ == "__main__":
    sys.exit(main())
