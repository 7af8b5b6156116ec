"""What every command shares: the console, the error rule, thread count, and help with an
"Experimental" section for research flags."""
from __future__ import annotations

import functools
import sys

import click
from rich.console import Console
from rich.markup import escape

from ..errors import IlatError

console = Console(stderr=True)


def user_errors(func):
    """Turn an IlatError into one clear line on stderr and exit code 2 (click's usage-error code)."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        try:
            return func(*args, **kwargs)
        except IlatError as exc:
            console.print(f"[bold red]error:[/] {escape(str(exc))}", highlight=False, soft_wrap=True)
            sys.exit(2)

    return wrapper


def set_threads(threads: int | None) -> None:
    if threads is not None:
        import torch  # heavy: only once a command runs, so that --help stays fast

        torch.set_num_threads(threads)


class ExperimentalOption(click.Option):
    """An option listed under "Experimental" in --help: ours, not the paper's, measured in
    docs/results.md, and not needed for everyday use."""


class SectionedCommand(click.Command):
    """A command whose --help lists its ExperimentalOptions in a section of their own."""

    def format_options(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        everyday, experimental = [], []
        for param in self.get_params(ctx):
            record = param.get_help_record(ctx)
            if record is not None:
                (experimental if isinstance(param, ExperimentalOption) else everyday).append(record)
        if everyday:
            with formatter.section("Options"):
                formatter.write_dl(everyday)
        if experimental:
            with formatter.section("Experimental (ours, not in the paper; measured in docs/results.md)"):
                formatter.write_dl(experimental)


def experimental(*names, **kwargs):
    """`click.option` for an ExperimentalOption."""
    return click.option(*names, cls=ExperimentalOption, **kwargs)
