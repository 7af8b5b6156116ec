"""The `ilat-video` command line. The only module that prints for the user."""
from __future__ import annotations

import functools
import logging
import sys

import click
from rich.console import Console

from . import __version__
from .errors import IlatError

console = Console(stderr=True)


def user_errors(func):
    """Turn an IlatError into one clear line on stderr and exit code 2 (click's usage-error code)."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        try:
            return func(*args, **kwargs)
        except IlatError as exc:
            console.print(f"[bold red]error:[/] {exc}", highlight=False)
            sys.exit(2)

    return wrapper


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="ilat-video")
@click.option("-v", "--verbose", count=True, help="Show library log messages (-v info, -vv debug).")
def main(verbose: int) -> None:
    """Animate the person in a photo with the motion of a driving video (iLAT).

    \b
    Main job:
      ilat-video animate REFERENCE.png DRIVING.mp4 -o out.mp4
    Poses:
      ilat-video extract-poses VIDEO -o poses.json --overlay overlay.mp4
      ilat-video render-poses poses.json -o skeleton.mp4
      ilat-video convert-poses IN -o OUT --to openpose
    """
    level = logging.WARNING if verbose == 0 else logging.INFO if verbose == 1 else logging.DEBUG
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")


# Commands are added below, one section per area, each wrapped in @user_errors.
