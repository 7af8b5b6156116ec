"""The `ilat-video` command line. The only module that prints for the user."""
from __future__ import annotations

import functools
import logging
import sys

import click
from rich.console import Console

from . import __version__
from .errors import IlatError
from .personalize import MAX_STEPS as MAX_PERSONALIZE_STEPS
from .views import MAX_VIEWS

console = Console(stderr=True)


def user_errors(func):
    """Turn an IlatError into one clear line on stderr and exit code 2 (click's usage-error code)."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        try:
            return func(*args, **kwargs)
        except IlatError as exc:
            console.print(f"[bold red]error:[/] {exc}", highlight=False, soft_wrap=True)
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
      ilat-video retarget poses.json --reference me.png -o on_me.json
    Training and measuring:
      ilat-video synth data/synth --videos 600 --frames 32 --size 128
      ilat-video train-tokenizer --data synthetic --out runs/tok --stage 1
      ilat-video train-transformer --data synthetic --tokenizer runs/tok --out runs/lat
      ilat-video evaluate --model models/demo --data synthetic
    """
    level = logging.WARNING if verbose == 0 else logging.INFO if verbose == 1 else logging.DEBUG
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")


# Commands are added below, one section per area, each wrapped in @user_errors.


# --- training ---


def _train_with_progress(train, config, label: str) -> None:
    """Run a training function with a rich progress bar (loss, speed) and report how it ended."""
    import signal

    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

    columns = (
        TextColumn(f"[bold]{label}[/]"), BarColumn(), MofNCompleteColumn(),
        TextColumn("loss {task.fields[loss]}"), TextColumn("{task.fields[speed]}"),
        TimeElapsedColumn(), TimeRemainingColumn(),
    )
    bar = Progress(*columns, console=console, transient=False)
    task = None

    def on_step(p) -> None:
        nonlocal task
        if task is None:
            bar.start()
            task = bar.add_task(label, total=p.total_steps, completed=p.step - 1, loss="-", speed="")
        loss = "-" if p.loss is None else f"{p.loss:.4f}"
        speed = f"{p.steps_per_s:.2f} it/s {p.images_per_s:.1f} img/s" if p.steps_per_s else ""
        bar.update(task, completed=p.step, loss=loss, speed=speed)

    try:
        result = train(config, callback=on_step)
    finally:
        bar.stop()
    if result.model_dir is None:  # ranks other than 0 under torchrun stay quiet
        return
    if result.stopped_by == "signal":
        console.print(f"stopped at step {result.step} by a signal; checkpoint written to {result.out}. "
                      "Continue with the same command and --resume.")
        sys.exit(128 + (result.signum or signal.SIGINT))
    how = "time budget spent" if result.stopped_by == "time" else "done"
    console.print(f"{how} at step {result.step}; weights in {result.model_dir}, log in {result.out / 'log.jsonl'}")


def _common_training_options(func):
    options = [
        click.option("--data", required=True, help="'synthetic', a Penn Action folder, or a folder of videos."),
        click.option("--out", required=True, type=click.Path(file_okay=False), help="Run folder (log, samples, checkpoints, model/)."),
        click.option("--steps", type=int, default=10_000, show_default=True),
        click.option("--batch-size", type=int, default=16, show_default=True, help="Per process."),
        click.option("--grad-clip", type=float, default=1.0, show_default=True, help="Max gradient norm (0: off)."),
        click.option("--resume", is_flag=True, help="Continue the run in --out from its latest checkpoint."),
        click.option("--seed", type=int, default=0, show_default=True),
        click.option("--workers", "num_workers", type=int, default=0, show_default=True, help="DataLoader worker processes."),
        click.option("--log-every", type=int, default=10, show_default=True),
        click.option("--checkpoint-every", type=int, default=500, show_default=True),
        click.option("--sample-every", type=int, default=500, show_default=True, help="Sample grid PNG interval (0: none)."),
        click.option("--max-minutes", type=float, default=None, help="Wall-clock budget: checkpoint and stop when spent."),
        click.option("--stop-at", type=click.IntRange(min=1), default=None,
                     help="Stop (with a checkpoint) after this step while the LR schedule still runs to --steps: "
                          "gives an ablation the exact step budget of a time-limited run."),
        click.option("--device", default=None, help="cpu, cuda, cuda:1 ... (default: CUDA if available)."),
        click.option("--bf16/--no-bf16", default=True, show_default=True, help="bf16 autocast on CUDA."),
        click.option("--cpu-bf16", is_flag=True,
                     help="bf16 autocast on the CPU too: 1.5-1.8x faster steps where the CPU has native bf16 "
                          "(AVX512-BF16 or AMX), slower elsewhere."),
        click.option("--threads", type=click.IntRange(min=1), default=None,
                     help="CPU threads for torch (1 is fastest when the cores are shared; default: torch's)."),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def _set_threads(threads: int | None) -> None:
    if threads is not None:
        import torch

        torch.set_num_threads(threads)


def _gan_weight(ctx, param, value):
    if value is None or value == "adaptive":
        return None
    try:
        return float(value)
    except ValueError:
        raise click.BadParameter("'adaptive' or a number (the paper fixes 0.1)") from None


@main.command("train-tokenizer")
@_common_training_options
@click.option("--preset", default="small-64", show_default=True, help="Tokenizer preset or config.json.")
@click.option("--stage", type=click.Choice(["1", "2"]), default="1", show_default=True,
              help="1: plain VQGAN; 2: with pose regions + free-form masks (Eq. 4).")
@click.option("--init", type=click.Path(exists=True, file_okay=False), default=None,
              help="Start from these weights (stage 2: the stage-1 run or its model/ folder).")
@click.option("--lr", type=float, default=8e-5, show_default=True)
@click.option("--lr-decay-every", type=int, default=None, help="Halve the LR every N steps (default: steps/3).")
@click.option("--gan-weight", callback=_gan_weight, default="adaptive", show_default=True,
              help="'adaptive' (taming) or a fixed weight.")
@click.option("--gan-start", type=int, default=None, help="Step the GAN loss starts (default: steps/5, 0 with --init).")
@click.option("--vgg-weights", type=click.Path(exists=True, dir_okay=False), default=None,
              help="Local VGG16 .safetensors for the perceptual loss (none: no perceptual loss).")
@click.option("--perceptual-weight", type=float, default=1.0, show_default=True)
@click.option("--region-mix", type=float, default=0.5, show_default=True,
              help="Stage 2: share of pose regions (the rest free-form masks).")
@click.option("--norm-group-channels", type=click.IntRange(min=1), default=None,
              help="Fewest channels per decoder GroupNorm group (1: VQGAN's 32 groups; 4 keeps an image's "
                   "overall colour in a small decoder). Overrides the preset's or --init's; weights load either way.")
@click.option("--decoder-only", is_flag=True,
              help="Train the decoder only: encoder and codebook stay fixed, so tokens (and a transformer "
                   "trained on them) stay valid.")
@click.option("--decoder-channels", type=click.IntRange(min=1), default=None,
              help="With --init: a decoder this wide (channels at full resolution); its deep part starts afresh.")
@click.option("--decoder-res-blocks", type=click.IntRange(min=1), default=None,
              help="With --init: this many residual blocks per decoder level; added ones start as the "
                   "identity, so the decoder trains on from --init's.")
@click.option("--sampled-from", type=click.Path(exists=True, file_okay=False), default=None,
              help="With --decoder-only: also train the decoder on the frames this LA transformer (model folder "
                   "or run) makes for each batch's pairs, greedy, from its expected codes and its tokens, against "
                   "the targets (not in the paper).")
@click.option("--sampled-weight", type=click.FloatRange(min=0), default=100.0, show_default=True,
              help="Weight of each --sampled-from term: the squared error inside the region, images in [0, 1].")
@user_errors
def train_tokenizer_command(stage, threads, **options) -> None:
    """Train the TS-VQGAN tokenizer (stage 1, then stage 2 with --init)."""
    from .train.tokenizer import TokenizerTrainConfig, train_tokenizer

    _set_threads(threads)
    config = TokenizerTrainConfig(stage=int(stage), **options)
    _train_with_progress(train_tokenizer, config, f"tokenizer stage {stage}")


@main.command("train-transformer")
@_common_training_options
@click.option("--tokenizer", required=True, type=click.Path(exists=True, file_okay=False),
              help="The trained tokenizer's model folder (or its run folder).")
@click.option("--preset", default="small", show_default=True, help="Transformer preset or config.json.")
@click.option("--mask", type=click.Choice(["la", "ar"]), default="la", show_default=True,
              help="la: iLAT's local AR mask; ar: the vanilla AR baseline.")
@click.option("--reference-pose/--no-reference-pose", default=False, show_default=True,
              help="Also feed the reference pose as condition tokens.")
@click.option("--pose-map/--no-pose-map", default=False, show_default=True,
              help="Add both poses drawn onto the token grid to the token embeddings (not in the paper); "
                   "with --init from a model without them, they are added, starting at zero.")
@click.option("--changed-weight", type=click.FloatRange(min=0, min_open=True), default=1.0, show_default=True,
              help="Loss weight of the region tokens whose target differs from the reference's token there "
                   "(the ones copying gets wrong); 1: the paper's plain mean.")
@click.option("--expected-weight", type=click.FloatRange(min=0), default=0.0, show_default=True,
              help="Also train the expected code that `animate --decode expected` renders: this weight times "
                   "its squared distance from the target token's code (not in the paper); 0: cross-entropy only.")
@click.option("--decoded-weight", type=click.FloatRange(min=0), default=0.0, show_default=True,
              help="Also train the frame `animate --decode expected` shows: this weight times the squared error "
                   "inside the region of the expected codes decoded by the tokenizer (images in [0, 1]; not in the "
                   "paper); 0: off.")
@click.option("--init", type=click.Path(exists=True, file_okay=False), default=None,
              help="Start from this transformer's weights (its model/ folder or run folder) instead of the "
                   "preset, e.g. after training the tokenizer further.")
@click.option("--lr", type=float, default=5e-5, show_default=True)
@click.option("--warmup-steps", type=int, default=None, help="Linear warmup (default: steps/30), then linear decay to 0.")
@click.option("--weight-decay", type=float, default=0.01, show_default=True)
@user_errors
def train_transformer_command(threads, **options) -> None:
    """Train the LA transformer on a frozen tokenizer."""
    from .train.transformer import TransformerTrainConfig, train_transformer

    _set_threads(threads)
    config = TransformerTrainConfig(**options)
    _train_with_progress(train_transformer, config, f"transformer ({options['mask']})")


# --- training data (synthetic people) ---
@main.command("synth")
@click.argument("out", type=click.Path(file_okay=False))
@click.option("--videos", type=click.IntRange(min=0), default=16, show_default=True, help="Clips of --split.")
@click.option("--frames", type=click.IntRange(min=2), default=32, show_default=True, help="Frames per clip.")
@click.option("--size", type=click.IntRange(min=16), default=128, show_default=True, help="Frame side in pixels.")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--split", type=click.Choice(["train", "test"]), default="train", show_default=True,
              help="The split of the clips (their identities and backgrounds never meet the other split's).")
@click.option("--test-videos", type=click.IntRange(min=0), default=0, show_default=True,
              help="Also write this many test-split clips after them, in the same folder.")
@user_errors
def synth_command(out, videos, frames, size, seed, split, test_videos) -> None:
    """Render synthetic people in the Penn Action layout (OUT/frames, OUT/labels)."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    from .data.synth import write_penn_dataset

    with Progress(TextColumn("synth"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                  console=console, transient=True) as bar:
        task = bar.add_task("frames", total=(videos + test_videos) * frames)
        written = write_penn_dataset(out, videos=videos, frames=frames, size=size, seed=seed, split=split,
                                     test_videos=test_videos,
                                     progress=lambda done, total: bar.update(task, completed=done))
    click.echo(f"wrote {len(written)} videos ({(videos + test_videos) * frames} frames of {size}x{size}) to {out}")


# --- poses: extraction and rendering (video in/out, MediaPipe) ---
from pathlib import Path  # noqa: E402  (used by the click path types below)


def _frames_bar(label: str):
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

    return Progress(TextColumn(f"[bold]{label}[/]"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                    TimeRemainingColumn(), console=console, transient=True)


def _ranges(frames) -> str:
    from .pose.filters import _ranges as ranges

    return ranges(frames)


@main.command("extract-poses")
@click.argument("video", type=click.Path(path_type=Path))
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="Pose file to write (ilat-video JSON, docs/pose-format.md; see --format).")
@click.option("--overlay", type=click.Path(dir_okay=False, path_type=Path),
              help="Also write VIDEO with the skeleton drawn on it (.mp4), to check the poses by eye.")
@click.option("--smooth/--no-smooth", default=True, show_default=True,
              help="Smooth the joints over time (One-Euro filter) to remove jitter.")
@click.option("--min-cutoff", type=click.FloatRange(min=0, min_open=True), default=0.5, show_default=True,
              help="Smoothing: cutoff frequency (Hz) for a still joint; lower = smoother.")
@click.option("--beta", type=click.FloatRange(min=0), default=200.0, show_default=True,
              help="Smoothing: how fast the cutoff rises with speed; higher = less lag on fast moves.")
@click.option("--max-gap", type=click.IntRange(min=0), default=3, show_default=True,
              help="Fill runs of up to this many frames where nobody was found by interpolation (0: never).")
@click.option("--people", type=click.IntRange(min=1), default=None,
              help="People looked for in each frame; the main one (largest at the start) is followed. "
                   "Default: 1 if the first frame shows at most one person (faster), else 2.")
@click.option("--max-side", type=click.IntRange(min=16), default=None,
              help="Shrink frames to at most this many pixels on their larger side before the pose model "
                   "(coordinates stay in the video's pixels).")
@click.option("--format", "pose_format", type=click.Choice(["ilat", "openpose"]), default="ilat", show_default=True,
              help="Pose file format: ours, or OpenPose COCO-18 JSON (for ControlNet-style tools).")
@click.option("--model", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="MediaPipe PoseLandmarker model (.task). Default: $ILAT_VIDEO_POSE_MODEL, then the "
                   "project's models/pose/pose_landmarker_full.task.")
@user_errors
def extract_poses_command(video, output, overlay, smooth, min_cutoff, beta, max_gap, people, max_side,
                          pose_format, model) -> None:
    """Find the person's 13 joints in every frame of VIDEO and write them to a pose file.

    \b
    Example:
      ilat-video extract-poses dance.mp4 -o dance.json --overlay dance_skeleton.mp4
    Frames where nobody is found are listed at the end and stored as frames with no person.
    """
    from .fileio import check_output_path
    from .pose.extract import extract_poses_report
    from .pose.formats import save_poses

    check_output_path(output, video)
    if overlay is not None:
        check_output_path(overlay, video, output)
    with _frames_bar("poses") as bar:
        task = bar.add_task("poses", total=None)
        result = extract_poses_report(
            video, model_path=model, smooth=smooth, min_cutoff=min_cutoff, beta=beta, max_gap=max_gap,
            num_poses=people, max_side=max_side,
            progress=lambda done, total: bar.update(task, completed=done, total=total))
    poses = result.poses
    if overlay is None:
        save_poses(poses, output, format=pose_format)
    else:
        from .pose.draw import render_poses
        from .video import VideoWriter, open_video

        # veryfast: a check video; 1.6x faster to encode than x264's default, about 12% bigger
        with open_video(video) as frames, \
                VideoWriter(overlay, poses.fps, audio_from=video, preset="veryfast") as writer, \
                _frames_bar("overlay") as bar:
            task = bar.add_task("overlay", total=len(poses))
            for frame in render_poses(poses, frames, progress=lambda done, total: bar.update(task, completed=done)):
                writer.write(frame)
            save_poses(poses, output, format=pose_format)  # inside: a failure leaves neither file
    with_person = int(poses.has_person.sum())
    click.echo(f"wrote {output}: {len(poses)} frames, {poses.width}x{poses.height} at {poses.fps:g} fps, "
               f"person in {with_person}/{len(poses)} frames ({result.frames_per_second:.1f} frames/s)")
    if len(result.no_person_frames):
        click.echo(f"frames with no person ({len(result.no_person_frames)}): {_ranges(result.no_person_frames)}")
    else:
        click.echo("frames with no person: none")
    if len(result.interpolated_frames):
        click.echo(f"frames filled in from their neighbours ({len(result.interpolated_frames)}): "
                   f"{_ranges(result.interpolated_frames)}")
    seen = poses.confidence[poses.has_person]
    if len(seen):
        click.echo(f"joints visible (confidence >= 0.5): {100 * (seen >= 0.5).mean():.0f}%")
    if overlay is not None:
        click.echo(f"wrote {overlay}")


@main.command("render-poses")
@click.argument("poses_path", metavar="POSES", type=click.Path(path_type=Path))
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="Video to write (.mp4, .mov, .mkv, .avi or .webm).")
@click.option("--background", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Draw over this video's frames (poses rescaled to its size, resampled to its frame rate; "
                   "its audio is kept) instead of a black canvas.")
@user_errors
def render_poses_command(poses_path, output, background) -> None:
    """Draw the skeletons of a pose file (any supported format) as a video.

    \b
    Example:
      ilat-video render-poses dance.json -o skeleton.mp4 --background dance.mp4
    """
    import contextlib

    from .fileio import check_output_path
    from .pose.draw import render_poses
    from .pose.formats import load_poses
    from .video import VideoWriter, open_video

    check_output_path(output, poses_path, background)
    seq = load_poses(poses_path)
    if len(seq) == 0:
        raise IlatError(f"{poses_path}: the pose file has no frames to render")
    with contextlib.ExitStack() as stack:
        frames = None
        if background is not None:
            frames = stack.enter_context(open_video(background))
            if abs(frames.fps - seq.fps) > 1e-3:
                click.echo(f"resampling the poses from {seq.fps:g} to the background's {frames.fps:g} fps")
                seq = seq.resample(frames.fps)
            if frames.num_frames is not None and frames.num_frames < len(seq):
                click.echo(f"the background has {frames.num_frames} frames, fewer than the {len(seq)} poses; "
                           "rendering stops at its end")
        writer = stack.enter_context(VideoWriter(output, seq.fps, audio_from=background, preset="veryfast"))
        bar = stack.enter_context(_frames_bar("render"))
        task = bar.add_task("render", total=len(seq))
        for frame in render_poses(seq, frames, progress=lambda done, total: bar.update(task, completed=done)):
            writer.write(frame)
    click.echo(f"wrote {output}: {writer.num_frames} frames, {writer.width}x{writer.height} at {seq.fps:g} fps")


# --- pose files ---
def _frame_size(ctx, param, value):
    if value is None:
        return None
    parts = value.lower().split("x")
    if len(parts) != 2 or not all(p.strip().isdigit() and int(p) > 0 for p in parts):
        raise click.BadParameter(f"expected WIDTHxHEIGHT in pixels, e.g. 1920x1080, got {value!r}")
    return int(parts[0]), int(parts[1])


@main.command("convert-poses")
@click.argument("source", metavar="IN", type=click.Path())
@click.option("-o", "--output", required=True, type=click.Path(),
              help="Where to write. --to openpose: a .json path gives one file, any other path a new folder "
                   "with one file per frame.")
@click.option("--to", "to_format", type=click.Choice(["ilat", "openpose"]), default="ilat", show_default=True,
              help="ilat: our JSON (docs/pose-format.md); openpose: OpenPose COCO-18 JSON as ControlNet tools read it.")
@click.option("--person-id", type=int, default=None,
              help="OpenPose: the person_id to follow; COCO: the annotation id (default: the largest person).")
@click.option("--fps", type=click.FloatRange(min=0, min_open=True), default=None,
              help="Frame rate for inputs that record none (OpenPose, COCO, Penn Action: default 30).")
@click.option("--size", callback=_frame_size, default=None, metavar="WIDTHxHEIGHT",
              help="Frame size for OpenPose files that record none (OpenPose's own output does not).")
@click.option("--keep-confidence", is_flag=True,
              help="--to openpose: write our confidences instead of 1 for every present joint "
                   "(ControlNet ignores joints with confidence below 1).")
@user_errors
def convert_poses_command(source, output, to_format, person_id, fps, size, keep_confidence) -> None:
    """Convert a pose file IN to another format.

    \b
    IN is detected from its content: our JSON, OpenPose JSON (BODY_25 or
    COCO-18; one file, or a folder with one file per frame), COCO keypoints
    JSON, or Penn Action .mat labels.

    \b
    Examples:
      ilat-video convert-poses openpose_frames/ --size 1920x1080 --fps 25 -o poses.json
      ilat-video convert-poses poses.json --to openpose -o controlnet_poses.json
      ilat-video convert-poses labels/0001.mat -o 0001.json
    """
    from .fileio import check_output_path
    from .pose.formats import load_poses, save_poses

    check_output_path(output, source)
    seq = load_poses(source, person_id=person_id, fps=fps, size=size)
    save_poses(seq, output, format=to_format, keep_confidence=keep_confidence)
    click.echo(f"wrote {output} ({to_format}): {len(seq)} frames ({int(seq.has_person.sum())} with a person), "
               f"{seq.width}x{seq.height} at {seq.fps:g} fps")


# --- retargeting ---
_POSE_SUFFIXES = (".json", ".mat")


@main.command("retarget")
@click.argument("poses", type=click.Path(path_type=Path))
@click.option("--reference", required=True, type=click.Path(path_type=Path), metavar="IMG|POSE",
              help="The reference image (its person's pose is found with MediaPipe), or a pose file "
                   "(.json, .mat or an OpenPose folder) holding one frame: the reference person's pose.")
@click.option("-o", "--output", required=True, type=click.Path(path_type=Path),
              help="Pose file to write, in the reference image's pixels (see --format).")
@click.option("--mode", type=click.Choice(["none", "scale", "relative", "bones"]), default="scale", show_default=True,
              help="none: as given, stretched to the reference size; scale: the reference's height, ground "
                   "line and hip position; relative: the reference pose plus the motion since the first "
                   "frame; bones: the reference's bone lengths with the driving's joint angles.")
@click.option("--format", "pose_format", type=click.Choice(["ilat", "openpose"]), default="ilat", show_default=True,
              help="Pose file format: ours, or OpenPose COCO-18 JSON (for ControlNet-style tools).")
@click.option("--pose-model", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="MediaPipe PoseLandmarker model (.task) for a reference image. Default: "
                   "$ILAT_VIDEO_POSE_MODEL, then the project's copy.")
@user_errors
def retarget_command(poses, reference, output, mode, pose_format, pose_model) -> None:
    """Move the motion in POSES onto the person in the reference, in the reference's pixels.

    \b
    Examples:
      ilat-video retarget dance.json --reference me.png -o dance_on_me.json
      ilat-video retarget labels/0001.mat --reference me_pose.json -o out.json --mode bones
    Frames of POSES with no person stay frames with no person.
    """
    from .fileio import check_output_path, load_image
    from .pose.formats import load_poses, save_poses
    from .pose.retarget import retarget

    check_output_path(output, poses, reference)
    driving = load_poses(poses)
    if reference.is_dir() or reference.suffix.lower() in _POSE_SUFFIXES:
        reference_pose = load_poses(reference)
        size = (reference_pose.width, reference_pose.height)
    else:
        from .pose.extract import extract_image_pose

        image = load_image(reference)
        size = (image.shape[1], image.shape[0])
        reference_pose = extract_image_pose(reference, model_path=pose_model)
    target = retarget(driving, reference_pose, size, mode=mode)
    save_poses(target, output, format=pose_format)
    click.echo(f"wrote {output} ({pose_format}, mode {mode}): {len(target)} frames "
               f"({int(target.has_person.sum())} with a person), {target.width}x{target.height} at {target.fps:g} fps")


# --- animate (the main job) ---
@main.command("animate")
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
@click.option("--background", type=click.Choice(["unchanged", "reference", "model"]), default="unchanged",
              show_default=True,
              help="Where the video shows the reference's own pixels: wherever the model kept the reference's "
                   "token (unchanged), outside the generated region only (reference), or nowhere: the model's "
                   "decoding everywhere (model: the paper's Eq. 4 output, softer).")
@click.option("--decode", type=click.Choice(["tokens", "expected"]), default="tokens", show_default=True,
              help="What the decoder renders in the generated region: the sampled tokens (the paper), or at "
                   "each position the mean code under the model's distribution there (expected: softer where "
                   "the model is unsure, closer to the truth on average).")
@click.option("--views", type=click.IntRange(1, MAX_VIEWS), default=1, show_default=True,
              help="Make each frame from this many mirrored and shifted views of the inputs and average them: "
                   "closer to the truth on average and softer, one model run per view.")
@click.option("--personalize", type=click.IntRange(0, MAX_PERSONALIZE_STEPS), default=0, show_default=True,
              metavar="STEPS",
              help="Before the first frame, tune a copy of the decoder this many steps on the reference alone, "
                   "so frames keep this person's colours (about 0.1 s a step on one CPU thread; 50 is a good "
                   "start; 0 = off). The generated tokens do not change.")
@click.option("--personalize-transformer", type=click.IntRange(0, MAX_PERSONALIZE_STEPS), default=0,
              show_default=True, metavar="STEPS",
              help="Before that, tune a copy of the transformer this many steps on pairs of the reference's own "
                   "mirrored and shifted views (about 1 s a step on one CPU thread; 5 is a good start; 0 = off).")
@click.option("--keep-still", type=click.FloatRange(min=0), default=None, metavar="PIXELS",
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

    from rich.progress import (BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn,
                               TimeRemainingColumn)

    from .pipeline import Animator, default_model_dir

    _set_threads(threads)
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
            reference, driving, output, reference_pose=reference_pose, retarget=retarget_mode,
            batch_size=batch_size, seed=seed, top_k=top_k, temperature=temperature, background=background,
            decode=decode, views=views, personalize=personalize, personalize_transformer=personalize_transformer,
            keep_still=keep_still, max_frames=max_frames,
            stride=stride, fps=fps, side_by_side=side_by_side, keep_audio=keep_audio, save_poses=save_poses,
            progress=progress,
        )
    click.echo(f"wrote {summary.output}: {summary.frames} frames at {summary.fps:g} fps, "
               f"{summary.size}x{summary.size} model frames, {summary.frames_per_second:.2f} frames/s "
               f"on {animator.device.type} ({summary.seconds:.1f} s in all), "
               f"mean region {100 * summary.region_rate:.0f}% of the tokens")
    if summary.frames_without_person:
        click.echo(f"note: {summary.frames_without_person} driving frames had no person; they hold the last pose")
    if save_poses is not None:
        click.echo(f"wrote {save_poses}: the retargeted poses")


# --- evaluation ---


def _seed_list(ctx, param, value):
    try:
        seeds = [int(s) for s in value.split(",") if s.strip()]
    except ValueError:
        raise click.BadParameter(f"expected comma-separated integers such as 0,1,2, got {value!r}") from None
    if not seeds or len(set(seeds)) != len(seeds):
        raise click.BadParameter(f"expected distinct seeds such as 0,1,2, got {value!r}")
    return seeds


def _method_list(ctx, param, value):
    from .evaluate import METHODS

    if value is None:
        return None
    methods = [m.strip() for m in value.split(",") if m.strip()]
    unknown = [m for m in methods if m not in METHODS]
    if unknown or not methods or len(set(methods)) != len(methods):
        raise click.BadParameter(f"expected distinct methods among {', '.join(METHODS)}, got {value!r}")
    return methods


@main.command("evaluate")
@click.option("--model", required=True, type=click.Path(path_type=Path),
              help="Model folder (tokenizer/ + transformer/), a transformer folder or run with --tokenizer, "
                   "or a tokenizer alone for copy and reconstruction.")
@click.option("--tokenizer", type=click.Path(path_type=Path), default=None,
              help="Tokenizer model folder or run, when --model is a transformer folder (or to override its own).")
@click.option("--data", required=True, help="'synthetic' (held-out synthetic people) or a Penn Action layout folder.")
@click.option("--pairs", "count", type=click.IntRange(min=1), default=100, show_default=True,
              help="Test pairs per subset.")
@click.option("--seeds", callback=_seed_list, default="0,1,2", show_default=True,
              help="One test subset per seed (mean ± std over them); also seeds sampling.")
@click.option("--method", "methods", callback=_method_list, default=None,
              help="Comma-separated: ilat, ilat-paste, ilat-unchanged, ilat-expected, vanilla, taming-la, copy, "
                   "reconstruction, reconstruction-unchanged. Default: ilat, ilat-unchanged, ilat-expected, "
                   "reconstruction, reconstruction-unchanged, copy, plus vanilla and taming-la with "
                   "--baseline-model.")
@click.option("--baseline-model", type=click.Path(path_type=Path), default=None,
              help="The ar-mask transformer (a model folder, or a transformer folder/run using --model's "
                   "tokenizer) for vanilla and taming-la.")
@click.option("--batch-size", type=click.IntRange(min=1), default=8, show_default=True)
@click.option("--top-k", type=click.IntRange(min=1), default=None,
              help="Sample among the k likeliest (default greedy).")
@click.option("--temperature", type=click.FloatRange(min=0, min_open=True), default=None,
              help="Sampling temperature (implies sampling; default greedy).")
@click.option("--views", type=click.IntRange(1, MAX_VIEWS), default=1, show_default=True,
              help="Average this many test-time views per frame in the ilat methods (as animate --views).")
@click.option("--personalize", type=click.IntRange(0, MAX_PERSONALIZE_STEPS), default=0, show_default=True,
              metavar="STEPS",
              help="Decode each pair in the ilat methods with a copy of the decoder tuned this many steps on its "
                   "own reference (as animate --personalize).")
@click.option("--personalize-transformer", type=click.IntRange(0, MAX_PERSONALIZE_STEPS), default=0,
              show_default=True, metavar="STEPS",
              help="Likewise with a copy of the transformer, first (as animate --personalize-transformer).")
@click.option("--keep-still", type=click.FloatRange(min=0), default=None, metavar="PIXELS",
              help="In the ilat methods, show the reference's own pixels on body parts whose joints moved at most "
                   "this many pixels (as animate --keep-still; default off).")
@click.option("--device", default=None, help="cpu, cuda, mps ... Default: CUDA, then MPS, then the CPU.")
@click.option("--threads", type=click.IntRange(min=1), default=None,
              help="CPU threads for torch (default: torch's choice; 1 is steadier on a busy machine).")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=None, help="Write the results as JSON.")
@click.option("--markdown", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write the results table as markdown.")
@click.option("--strip", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write a PNG: reference | target pose | each method's result | ground truth.")
@click.option("--strip-pairs", type=click.IntRange(min=1), default=6, show_default=True)
@click.option("--fid", is_flag=True, help="Also compute FID (needs --inception-weights).")
@click.option("--inception-weights", type=click.Path(path_type=Path), default=None,
              help="Local Inception-v3 weights (safetensors) for FID; nothing is downloaded.")
@user_errors
def evaluate_command(model, tokenizer, data, count, seeds, methods, baseline_model, batch_size, top_k, temperature,
                     views, personalize, personalize_transformer, keep_still, device, threads, out, markdown, strip,
                     strip_pairs, fid, inception_weights) -> None:
    """Measure a model on test pairs with ground truth: PSNR, SSIM, MAE (frame, region, outside), s/frame.

    \b
    Examples:
      ilat-video evaluate --model models/demo --data synthetic --out results.json --markdown results.md
      ilat-video evaluate --model models/demo --data synthetic --baseline-model runs/ablation/vanilla-ar \\
          --method ilat,vanilla,taming-la,copy --pairs 50
    """
    import shlex

    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
    from rich.table import Table

    from . import evaluate as ev
    from .fileio import check_output_path

    methods = methods or (["ilat", "ilat-unchanged", "ilat-expected", "reconstruction", "reconstruction-unchanged",
                           "copy"]
                          + (["vanilla", "taming-la"] if baseline_model is not None else []))
    needs_baseline = [m for m in methods if m in ev.BASELINE_METHODS]
    if needs_baseline and baseline_model is None:
        raise IlatError(f"{', '.join(needs_baseline)} need --baseline-model (a transformer trained with --mask ar)")
    if fid and inception_weights is None:
        raise IlatError("--fid needs --inception-weights FILE (local Inception-v3 weights; nothing is downloaded)")
    outputs = [p for p in (out, markdown, strip) if p is not None]
    for path in outputs:
        check_output_path(path, model, baseline_model, tokenizer)
    if len(set(p.resolve() for p in outputs)) != len(outputs):
        raise IlatError("--out, --markdown and --strip must be different files")
    if data != "synthetic" and not Path(data).is_dir():
        raise IlatError(f"--data {data}: expected 'synthetic' or a dataset folder in the Penn Action layout")

    if threads is not None:
        import torch

        torch.set_num_threads(threads)
    main_models = ev.load_models(model, tokenizer=tokenizer, device=device,
                                 transformer_required=any(m in ev.MAIN_MODEL_METHODS for m in methods))
    baseline_models = None
    if needs_baseline:
        # A full model folder brings its own tokenizer; a transformer folder or run uses --model's.
        own = (baseline_model / "tokenizer").is_dir() and tokenizer is None
        shared = tokenizer or (model / "tokenizer" if (model / "tokenizer").is_dir() else model)
        baseline_models = ev.load_models(baseline_model, tokenizer=None if own else shared, device=device)
    features = None
    if inception_weights is not None:
        from .inception import InceptionFeatures

        features = InceptionFeatures.from_file(inception_weights, device=device)
    size = main_models[0].config.resolution
    with console.status("making test pairs"):
        subsets = ev.pair_subsets(data, size, count=count, seeds=seeds)
    results = []
    keep = strip_pairs if strip is not None else 0
    columns = (TextColumn("[bold]{task.description:<15}[/]"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=console, transient=False) as bar:
        for method in methods:
            task = bar.add_task(method, total=sum(len(s) for s in subsets.values()))
            models = baseline_models if method in ev.BASELINE_METHODS else main_models
            results.append(ev.evaluate_model(
                models, subsets, method=method, batch_size=batch_size, device=device, top_k=top_k,
                temperature=temperature, views=views, personalize=personalize,
                personalize_transformer=personalize_transformer, keep_still=keep_still, keep_examples=keep,
                features=features,
                progress=lambda done, total, task=task: bar.update(task, completed=done),
            ))
            results[-1].model = None if method == "copy" else str(
                baseline_model if method in ev.BASELINE_METHODS else model)
    settings = {"methods": methods, "batch_size": batch_size, "greedy": top_k is None and temperature is None,
                "top_k": top_k, "temperature": temperature, "views": views if views > 1 else None,
                "personalize": personalize or None, "personalize_transformer": personalize_transformer or None,
                "keep_still": keep_still, "tokenizer": None if tokenizer is None else str(tokenizer),
                "baseline_model": None if baseline_model is None else str(baseline_model)}
    document = ev.results_document(results, data=data, pairs_per_subset=count, size=size, settings=settings,
                                   machine=ev.machine_info(device),
                                   command="ilat-video " + shlex.join(sys.argv[1:]))
    header, rows = ev.table_rows(document)
    table = Table(title=f"{data}: {count} test pairs x {len(seeds)} subsets (mean ± std over subsets)")
    for name in header:
        table.add_column(name, justify="left" if name == "method" else "right")
    for row in rows:
        table.add_row(*row)
    Console(width=None if sys.stdout.isatty() else 200).print(table)
    if out is not None:
        ev.write_json(out, document)
        click.echo(f"wrote {out}")
    if markdown is not None:
        ev.write_text(markdown, ev.results_markdown(document))
        click.echo(f"wrote {markdown}")
    if strip is not None:
        shown = subsets[seeds[0]][:strip_pairs]
        picture = ev.comparison_strip(shown, {r.method: r.examples for r in results if r.method != "copy"})
        ev.save_strip(strip, picture)
        click.echo(f"wrote {strip}")
