"""The `inpaint-bench` command: every front-end lives in this folder, one module per command group. Each parses
arguments, calls a library function and prints; subcommands import what they need, so `--help` is instant."""

from __future__ import annotations

import argparse
import sys

DESCRIPTION = "The `inpaint-bench` command. Subcommands import what they need, so `--help` is instant."


def _doctor(args) -> int:
    from .doctor import main

    return main()


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="inpaint-bench", description=DESCRIPTION)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("doctor", help="versions, devices, cache, datasets and weights found or missing").set_defaults(
        func=_doctor)
    from .masks import add_parser as add_masks

    add_masks(sub)
    from .score import add_parser as add_score

    add_score(sub)
    from .train import add_parser as add_train

    add_train(sub)
    from .bench import add_parsers as add_bench

    add_bench(sub)
    from .checkpoints import add_parser as add_checkpoints

    add_checkpoints(sub)
    from .stats import add_parser as add_stats

    add_stats(sub)
    from .fetch import add_parser as add_fetch

    add_fetch(sub)
    from .compare import add_parser as add_compare

    add_compare(sub)
    from .plan import add_parser as add_plan

    add_plan(sub)
    return parser


def is_recipe_training(argv: list[str]) -> bool:
    """`train --config RECIPE …` / `train --print_config …` go to LightningCLI; `train [OPTIONS] NET [OPTIONS]` does not."""
    if not argv or argv[0] != "train":
        return False
    return any(a in ("-c", "--print_config") or a.startswith(("--config", "--print_config=")) for a in argv[1:])


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if is_recipe_training(argv):
        from .train_recipe import main as train_cli  # `train --config …`, `--print_config`: LightningCLI

        try:
            return train_cli(argv[1:])
        except (OSError, ValueError, KeyError, TypeError, RuntimeError) as err:
            print(f"inpaint-bench: error: {err}", file=sys.stderr)
            return 2
    args = build_parser().parse_args(argv)
    try:
        return args.func(args) or 0
    except (OSError, ValueError, KeyError, TypeError, RuntimeError) as err:
        msg = err.args[0] if isinstance(err, KeyError) and err.args else err
        print(f"inpaint-bench: error: {msg}", file=sys.stderr)
        return 2

