"""``python -m focalflow.demo [--out DIR] [--seed N]``: write the synthetic demo (and a
config.yaml where none exists); the same as ``focalflow demo``."""
import sys

from focalflow import commands


def main(argv: list[str] | None = None) -> int:
    return commands.main(["demo", *(sys.argv[1:] if argv is None else argv)])


if __name__ == "__main__":
    sys.exit(main())
