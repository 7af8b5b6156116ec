"""`ilat-video serve`: the main job as a local web page (the optional extra `[app]`)."""
from __future__ import annotations

from pathlib import Path

import click

from .common import set_threads, user_errors


@click.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on. Only this machine by default; another address lets anyone who can "
                   "reach it upload files and run jobs (a warning says so).")
@click.option("--port", type=click.IntRange(0, 65535), default=7860, show_default=True,
              help="Port to listen on (0: the first free one from 7860).")
@click.option("--model", type=click.Path(path_type=Path), default=None,
              help="Model folder with tokenizer/ and transformer/. Default: $ILAT_VIDEO_MODEL, then the "
                   "shipped demo model (models/demo).")
@click.option("--max-upload-mb", type=click.FloatRange(min=0, min_open=True), default=100, show_default=True,
              help="Largest upload accepted, per file.")
@click.option("--device", default=None, help="cpu, cuda, mps ... Default: CUDA, then MPS, then the CPU.")
@click.option("--threads", type=click.IntRange(min=1), default=None, help="CPU threads for torch.")
@click.option("--pose-model", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="MediaPipe PoseLandmarker model (.task). Default: $ILAT_VIDEO_POSE_MODEL, then the project's copy.")
@user_errors
def serve_command(host, port, model, max_upload_mb, device, threads, pose_model) -> None:
    """Serve a web page for the main job: upload a photo and a driving video or pose file, watch
    the driving poses and the result, download it.

    \b
    Example:
      ilat-video serve              # then open http://127.0.0.1:7860
    One job runs at a time; the page shows the others' place in the queue. Needs the extra:
    pip install 'ilat-video[app]'.
    """
    from ..app.page import import_gradio, serve
    from ..pipeline import Animator, default_model_dir

    import_gradio()  # before the model loads: say at once when the extra is missing
    set_threads(threads)
    animator = Animator.from_pretrained(model or default_model_dir(), device=device, pose_model=pose_model)
    server = serve(animator, host=host, port=port or None, max_upload_mb=max_upload_mb)
    click.echo(f"serving the page on {server.url} (Ctrl-C stops it)")
    server.wait()
