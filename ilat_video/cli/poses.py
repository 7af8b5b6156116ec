"""`ilat-video extract-poses`, `render-poses`, `convert-poses` and `retarget`: poses in and out."""
from __future__ import annotations

from pathlib import Path

import click

from ..errors import IlatError
from .common import console, user_errors

# --- poses: extraction and rendering (video in/out, MediaPipe) ---


def _frames_bar(label: str):
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    return Progress(TextColumn(f"[bold]{label}[/]"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                    TimeRemainingColumn(), console=console, transient=True)


def person_choice(ctx, param, value):
    """Click callback: a --person / --ref-person / --drive-person value, checked (exit 2 when wrong)."""
    if value is None:
        return None
    from ..pose.tracking import PersonChoice

    try:
        return PersonChoice.parse(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc).removeprefix("person: ")) from None


def _ranges(frames) -> str:
    from ..pose.filters import _ranges as ranges

    return ranges(frames)


@click.command("extract-poses")
@click.argument("video", type=click.Path(path_type=Path))
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="Pose file to write (ilat-video JSON, docs/pose-format.md; see --format).")
@click.option("--overlay", type=click.Path(dir_okay=False, path_type=Path),
              help="Also write VIDEO with the skeleton drawn on it (.mp4), to check the poses by eye.")
@click.option("--smooth/--no-smooth", default=True, show_default=True,
              help="Smooth the joints over time to remove jitter (a Kalman smoother over the whole video; "
                   "docs/poses.md).")
@click.option("--min-cutoff", type=click.FloatRange(min=0, min_open=True), default=None,
              help="Smooth with the One-Euro filter instead, this cutoff (Hz) for a still joint (its default 0.5); "
                   "lower = smoother.")
@click.option("--beta", type=click.FloatRange(min=0), default=None,
              help="Smooth with the One-Euro filter instead, this fast its cutoff rising with speed (its default "
                   "200); higher = less lag.")
@click.option("--max-gap", type=click.IntRange(min=0), default=3, show_default=True,
              help="Fill runs of up to this many frames where nobody was found by interpolation (0: never).")
@click.option("--person", default=None, metavar="WHO", callback=person_choice,
              help="Who is followed when several people are in view: largest (default), left, right, N (the N-th "
                   "from the left) or X,Y (nearest to that pixel), in the first frame with people. The choice is "
                   "named when there are several.")
@click.option("--max-frames", type=click.IntRange(min=1), default=None, help="Extract at most this many frames.")
@click.option("--stride", type=click.IntRange(min=1), default=1, show_default=True,
              help="Use every N-th frame (the pose file's fps is divided by N).")
@click.option("--refine/--no-refine", default=True, show_default=True,
              help="Find the person again in a crop around them that follows them (and search tiles of the frame "
                   "when it shows nobody): finds and places people who are small in the frame.")
@click.option("--people", type=click.IntRange(min=1), default=None,
              help="--no-refine: people looked for in each frame; the chosen one is followed. "
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
def extract_poses_command(video, output, overlay, smooth, min_cutoff, beta, max_gap, person, max_frames, stride,
                          refine, people, max_side, pose_format, model) -> None:
    """Find the person's 13 joints in every frame of VIDEO and write them to a pose file.

    \b
    Examples:
      ilat-video extract-poses dance.mp4 -o dance.json --overlay dance_skeleton.mp4
      ilat-video extract-poses match.mp4 -o keeper.json --person 640,360 --max-frames 300 --stride 2
    Frames where nobody is found are listed at the end and stored as frames with no person.
    """
    from ..fileio import check_output_path
    from ..pose.extract import extract_poses_report
    from ..pose.formats import save_poses

    check_output_path(output, video)
    if overlay is not None:
        check_output_path(overlay, video, output)
    with _frames_bar("poses") as bar:
        task = bar.add_task("poses", total=None)
        result = extract_poses_report(
            video, model_path=model, smooth=smooth, min_cutoff=min_cutoff, beta=beta, max_gap=max_gap,
            num_poses=people, max_side=max_side, refine=refine, person=person, max_frames=max_frames,
            stride=stride, progress=lambda done, total: bar.update(task, completed=done, total=total))
    poses = result.poses
    if overlay is None:
        save_poses(poses, output, format=pose_format)
    else:
        from ..pose.draw import render_poses
        from ..video import VideoWriter, read_frames

        # the frames the poses came from; the sound only when they span the whole video
        frames = read_frames(video, max_frames=max_frames, stride=stride)
        audio = video if max_frames is None else None
        # veryfast: a check video; 1.6x faster to encode than x264's default, about 12% bigger
        with VideoWriter(overlay, poses.fps, audio_from=audio, preset="veryfast") as writer, \
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


@click.command("render-poses")
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

    from ..fileio import check_output_path
    from ..pose.draw import render_poses
    from ..pose.formats import load_poses
    from ..video import VideoWriter, open_video

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


@click.command("convert-poses")
@click.argument("source", metavar="IN", type=click.Path())
@click.option("-o", "--output", required=True, type=click.Path(),
              help="Where to write. --to openpose: a .json path gives one file, any other path a new folder "
                   "with one file per frame.")
@click.option("--to", "to_format", type=click.Choice(["ilat", "openpose", "controlnet"]), default="ilat",
              show_default=True,
              help="ilat: our JSON (docs/pose-format.md); openpose: OpenPose COCO-18 JSON; controlnet: "
                   "ControlNet's pose JSON (ComfyUI's POSE_KEYPOINT, one .json file, with hands and feet).")
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
    COCO-18; one file, or a folder with one file per frame), ControlNet's
    pose JSON (POSE_KEYPOINT), COCO keypoints JSON, or Penn Action .mat labels.

    \b
    Examples:
      ilat-video convert-poses openpose_frames/ --size 1920x1080 --fps 25 -o poses.json
      ilat-video convert-poses poses.json --to openpose -o openpose_poses.json
      ilat-video convert-poses poses.json --to controlnet -o pose_keypoint.json
      ilat-video convert-poses labels/0001.mat -o 0001.json
    """
    from ..fileio import check_output_path
    from ..pose.formats import load_poses, save_poses

    check_output_path(output, source)
    if to_format == "controlnet" and Path(output).suffix.lower() != ".json":
        raise click.UsageError(f"{output}: --to controlnet writes one file; give a path ending in .json")
    seq = load_poses(source, person_id=person_id, fps=fps, size=size)
    save_poses(seq, output, format=to_format, keep_confidence=keep_confidence)
    hands = ", with hand and foot points" if seq.has_extras else ""
    click.echo(f"wrote {output} ({to_format}): {len(seq)} frames ({int(seq.has_person.sum())} with a person)"
               f"{hands}, {seq.width}x{seq.height} at {seq.fps:g} fps")


# --- retargeting ---
_POSE_SUFFIXES = (".json", ".mat")


@click.command("retarget")
@click.argument("poses", type=click.Path(path_type=Path))
@click.option("--reference", required=True, type=click.Path(path_type=Path), metavar="IMG|POSE",
              help="The reference image (its person's pose is found with MediaPipe), or a pose file "
                   "(.json, .mat or an OpenPose folder) holding one frame: the reference person's pose.")
@click.option("-o", "--output", required=True, type=click.Path(path_type=Path),
              help="Pose file to write, in the reference image's pixels (see --format).")
@click.option("--mode", type=click.Choice(["none", "scale", "relative", "bones", "steady"]), default="steady",
              show_default=True,
              help="none: as given, stretched to the reference size; scale: the reference's height, ground "
                   "line and hip position (one transform for the clip); relative: the reference pose plus the "
                   "motion since the first frame; bones: the reference's bone lengths with the driving's joint "
                   "angles; steady: scale per frame from smoothed size, ground line and hips, so a moving or "
                   "zooming camera does not move the figure, kept inside the image.")
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
    from ..fileio import check_output_path, load_image
    from ..pose.formats import load_poses, save_poses
    from ..pose.retarget import retarget

    check_output_path(output, poses, reference)
    driving = load_poses(poses)
    if reference.is_dir() or reference.suffix.lower() in _POSE_SUFFIXES:
        reference_pose = load_poses(reference)
        size = (reference_pose.width, reference_pose.height)
        cut = set()
    else:  # read as `animate` reads it: guessed legs unseen, a side its person runs off cut
        import numpy as np

        from ..pipeline import cut_sides, photo_person
        from ..pose.sequence import PoseSequence

        image = load_image(reference)
        size = (image.shape[1], image.shape[0])
        person = photo_person(reference, str(reference), model_path=pose_model)
        reference_pose = PoseSequence(person.pose[None].astype(np.float32), *size, source=str(reference))
        cut = cut_sides(person.mask, person.pose)
    target = retarget(driving, reference_pose, size, mode=mode, cut=cut)
    save_poses(target, output, format=pose_format)
    click.echo(f"wrote {output} ({pose_format}, mode {mode}): {len(target)} frames "
               f"({int(target.has_person.sum())} with a person), {target.width}x{target.height} at {target.fps:g} fps")
