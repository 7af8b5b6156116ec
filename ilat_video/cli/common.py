"""What every command shares: the console, the error rule, stopping on signals, thread count,
and help with an "Experimental" section for research flags."""
from __future__ import annotations

import contextlib
import functools
import signal
import sys
import threading

import click
from rich.console import Console
from rich.markup import escape

from ..errors import IlatError

console = Console(stderr=True)


class Stopped(BaseException):
    """Raised in the main thread when the process is asked to stop (SIGTERM, SIGHUP).

    A BaseException like KeyboardInterrupt, so that it unwinds the same way as Ctrl-C: every
    `with` block closes, and half-written outputs (the hidden .part files) are removed.
    """

    def __init__(self, signum: int):
        super().__init__(signum)
        self.signum = signum


@contextlib.contextmanager
def unwind_on_signals():
    """While the block runs, SIGTERM and SIGHUP unwind it like Ctrl-C does (they raise Stopped).

    Python's default for SIGTERM ends the process at once, skipping every cleanup, which left
    the hidden 0-byte part file of the output behind. Only the first signal raises: one that
    arrives while the program is already unwinding is ignored, so it cannot cut the cleanup
    short (SIGKILL still ends everything). A signal someone chose to ignore (nohup ignores
    SIGHUP) stays ignored. Handlers are installed in the main thread only and restored after.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    stopping: list[int] = []

    def stop(signum, frame):
        if stopping:
            return
        stopping.append(signum)
        raise KeyboardInterrupt if signum == signal.SIGINT else Stopped(signum)

    previous = {}
    for name in ("SIGTERM", "SIGHUP", "SIGINT"):
        signum = getattr(signal, name, None)
        if signum is None:  # Windows has no SIGHUP
            continue
        current = signal.getsignal(signum)
        # SIGINT: only Python's own Ctrl-C handler is replaced (by one that ignores a second
        # Ctrl-C during the cleanup); a handler set by someone else is theirs.
        if current == signal.SIG_IGN or (signum == signal.SIGINT and current is not signal.default_int_handler):
            continue
        previous[signum] = signal.signal(signum, stop)
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def user_errors(func):
    """Turn an IlatError into one clear line on stderr and exit code 2 (click's usage-error code).

    Also: SIGTERM, SIGHUP and Ctrl-C stop the command the same way, removing half-written
    outputs; the exit code is then 128 + the signal's number, as a shell reports a killed command.
    """

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        try:
            with unwind_on_signals():
                return func(*args, **kwargs)
        except IlatError as exc:
            console.print(f"[bold red]error:[/] {escape(str(exc))}", highlight=False, soft_wrap=True)
            sys.exit(2)
        except (Stopped, KeyboardInterrupt) as exc:
            signum = exc.signum if isinstance(exc, Stopped) else signal.SIGINT
            name = signal.Signals(signum).name
            console.print(f"[bold red]stopped[/] by {name}: no half-written output was left behind",
                          highlight=False, soft_wrap=True)
            sys.exit(128 + signum)

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
