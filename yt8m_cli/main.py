"""The ``yt8m`` console script: parse flags, validate, call a library function.

Subcommands live in one small module each; this file only wires them together and turns
validation errors into one-line messages with exit code 2.
"""
from __future__ import annotations

import argparse
import os
import sys
import warnings

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

warnings.filterwarnings("ignore", category=FutureWarning)  # Python 3.10 notices from google-*

from yt8m_cli import commands  # noqa: E402  (after the environment is set)


class UserError(Exception):
    """An error in the user's input: printed as one line, exit code 2."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="yt8m", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, module in commands.COMMANDS.items():
        p = sub.add_parser(name, help=module.HELP, description=module.HELP,
                           formatter_class=argparse.ArgumentDefaultsHelpFormatter)
        module.add_arguments(p)
        p.set_defaults(_run=module.run)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        result = args._run(args)
    except (ValueError, FileNotFoundError, FileExistsError, commands.DataError) as e:
        print(f"yt8m {args.command}: error: {e}", file=sys.stderr)
        return 2
    return int(result or 0)


if __name__ == "__main__":
    sys.exit(main())
