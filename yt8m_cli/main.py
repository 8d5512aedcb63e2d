"""The ``yt8m`` console script: parse flags, validate, call a library function.

Subcommands live in one small module each; this file only wires them together and turns
validation errors into one-line messages with exit code 2.
"""
from __future__ import annotations

import argparse
import os
import signal
import sys

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
# 3: TensorFlow's C++ start-up lines ("Unable to register cuDNN factory ...") would otherwise be
# the first lines a user sees; TensorFlow's errors still arrive as Python exceptions.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from trainer_module import log_filters  # noqa: E402  (after the environment is set)

log_filters.install()  # before any library import warns; --verbose undoes it in main()

from yt8m_cli import commands, flags  # noqa: E402


DESCRIPTION = """\
yt8m: the YouTube-8M video-classification starter kit as a TFX pipeline. Train, evaluate and
predict with the seed's flags (train, eval, inference), or run the whole pipeline (ingest,
validate, transform, train, evaluate with GAP@20, push, Kaggle CSV) locally and on Kubeflow
Pipelines or Vertex AI."""

USUAL_FLOW = """\
usual flow:
  make demo                                  set up, generate a small dataset, run the pipeline
  yt8m pipeline run --data_dir D             the pipeline locally (or, seed-style:
  yt8m train / yt8m eval / yt8m inference      train, evaluate, write the Kaggle CSV)
  yt8m runs / yt8m report                    the runs so far; an HTML report of one
  yt8m pipeline compile / submit             for Kubeflow Pipelines or Vertex AI

`yt8m COMMAND --help` explains each command's flags."""


class HelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """Shows a flag's default once: not when its help already states it, nor when there is
    none to show (None, False)."""

    def _get_help_string(self, action):
        text = action.help or ""
        if "default" in text or action.default in (None, False, argparse.SUPPRESS):
            return text
        return super()._get_help_string(action)


class UserError(Exception):
    """An error in the user's input: printed as one line, exit code 2."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="yt8m", description=DESCRIPTION, epilog=USUAL_FLOW,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, module in commands.COMMANDS.items():
        p = sub.add_parser(name, help=module.HELP, description=module.HELP,
                           formatter_class=HelpFormatter)
        module.add_arguments(p)
        flags.add_verbose_flag(p)
        p.set_defaults(_run=module.run, _paths=module.paths, _parser=p,
                       _renames=getattr(module, "FIELD_FLAGS", {}))
    return parser


def _one_line(error: BaseException) -> str:
    """The message of an error as one line: an OS error names its file; TensorFlow's op errors
    lose their graph context."""
    if isinstance(error, OSError) and error.filename and error.strerror:
        return f"{error.filename2 or error.filename}: {error.strerror}"  # rename: the target
    if type(error).__module__.startswith("tensorflow"):
        from trainer_module.data import records

        return records.summarize(error)
    text = " ".join(str(error).split())
    return text or type(error).__name__


class Terminated(KeyboardInterrupt):
    """SIGTERM outside training: handled like Ctrl-C (atomic outputs stay whole)."""

    signum = signal.SIGTERM


def _terminate_like_ctrl_c():
    """SIGTERM (what Kubernetes, Vertex and `kill` send) raises like Ctrl-C in the main thread,
    so partial outputs are cleaned up as after Ctrl-C; training stops at a step boundary and
    saves a checkpoint (train/loop.py). Returns the previous handler (None off the main
    thread)."""
    import threading

    if threading.current_thread() is not threading.main_thread():
        return None

    def handler(signum, frame):
        raise Terminated("terminated (SIGTERM)")

    return signal.signal(signal.SIGTERM, handler)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    log_filters.install(show_all=args.verbose)
    previous = _terminate_like_ctrl_c()
    try:
        from trainer_module import output_guard

        output_guard.check(args._paths(args))  # before any work: no output over an input
        result = args._run(args)
    except KeyboardInterrupt as e:
        print(f"yt8m {args.command}: {str(e) or 'interrupted'}", file=sys.stderr)
        return 128 + int(getattr(e, "signum", signal.SIGINT))  # 130 Ctrl-C, 143 SIGTERM
    except Exception as e:  # noqa: BLE001 (TensorFlow's op errors, protobuf's decode errors)
        if not isinstance(e, (ValueError, OSError, commands.DataError)) and \
                type(e).__module__.split(".")[0] not in ("tensorflow", "google", "ml_metadata"):
            raise
        text = flags.render_fields(_one_line(e), args._parser, args._renames)
        print(f"yt8m {args.command}: error: {text}", file=sys.stderr)
        return 2
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
    return int(result or 0)


if __name__ == "__main__":
    sys.exit(main())
