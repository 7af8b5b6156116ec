"""The web page of `ilat-video serve` (gradio, the optional extra `[app]`).

Upload a photo and a driving video or pose file, choose the retargeting and the quality preset,
and watch the driving poses and then the result appear. One job runs at a time; the others wait
in gradio's queue, whose position the page shows. The work is `jobs.run_job`: the library's own
steps and checks. Nothing leaves the machine: no analytics, no web fonts, no share link, and
every temporary file (uploads, jobs' folders, results shown) lives under one folder that is
removed when the server stops.
"""
from __future__ import annotations

import dataclasses
import inspect
import ipaddress
import logging
import os
import shutil
import tempfile
from pathlib import Path

from ..errors import IlatError
from ..pipeline import RETARGET_MODES, Animator
from .jobs import DRIVING_SUFFIXES, IMAGE_SUFFIXES, PRESETS, run_job

log = logging.getLogger(__name__)

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 7860
DEFAULT_MAX_UPLOAD_MB = 100
DEFAULT_QUEUE_SIZE = 16
# Shown results, uploads and other gradio files older than an hour are removed every ten minutes.
CACHE_SWEEP = (600, 3600)
VIDEO_HEIGHT = 420
SYSTEM_FONTS = ("ui-sans-serif", "system-ui", "sans-serif")
SYSTEM_MONO_FONTS = ("ui-monospace", "monospace")

RETARGET_HELP = "how the driving motion is moved onto the photo's body (`ilat-video retarget --help` explains each)"


def is_local_host(host: str) -> bool:
    """Whether `host` only listens on this machine (a loopback name or address)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def default_retarget() -> str:
    """The Animator's own default retargeting, so that the page starts where the CLI does."""
    return inspect.signature(Animator.animate_to_file).parameters["retarget"].default


def import_gradio():
    """gradio, with its analytics off; an IlatError saying how to install it when it is missing."""
    os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"
    os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
    try:
        import gradio
    except ImportError as exc:
        raise IlatError("`ilat-video serve` needs the web page's extra: pip install 'ilat-video[app]' "
                        f"({exc})") from exc
    return gradio


def build_page(animator: Animator, *, max_upload_mb: float = DEFAULT_MAX_UPLOAD_MB,
               temp_root: str | os.PathLike | None = None):
    """The gradio Blocks of the page (not launched). Jobs' folders go under `temp_root`."""
    gr = import_gradio()
    max_bytes = int(max_upload_mb * 2**20)

    def animate(photo, driving, retarget, preset, progress=gr.Progress()):
        if not photo:
            raise gr.Error("Upload a photo of a person first.", title="Nothing to animate")
        if not driving:
            raise gr.Error("Upload a driving video or pose file first.", title="Nothing to animate")

        def report(what: str, done: int, total: int | None) -> None:
            # gradio shows the description only beside a known total: without one, the unit says it
            progress((done, total), desc=what, unit="frames" if total else f"frames: {what}")

        steps = run_job(animator, photo, driving, retarget=retarget, preset=preset, max_bytes=max_bytes,
                        temp_root=temp_root, progress=report)
        try:
            for step in steps:
                notes = "".join(f"\n\nNote: {note}" for note in step.notes)  # what the CLI would print
                if step.kind == "skeleton":
                    found = int(step.poses.has_person.sum())
                    yield (str(step.path), None, None,
                           f"Driving poses: a person in {found} of {len(step.poses)} frames. Animating...{notes}")
                else:
                    summary = step.summary
                    width, height = summary.frame_size
                    missing = (f" {summary.frames_without_person} driving frames had no person; they hold the last "
                               f"pose." if summary.frames_without_person else "")
                    yield (gr.skip(), str(step.path), str(step.path),
                           f"Done: {summary.frames} frames at {summary.fps:g} fps, {width}x{height}, "
                           f"{summary.frames_per_second:.2f} frames/s ({summary.seconds:.1f} s).{missing}{notes}")
        except IlatError as exc:
            log.info("job refused: %s", exc)
            raise gr.Error(str(exc), title="Cannot animate", print_exception=False) from exc
        finally:
            steps.close()  # its folder goes now, also when the page is closed mid-job

    with gr.Blocks(title="ilat-video", analytics_enabled=False, delete_cache=CACHE_SWEEP) as page:
        gr.Markdown("# ilat-video\nAnimate the person in a photo with the motion of a driving video. "
                    "Everything runs on this machine. One job runs at a time; others wait in the queue, "
                    "whose position shows over the result.")
        with gr.Row():
            photo = gr.File(label="Photo (one whole person)", file_types=list(IMAGE_SUFFIXES), elem_id="photo")
            driving = gr.File(label="Driving video or pose file", file_types=list(DRIVING_SUFFIXES),
                              elem_id="driving")
        with gr.Row():
            retarget = gr.Radio(list(RETARGET_MODES), value=default_retarget(), label="Retargeting", info=RETARGET_HELP,
                                elem_id="retarget")
            preset = gr.Radio(list(PRESETS), value="quick", label="Quality",
                              info="; ".join(f"{name}: {p.description}" for name, p in PRESETS.items()),
                              elem_id="preset")
        button = gr.Button("Animate", variant="primary", elem_id="animate")
        status = gr.Markdown(elem_id="status")
        with gr.Row():
            skeleton = gr.Video(label="Driving poses", interactive=False, height=VIDEO_HEIGHT, elem_id="skeleton")
            result = gr.Video(label="Result", interactive=False, height=VIDEO_HEIGHT, elem_id="result")
        download = gr.File(label="Download the result", interactive=False, elem_id="download")
        button.click(animate, inputs=[photo, driving, retarget, preset],
                     outputs=[skeleton, result, download, status], concurrency_limit=1,
                     concurrency_id="animate", show_progress="full")
    page.queue(default_concurrency_limit=1, max_size=DEFAULT_QUEUE_SIZE)
    return page


@dataclasses.dataclass
class Server:
    """A running page: its address, and `close()` to stop it and remove its temporary files."""

    url: str
    page: object
    temp_root: Path

    def wait(self) -> None:
        """Serve until interrupted (Ctrl-C), then stop and clean up."""
        try:
            self.page.block_thread()
        finally:
            self.close()

    def close(self) -> None:
        try:
            self.page.close()
        finally:
            shutil.rmtree(self.temp_root, ignore_errors=True)

    def __enter__(self) -> "Server":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def serve(animator: Animator, *, host: str = DEFAULT_HOST, port: int | None = DEFAULT_PORT,
          max_upload_mb: float = DEFAULT_MAX_UPLOAD_MB) -> Server:
    """Start the page on http://host:port (port None: the first free one from 7860) and return the
    running Server; `wait()` serves until interrupted, `close()` stops it.

    All temporary files (gradio's uploads and results, the jobs' folders) go under one new folder,
    removed when the server stops. Sets GRADIO_TEMP_DIR for this process (gradio reads it there).
    """
    if not is_local_host(host):
        log.warning("serving on %s, not only this machine: anyone who can reach it can upload files and run jobs",
                    host)
    temp_root = Path(tempfile.mkdtemp(prefix="ilat-video-serve-"))
    try:
        os.environ["GRADIO_TEMP_DIR"] = str(temp_root / "gradio")
        page = build_page(animator, max_upload_mb=max_upload_mb, temp_root=temp_root)
        gr = import_gradio()
        theme = gr.themes.Default(font=list(SYSTEM_FONTS), font_mono=list(SYSTEM_MONO_FONTS))
        _, url, _ = page.launch(
            server_name=host, server_port=port, share=False, prevent_thread_lock=True, quiet=True,
            max_file_size=int(max_upload_mb * 2**20), theme=theme, footer_links=[], ssr_mode=False, pwa=False,
            mcp_server=False, enable_monitoring=False, show_error=True, inbrowser=False,
        )
    except BaseException:
        shutil.rmtree(temp_root, ignore_errors=True)
        raise
    return Server(url=url, page=page, temp_root=temp_root)
