"""``python -m focalflow.demo [--out DIR] [--seed N]``: write the synthetic demo."""
import argparse
import sys
import time

from focalflow.demo.generator import REPO, generate
from focalflow.errors import FocalflowError


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m focalflow.demo", description=__doc__)
    parser.add_argument("--out", default=str(REPO / "demo_data"),
                        help="output folder (default: demo_data/ beside config.yaml)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    try:
        out = generate(args.out, seed=args.seed)
    except FocalflowError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(f"demo written to {out} in {time.perf_counter() - started:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
