"""Animator: one reference image + driving poses in, frames of the reference person moving out.

The steps (DESIGN.md section 1):
1. check inputs: the reference image, its pose and person mask (extracted or given), the driving
   poses (extracted from a video or read from a pose file);
2. retarget the driving motion onto the reference body, and fix one square crop for the model;
3. make the frames, as `RenderOptions.frame` asks: at the photo's own size, the reference's pixels
   warped to each pose over a background plate (`compose.py`, the default), or the model's square
   crop drawn by iLAT (`square.py`);
4. yield them as they are made, or stream them into an mp4 (memory does not grow with the video's
   length).
"""
from __future__ import annotations

import dataclasses
import logging
import os
import time
from pathlib import Path
from typing import Callable, Iterator

import numpy as np
import torch
from PIL import Image

from .compose import Stage, output_size, scale_points
from .crop import CropBox, crop_frame, crop_pose, person_box, square_crop_box
from .errors import IlatError, NoPersonError
from .fileio import check_output_path, load_image
from .nn.loading import check_fit, load_shipped, load_transformer, pick_device
from .options import RenderOptions
from .pose.draw import draw_pose
from .pose.extract import extract_image_person, extract_poses
from .pose.formats import load_poses
from .pose.formats import save_poses as write_poses
from .pose.retarget import DEFAULT_MODE as DEFAULT_RETARGET
from .pose.retarget import MODES as RETARGET_MODES
from .pose.retarget import body_height
from .pose.retarget import retarget as retarget_poses
from .pose.sequence import PoseSequence
from .pose.skeleton import JOINT_NAMES, L_KNEE, R_KNEE
from .regions import pose_region
from .square import square_frames, token_region_rate
from .video import VideoWriter, check_video_path, read_frames
from .warp.parts import EXTREMITIES, L_FOOT, R_FOOT, joint_ok

log = logging.getLogger(__name__)

VIDEO_SUFFIXES = {".mp4", ".avi", ".mov", ".webm", ".gif", ".mkv", ".m4v"}


@dataclasses.dataclass
class Reference:
    """The reference person: the image, their pose in its pixels, and where they came from."""

    image: np.ndarray  # uint8 (H, W, 3) RGB
    pose: np.ndarray  # float32 (13, 3) in the image's pixels
    name: str
    mask: np.ndarray | None = None  # float32 (H, W) in [0, 1]: MediaPipe's person mask, when it ran
    extras: np.ndarray | None = None  # float32 (10, 3): hand and foot points, when MediaPipe ran


# MediaPipe places every joint, the ones a photo does not show too: a photo cut at the waist gets
# knees and ankles at visibilities of 0-0.23, below its edge or squeezed into it over the jacket
# (where the warp drew legs from the jacket's hem); in the twelve whole-body development photos no
# knee or ankle is under 0.38 (a far knee seen side-on)
LEG_GUESS = 0.25  # knees and ankles under this visibility are not seen (confidence 0), their feet neither
_LEG_JOINTS = {R_KNEE: (), L_KNEE: (), **{joint: points for _limb, joint, points in
                                         (EXTREMITIES[R_FOOT], EXTREMITIES[L_FOOT])}}  # -> its foot's points


# A photo cut through the body at a side may keep every joint inside it (photo.jpg cut down its
# middle): its person mask runs along that edge. None of the twelve whole-body development photos
# touches a side edge; photo.jpg cut at 45% of its width runs 0.47 body heights along it. The top
# is not judged so: whole photos' heads touch it for up to 0.10 (a cut through a head runs about as far)
SIDE_RUN = 0.1  # the mask (>= 0.5) along the photo's left or right edge for more than this x body height: cut


def cut_sides(mask: np.ndarray | None, pose: np.ndarray) -> set:
    """The photo's side edges ("left", "right") its person runs off (SIDE_RUN), by its mask (H, W);
    none without a mask or a measurable pose."""
    height = body_height(np.asarray(pose, np.float64))
    if mask is None or not np.isfinite(height):
        return set()
    person = np.asarray(mask) >= 0.5
    return {side for side, column in (("left", person[:, 0]), ("right", person[:, -1]))
            if column.sum() > SIDE_RUN * height}


def photo_person(photo, name: str, *, model_path=None, person=None):
    """MediaPipe's person in a photo (a path or an RGB array) as the Animator takes it: its pose,
    mask and hand and foot points, its guessed knees and ankles unseen (`without_guessed_legs`).
    person: which one when several are found (pose.tracking.PersonChoice or its text)."""
    return without_guessed_legs(extract_image_person(photo, model_path=model_path, person=person), name)


def without_guessed_legs(person, name: str):
    """MediaPipe's result with its guessed knees and ankles unseen (LEG_GUESS)."""
    guessed = [j for j in _LEG_JOINTS if 0 < person.pose[j, 2] < LEG_GUESS]
    if not guessed:
        return person
    pose = person.pose.copy()
    pose[guessed, 2] = 0.0
    extras = None if person.extras is None else person.extras.copy()
    if extras is not None:
        for joint in guessed:
            extras[list(_LEG_JOINTS[joint]), 2] = 0.0
    log.info("%s: %d knee(s) and ankle(s) MediaPipe guesses (visibility under %.2f) taken as not in the photo",
             name, len(guessed), LEG_GUESS)
    return dataclasses.replace(person, pose=pose, extras=extras)


@dataclasses.dataclass
class AnimationPlan:
    """Everything fixed before the first frame is generated."""

    reference: Reference
    driving: PoseSequence  # the driving poses as given (their own pixels)
    target: PoseSequence  # retargeted, in the reference image's pixels, frames without a person filled
    missing: np.ndarray  # (T,) bool: driving frames that had no person
    box: CropBox  # around the person over the whole animation
    size: int
    reference_crop: np.ndarray  # uint8 (S, S, 3)
    reference_pose_crop: np.ndarray  # (13, 3) in crop pixels
    target_crop: np.ndarray  # (T, 13, 3) in crop pixels


@dataclasses.dataclass
class AnimationSummary:
    output: Path
    frames: int
    frames_without_person: int
    fps: float
    seconds: float
    frame_size: tuple[int, int]  # (W, H) of the written result frames (before side-by-side panels)
    region_rate: float | None  # the square path's mean share of tokens generated; None on the photo path

    @property
    def frames_per_second(self) -> float:
        return self.frames / self.seconds if self.seconds > 0 else float("inf")


ProgressCallback = Callable[[int, int], None]  # (frames done, frames in all)


class Animator:
    """iLAT for pose-guided animation: a TS-VQGAN tokenizer and an LA transformer.

    >>> animator = Animator.from_pretrained("models/demo")
    >>> for frame in animator.animate("me.png", "dance.mp4"):  # uint8 (S, S, 3) frames
    ...     ...
    """

    def __init__(self, tokenizer, transformer, *, device: str | torch.device | None = None,
                 pose_model: str | os.PathLike | None = None, name: str = "<memory>", repair_transformer=None):
        check_fit(tokenizer, transformer, name)
        self.device = pick_device(device)
        self.tokenizer = tokenizer.to(self.device).eval()
        self.transformer = transformer.to(self.device).eval()
        # The transformer `--repair ilat` runs on the photo path (a model fine-tuned on warped frames,
        # `data/repair_pairs.py`); None: the main one.
        if repair_transformer is not None:
            check_fit(tokenizer, repair_transformer, f"{name} (repair)")
            repair_transformer = repair_transformer.to(self.device).eval()
        self.repair_transformer = repair_transformer
        self.pose_model = pose_model
        self.name = name

    @classmethod
    def from_pretrained(cls, folder: str | os.PathLike, *, device: str | torch.device | None = None,
                        pose_model: str | os.PathLike | None = None) -> "Animator":
        """Load `folder/tokenizer` and `folder/transformer` (each config.json + model.safetensors), and
        `folder/repair` (a transformer for `--repair ilat`) when the folder has one."""
        tokenizer, transformer = load_shipped(folder)
        repair = load_transformer(Path(folder) / "repair", tokenizer) if (Path(folder) / "repair").is_dir() else None
        return cls(tokenizer, transformer, device=device, pose_model=pose_model, name=str(folder),
                   repair_transformer=repair)

    @property
    def size(self) -> int:
        """The model's square image size in pixels (output frames are size x size)."""
        return int(self.tokenizer.config.resolution)

    # --- 1. inputs --------------------------------------------------------------------------------
    def load_reference(self, reference, reference_pose=None, *, person=None) -> Reference:
        """The reference image (path or uint8 array) and its pose.

        reference_pose: None (extract it with MediaPipe), a (13, 3) array in the image's pixels, a
        PoseSequence (its first frame, rescaled to the image), or a pose file path. person: which
        one MediaPipe takes when several are found (pose.tracking.PersonChoice or its text).
        """
        if isinstance(reference, (str, os.PathLike)):
            name = str(reference)
            image = load_image(reference)
        else:
            name = "<reference image>"
            image = np.asarray(reference)
            if image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
                raise IlatError(f"{name}: expected a uint8 (H, W, 3) RGB image, got {image.dtype} {image.shape}")
        height, width = image.shape[:2]
        choice, person = person, None
        if reference_pose is None:
            person = photo_person(image if not isinstance(reference, (str, os.PathLike)) else reference, name,
                                  model_path=self.pose_model, person=choice)
            pose = person.pose
        else:
            if isinstance(reference_pose, (str, os.PathLike)):
                reference_pose = load_poses(reference_pose)
            if isinstance(reference_pose, PoseSequence):
                if len(reference_pose) == 0 or not reference_pose.has_person[0]:
                    raise NoPersonError(f"{reference_pose.source}: the reference pose's first frame has no person")
                pose = reference_pose.rescaled(width, height).keypoints[0]
            else:
                pose = np.asarray(reference_pose, dtype=np.float32)
                if pose.shape != (13, 3):
                    raise IlatError(f"reference pose: expected a (13, 3) array, got {pose.shape}")
        pose = np.asarray(pose, dtype=np.float32)
        if (pose[:, 2] > 0).sum() < 4:
            raise NoPersonError(f"{name}: the reference pose shows fewer than 4 joints; a whole person is needed")
        return Reference(image=image, pose=pose, name=name, mask=None if person is None else person.mask,
                         extras=None if person is None else person.extras)

    def load_driving(self, driving, *, max_frames: int | None = None, stride: int = 1,
                     progress: ProgressCallback | None = None, person=None) -> PoseSequence:
        """Driving poses from a PoseSequence, a pose file, or a video (extracted with MediaPipe;
        person: who is followed when several are in view, as for load_reference)."""
        if stride < 1:
            raise IlatError(f"stride must be at least 1, got {stride}")
        if isinstance(driving, PoseSequence):
            poses = driving
        else:
            path = Path(driving)
            if not path.exists():
                raise IlatError(f"{path}: no such driving video or pose file")
            if path.suffix.lower() in VIDEO_SUFFIXES:  # every stride-th frame, at most max_frames
                poses = extract_poses(path, model_path=self.pose_model, progress=progress, person=person,
                                      max_frames=max_frames, stride=stride)
                stride = 1
            else:
                poses = load_poses(path)
        if stride > 1:  # a slice keeps the hand and foot points with their frames
            poses = poses[::stride].replace(fps=poses.fps / stride)
        if max_frames is not None:
            poses = poses[:max_frames]
        if len(poses) == 0 or not poses.has_person.any():
            raise NoPersonError(f"{poses.source}: no frame of the driving motion has a person")
        return poses

    # --- 2.-3. plan: retarget, fill, crop ---------------------------------------------------------
    def plan(self, reference: Reference, driving: PoseSequence, *, retarget: str = DEFAULT_RETARGET) -> AnimationPlan:
        """Retarget the motion, fill frames without a person, and fix one crop for the whole video."""
        _check_retarget(retarget)
        height, width = reference.image.shape[:2]
        named = PoseSequence(np.asarray(reference.pose, np.float32)[None], width, height, source=reference.name)
        target = retarget_poses(driving, named, mode=retarget,   # its messages name the photo
                                cut=cut_sides(reference.mask, reference.pose))
        missing = ~target.has_person
        if missing.any():
            log.warning("%s: %d of %d frames have no person; they hold the last pose seen",
                        driving.source, int(missing.sum()), len(target))
        target = target.replace(keypoints=_hold_last_pose(target.keypoints, reference.pose))
        size = self.size
        # One crop for the whole animation, around the reference and every target pose, as in
        # training (one square per clip, so the background does not move between frames).
        everything = np.concatenate([reference.pose[None], target.keypoints], axis=0)
        box = square_crop_box(person_box(everything), width, height)
        return AnimationPlan(
            reference=reference, driving=driving, target=target, missing=missing, box=box, size=size,
            reference_crop=crop_frame(reference.image, box, size),
            reference_pose_crop=crop_pose(reference.pose, box, size),
            target_crop=crop_pose(target.keypoints, box, size),
        )

    # --- 4.-5. generate -----------------------------------------------------------------------------
    def generate(self, plan: AnimationPlan, options: RenderOptions | None = None, *, batch_size: int = 8,
                 seed: int = 0, progress: ProgressCallback | None = None) -> Iterator[np.ndarray]:
        """Yield uint8 frames of the reference person in each target pose, in order.

        options: how each frame is made (`RenderOptions`). The default, frame="photo": (H', W', 3)
        frames at the photo's own size (`photo_size`), the reference's pixels warped to each pose
        over a background plate. frame="square": (S, S, 3) frames of the model's crop, made by
        iLAT `batch_size` at a time; seed: the sampler's and the tuning's generator (same seed,
        same frames).
        """
        options = options or RenderOptions()
        if batch_size < 1:
            raise IlatError(f"batch size must be at least 1, got {batch_size}")
        if options.frame == "photo":
            yield from self._photo_frames(plan, options, progress)
        else:
            yield from square_frames(self.tokenizer, self.transformer, plan.reference_crop, plan.reference_pose_crop,
                                     plan.target_crop, options, batch_size=batch_size, seed=seed, progress=progress)

    def photo_size(self, plan: AnimationPlan, options: RenderOptions) -> tuple[int, int]:
        """(W, H) of the frames `generate` makes on the photo path."""
        height, width = plan.reference.image.shape[:2]
        return output_size(width, height, options.max_side)

    def _photo_frames(self, plan: AnimationPlan, options: RenderOptions,
                      progress: ProgressCallback | None) -> Iterator[np.ndarray]:
        reference = plan.reference
        mask = reference.mask if reference.mask is not None else self._person_mask(reference)
        models = (self.tokenizer, self.transformer)
        repair_models = (self.tokenizer, self.repair_transformer or self.transformer)
        with torch.inference_mode():
            stage = Stage.prepare(reference.image, mask, reference.pose, reference.extras, max_side=options.max_side,
                                  plate=options.plate, name=reference.name, models=models)
        told = set(stage.reference.missing)
        if told:  # once, by the joints: a photo cut at the waist has no knees and ankles, so no legs
            seen = joint_ok(stage.reference.pose, stage.reference.config.min_confidence)
            gone = [name for name, ok in zip(JOINT_NAMES, seen) if not ok]
            log.warning("%s: the photo's pose has no %s: its %s not drawn", reference.name, ", ".join(gone),
                        ", ".join(sorted(told)) + (" are" if len(told) > 1 else " is"))
        total = len(plan.target)
        # The driving hand and foot points, retargeted with the joints: the hands and feet follow them.
        extras = plan.target.extras if options.extremities else None
        turned = stage.turn_track(plan.target.keypoints)  # no face flashing to the back of the head
        if any(turned):
            log.warning("%s: the driving person turns their back in %d of %d frames: drawn as the photo's front, "
                        "the head from behind (a fill of the hair's colours)", reference.name, sum(turned), total)
        follow = stage.follow_track(plan.target.keypoints, extras, turned)  # no hand jumping to and fro
        for t, pose in enumerate(plan.target.keypoints):
            with torch.inference_mode():
                frame, warped = stage.frame(pose, target_extras=None if extras is None else extras[t],
                                            repair=options.repair, models=repair_models, follow=follow[t],
                                            turned=turned[t])
            new = set(warped.skipped) - told
            if new:  # say once which parts cannot be drawn, and why
                log.warning("%s: not drawn from frame %d on: %s", reference.name, t,
                            "; ".join(f"{part} ({warped.skipped[part]})" for part in sorted(new)))
                told |= new
            yield frame
            if progress is not None:
                progress(t + 1, total)

    def _person_mask(self, reference: Reference) -> np.ndarray:
        """MediaPipe's person mask for a reference whose pose was given; the skeleton's outline
        when MediaPipe finds nobody (a drawn or synthetic person)."""
        try:
            return extract_image_person(reference.image, model_path=self.pose_model).mask
        except NoPersonError:
            log.warning("%s: MediaPipe finds no person to segment; the skeleton's outline stands in for "
                        "the person mask", reference.name)
            height, width = reference.image.shape[:2]
            return pose_region(reference.pose, height, width).astype(np.float32)

    def animate(self, reference, driving, *, options: RenderOptions | None = None, reference_pose=None,
                retarget: str = DEFAULT_RETARGET, batch_size: int = 8, seed: int = 0, max_frames: int | None = None,
                stride: int = 1, ref_person=None, drive_person=None,
                progress: ProgressCallback | None = None) -> Iterator[np.ndarray]:
        """Frames (uint8 (S, S, 3)) of the reference person performing the driving motion.

        reference: image path or uint8 (H, W, 3) RGB array. driving: a video path, a pose file path
        or a PoseSequence. reference_pose: see `load_reference`. retarget: one of RETARGET_MODES.
        options, batch_size, seed: see `generate`. max_frames, stride: see `load_driving`.
        ref_person, drive_person: who is taken in the reference photo and followed in the driving
        video when several people are in view (see `load_reference`).
        """
        ref = self.load_reference(reference, reference_pose, person=ref_person)
        poses = self.load_driving(driving, max_frames=max_frames, stride=stride, person=drive_person)
        plan = self.plan(ref, poses, retarget=retarget)
        yield from self.generate(plan, options, batch_size=batch_size, seed=seed, progress=progress)

    def animate_to_file(self, reference, driving, output: str | os.PathLike, *,
                        options: RenderOptions | None = None, reference_pose=None, retarget: str = DEFAULT_RETARGET,
                        batch_size: int = 8, seed: int = 0, max_frames: int | None = None, stride: int = 1,
                        fps: float | None = None, side_by_side: bool = False, keep_audio: bool | None = None,
                        save_poses: str | os.PathLike | None = None, upscale: int | None = None,
                        ref_person=None, drive_person=None,
                        progress: ProgressCallback | None = None) -> AnimationSummary:
        """Animate and stream the frames into an mp4 (written atomically: no partial file on error).

        fps: output frame rate (default: the driving motion's, after `stride`). side_by_side:
        reference | driving frame (or the target skeleton for pose files) | result, all at the
        result's height. keep_audio: copy the driving video's audio, in step with the frames made
        (None, the default: when the driving input is a video and `fps` does not change its
        speed; True: required, an error for a pose file; False: a silent result). save_poses: also write the
        retargeted poses (our JSON). upscale: integer factor for the square path's frames (default:
        up to at least 256 pixels). The rest: see `animate`.
        """
        # Everything that can be checked is checked before anything is read or written.
        _check_retarget(retarget)
        inputs = [i for i in (reference, driving, reference_pose) if isinstance(i, (str, os.PathLike))]
        output = check_output_path(output, *inputs)
        check_video_path(output)
        if save_poses is not None:
            check_output_path(save_poses, *inputs, output)
        driving_is_video = isinstance(driving, (str, os.PathLike)) and Path(driving).suffix.lower() in VIDEO_SUFFIXES
        if keep_audio and not driving_is_video:
            raise IlatError("keeping the audio needs a driving video (a pose file has no audio)")
        if keep_audio is None:
            keep_audio = driving_is_video and fps is None
        started = time.perf_counter()
        ref = self.load_reference(reference, reference_pose, person=ref_person)
        poses = self.load_driving(driving, max_frames=max_frames, stride=stride, person=drive_person)
        plan = self.plan(ref, poses, retarget=retarget)
        fps = float(fps or poses.fps)
        options = options or RenderOptions()
        square = options.frame == "square"
        frame_size = (plan.size, plan.size) if square else self.photo_size(plan, options)
        upscale = (upscale or max(1, -(-256 // plan.size))) if square else 1
        video = driving if driving_is_video else None
        panels = (_square_panels(plan, video, stride) if square else _photo_panels(plan, video, stride, frame_size)
                  ) if side_by_side else None
        frames = self.generate(plan, options, batch_size=batch_size, seed=seed, progress=progress)
        count = 0
        with VideoWriter(output, fps, audio_from=driving if keep_audio else None) as writer:
            for frame in frames:
                if panels is not None:
                    frame = np.concatenate([*next(panels), frame], axis=1)
                if upscale > 1:
                    frame = _upscale(frame, upscale)
                writer.write(frame)
                count += 1
            if save_poses is not None:
                write_poses(plan.target, save_poses)
        if panels is not None:
            panels.close()  # its video decoder, now, not at interpreter shutdown (issue 27, item 3)
        region_rate = float(np.mean([
            token_region_rate(plan.reference_pose_crop, p, plan.size, self.tokenizer.config.token_grid)
            for p in plan.target_crop[:: max(1, len(plan.target_crop) // 16)]
        ])) if square else None
        return AnimationSummary(output=output, frames=count, frames_without_person=int(plan.missing.sum()),
                                fps=fps, seconds=time.perf_counter() - started, frame_size=frame_size,
                                region_rate=region_rate)


def _check_retarget(retarget: str) -> None:
    if retarget not in RETARGET_MODES:
        raise IlatError(f"unknown retarget mode {retarget!r}; expected one of: {', '.join(RETARGET_MODES)}")


def _hold_last_pose(keypoints: np.ndarray, first: np.ndarray) -> np.ndarray:
    """Frames with no person take the last pose seen (the reference pose before any)."""
    out = keypoints.copy()
    last = first
    for t in range(len(out)):
        if (out[t, :, 2] > 0).any():
            last = out[t]
        else:
            out[t] = last
    return out


def _square_panels(plan: AnimationPlan, video: str | os.PathLike | None,
                   stride: int) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """The left panels of a square side-by-side video, per output frame: the reference crop and
    (S, S, 3) of the driving video cropped around its person over the whole clip, or of the target
    skeleton on black in the result's crop (a pose file)."""
    size = plan.size
    if video is None:
        blank = np.zeros((size, size, 3), np.uint8)
        for pose in plan.target_crop:
            yield plan.reference_crop, draw_pose(blank, pose)
        return
    driving = plan.driving
    box = square_crop_box(person_box(driving.keypoints), driving.width, driving.height)
    frames = read_frames(video, max_frames=len(plan.target_crop), stride=stride)
    last = np.zeros((size, size, 3), np.uint8)
    try:
        for t in range(len(plan.target_crop)):
            frame = next(frames, None)
            if frame is not None:
                last = crop_frame(frame, box, size)
            yield plan.reference_crop, last
    finally:
        frames.close()


def _photo_panels(plan: AnimationPlan, video: str | os.PathLike | None, stride: int,
                  size: tuple[int, int]) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """The left panels of a photo-sized side-by-side video, per output frame, at the result's
    height: the reference photo, and the whole driving frame (or the target skeleton on black at
    the result's size, for a pose file)."""
    width, height = size
    left = _fit_height(plan.reference.image, height)
    if video is None:
        ref_height, ref_width = plan.reference.image.shape[:2]
        blank = np.zeros((height, width, 3), np.uint8)
        for pose in plan.target.keypoints:
            yield left, draw_pose(blank, scale_points(pose, width / ref_width, height / ref_height))
        return
    frames = read_frames(video, max_frames=len(plan.target), stride=stride)
    last = None
    try:
        for _ in range(len(plan.target)):
            frame = next(frames, None)
            if frame is not None:
                last = _fit_height(frame, height)
            yield left, last if last is not None else np.zeros_like(left)
    finally:
        frames.close()


def _fit_height(image: np.ndarray, height: int) -> np.ndarray:
    """`image` resized to `height`, its aspect kept, its width even."""
    h, w = image.shape[:2]
    width = max(2, int(round(w * height / h / 2)) * 2)
    return np.asarray(Image.fromarray(image).resize((width, height), Image.Resampling.LANCZOS))


def _upscale(frame: np.ndarray, factor: int) -> np.ndarray:
    h, w = frame.shape[:2]
    return np.asarray(Image.fromarray(frame).resize((w * factor, h * factor), Image.Resampling.BICUBIC))


def default_model_dir() -> Path:
    """The shipped demo model: $ILAT_VIDEO_MODEL, else models/demo in the project checkout."""
    env = os.environ.get("ILAT_VIDEO_MODEL")
    if env:
        return Path(env)
    return Path(__file__).resolve().parents[1] / "models" / "demo"
