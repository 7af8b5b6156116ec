"""`ilat-video animate`: the main job."""
from __future__ import annotations

from pathlib import Path

import click

from ..options import BACKGROUNDS, DECODINGS, MAX_TUNING_STEPS, MAX_VIEWS
from .common import SectionedCommand, console, experimental, set_threads, user_errors


@click.command("animate", cls=SectionedCommand)
@click.argument("reference", type=click.Path(path_type=Path))
@click.argument("driving", type=click.Path(path_type=Path))
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="The mp4 to write (written only when every frame is done).")
@click.option("--model", type=click.Path(path_type=Path), default=None,
              help="Model folder with tokenizer/ and transformer/. Default: $ILAT_VIDEO_MODEL, then the "
                   "shipped demo model (models/demo).")
@click.option("--retarget", "retarget_mode", type=click.Choice(["none", "scale", "relative", "bones"]),
              default="scale", show_default=True,
              help="How the driving motion is moved onto the reference body (see `ilat-video retarget --help`).")
@click.option("--reference-pose", type=click.Path(path_type=Path), default=None,
              help="The reference person's pose as a pose file (first frame used), instead of detecting it: "
                   "for drawn or synthetic people MediaPipe may not find.")
@click.option("--max-frames", type=click.IntRange(min=1), default=None, help="Animate at most this many frames.")
@click.option("--stride", type=click.IntRange(min=1), default=1, show_default=True,
              help="Use every N-th driving frame (the output fps is divided by N unless --fps is given).")
@click.option("--fps", type=click.FloatRange(min=0, min_open=True), default=None,
              help="Output frame rate. Default: the driving motion's.")
@click.option("--batch-size", type=click.IntRange(min=1), default=8, show_default=True,
              help="Frames generated together (faster per frame; memory grows with it, not with the video).")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed for sampling (same seed, same video).")
@click.option("--top-k", type=click.IntRange(min=1), default=None,
              help="Sample among the k likeliest tokens instead of taking the likeliest (greedy, the default).")
@click.option("--temperature", type=click.FloatRange(min=0, min_open=True), default=None,
              help="Sampling temperature (implies sampling; default greedy).")
@experimental("--background", type=click.Choice(BACKGROUNDS), default="unchanged",
              show_default=True,
              help="Where the video shows the reference's own pixels: wherever the model kept the reference's "
                   "token (unchanged), outside the generated region only (reference), or nowhere: the model's "
                   "decoding everywhere (model: the paper's Eq. 4 output, softer).")
@experimental("--decode", type=click.Choice(DECODINGS), default="tokens", show_default=True,
              help="What the decoder renders in the generated region: the sampled tokens (the paper), or at "
                   "each position the mean code under the model's distribution there (expected: softer where "
                   "the model is unsure, closer to the truth on average).")
@experimental("--views", type=click.IntRange(1, MAX_VIEWS), default=1, show_default=True,
              help="Make each frame from this many mirrored and shifted views of the inputs and average them: "
                   "closer to the truth on average and softer, one model run per view.")
@experimental("--personalize", type=click.IntRange(0, MAX_TUNING_STEPS), default=0, show_default=True,
              metavar="STEPS",
              help="Before the first frame, tune a copy of the decoder this many steps on the reference alone, "
                   "so frames keep this person's colours (about 0.1 s a step on one CPU thread; 50 is a good "
                   "start; 0 = off). The generated tokens do not change.")
@experimental("--personalize-transformer", type=click.IntRange(0, MAX_TUNING_STEPS), default=0,
              show_default=True, metavar="STEPS",
              help="Before that, tune a copy of the transformer this many steps on pairs of the reference's own "
                   "mirrored and shifted views (about 1 s a step on one CPU thread; 5 is a good start; 0 = off).")
@experimental("--keep-still", type=click.FloatRange(min=0), default=None, metavar="PIXELS",
              help="Show the reference's own pixels on body parts whose joints are within this many pixels (of "
                   "the model's frame) of the reference pose, instead of redrawing them (default off). Parts stay "
                   "there with --retarget relative where the driving person keeps still. Best on held-out pairs: "
                   "1 with one view, 0.5 with --views 16 --personalize; a detector's jitter may need more.")
@click.option("--device", default=None, help="cpu, cuda, mps ... Default: CUDA, then MPS, then the CPU.")
@click.option("--threads", type=click.IntRange(min=1), default=None,
              help="CPU threads for torch (default: torch's choice; on a machine busy with other work, fewer "
                   "threads than cores avoids threads waiting on each other).")
@click.option("--save-poses", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Also write the retargeted target poses (ilat-video JSON, in the reference's pixels).")
@click.option("--side-by-side", is_flag=True,
              help="Write reference | driving frame (or its skeleton) | result side by side.")
@click.option("--keep-audio", is_flag=True, help="Copy the driving video's audio into the output.")
@click.option("--pose-model", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="MediaPipe PoseLandmarker model (.task). Default: $ILAT_VIDEO_POSE_MODEL, then the project's copy.")
@user_errors
def animate_command(reference, driving, output, model, retarget_mode, reference_pose, max_frames, stride, fps,
                    batch_size, seed, top_k, temperature, background, decode, views, personalize,
                    personalize_transformer, keep_still, device, threads, save_poses, side_by_side, keep_audio,
                    pose_model) -> None:
    """Animate the person in REFERENCE (an image) with the motion of DRIVING (a video or a pose file).

    \b
    Examples:
      ilat-video animate me.png dance.mp4 -o me_dancing.mp4
      ilat-video animate me.png dance.json -o out.mp4 --retarget bones --side-by-side
      ilat-video animate drawn.png dance.mp4 --reference-pose drawn_pose.json -o out.mp4
    The output is square, at the model's size (upscaled for viewing), one frame per driving frame.
    """
    import time as _time

    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    from ..options import RenderOptions
    from ..pipeline import Animator, default_model_dir

    options = RenderOptions(top_k=top_k, temperature=temperature, background=background, decode=decode, views=views,
                            personalize=personalize, personalize_transformer=personalize_transformer,
                            keep_still=keep_still)
    set_threads(threads)
    model = model or default_model_dir()
    animator = Animator.from_pretrained(model, device=device, pose_model=pose_model)
    started = _time.perf_counter()
    columns = (TextColumn("[bold]{task.description}[/]"), BarColumn(), MofNCompleteColumn(),
               TextColumn("{task.fields[rate]}"), TimeElapsedColumn(), TimeRemainingColumn())
    with Progress(*columns, console=console, transient=True) as bar:
        task = bar.add_task("animating", total=None, rate="")

        def progress(done: int, total: int) -> None:
            rate = done / max(_time.perf_counter() - started, 1e-9)
            bar.update(task, completed=done, total=total, rate=f"{rate:.2f} frames/s")

        summary = animator.animate_to_file(
            reference, driving, output, options=options, reference_pose=reference_pose, retarget=retarget_mode,
            batch_size=batch_size, seed=seed, max_frames=max_frames, stride=stride, fps=fps,
            side_by_side=side_by_side, keep_audio=keep_audio, save_poses=save_poses, progress=progress,
        )
    click.echo(f"wrote {summary.output}: {summary.frames} frames at {summary.fps:g} fps, "
               f"{summary.size}x{summary.size} model frames, {summary.frames_per_second:.2f} frames/s "
               f"on {animator.device.type} ({summary.seconds:.1f} s in all), "
               f"mean region {100 * summary.region_rate:.0f}% of the tokens")
    if summary.frames_without_person:
        click.echo(f"note: {summary.frames_without_person} driving frames had no person; they hold the last pose")
    if save_poses is not None:
        click.echo(f"wrote {save_poses}: the retargeted poses")
