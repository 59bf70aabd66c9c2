"""``python -m focalflow.demo [--out DIR] [--seed N] [--own-data DIR]``: write the synthetic demo
(and, with ``--own-data``, the same data as one miniSEED file per event, QuakeML picks and a
plain station list: see ``examples/event_mseed_quakeml.yaml``)."""
import argparse
import sys
import time

from focalflow.demo.generator import REPO, generate
from focalflow.demo.own_data import write_own_data
from focalflow.errors import FocalflowError


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m focalflow.demo", description=__doc__)
    parser.add_argument("--out", default=str(REPO / "demo_data"),
                        help="output folder (default: demo_data/ beside config.yaml)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    parser.add_argument("--own-data", metavar="DIR", default=None,
                        help="also write the demo as a user's own files to DIR (one miniSEED file "
                        "per event, QuakeML, a plain station list), e.g. demo_own_data")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    try:
        out = generate(args.out, seed=args.seed)
        if args.own_data:
            write_own_data(out, args.own_data)
    except FocalflowError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(f"demo written to {out}{' and ' + args.own_data if args.own_data else ''} in "
          f"{time.perf_counter() - started:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
