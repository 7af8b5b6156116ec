"""Animator: one reference image + driving poses in, frames of the reference person moving out.

The steps (DESIGN.md section 1):
1. check inputs: the reference image and its pose (extracted or given), the driving poses
   (extracted from a video or read from a pose file);
2. retarget the driving motion onto the reference body;
3. crop a square around the reference person at the model's size and encode it once;
4. per batch of frames: build each frame's region from the reference pose and the frame's pose,
   encode the reference with those regions (the clean stream outside), sample the region's tokens
   with the cached local AR sampler, decode with Eq. 4, and (by default) keep the reference's own
   pixels outside the region;
5. yield frames as they are made (memory does not grow with the video's length).
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

from .errors import IlatError, ModelFileError, NoPersonError
from .fileio import check_output_path, load_image
from .personalize import check_personalize, personalize_decoder
from .personalize import personalize_transformer as tune_transformer
from .pose.sequence import PoseSequence
from .regions import check_keep_still
from .views import average_views, check_views, view_list

log = logging.getLogger(__name__)

RETARGET_MODES = ("none", "scale", "relative", "bones")
# Where the frame shows the reference's own pixels instead of the model's Eq. 4 decoding: wherever
# the model kept the reference's token (outside the region and the unchanged cells inside it),
# outside the region only, or nowhere. The first is the default.
BACKGROUNDS = ("unchanged", "reference", "model")
# What the decoder renders inside the region: the sampled tokens' codes (the paper), or the expected
# code under the distribution each token was drawn from (`sampling.region_codes`).
DECODINGS = ("tokens", "expected")
VIDEO_SUFFIXES = {".mp4", ".avi", ".mov", ".webm", ".gif", ".mkv", ".m4v"}


def pick_device(device: str | torch.device | None = None) -> torch.device:
    """The device to run on: the one asked for, else CUDA, then MPS, then the CPU."""
    if device is not None:
        return torch.device(device)
    if torch.cuda.is_available():
        return torch.device("cuda")
    if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


@dataclasses.dataclass
class Reference:
    """The reference person: the image, their pose in its pixels, and where they came from."""

    image: np.ndarray  # uint8 (H, W, 3) RGB
    pose: np.ndarray  # float32 (13, 3) in the image's pixels
    name: str


@dataclasses.dataclass
class AnimationPlan:
    """Everything fixed before the first frame is generated."""

    reference: Reference
    driving: PoseSequence  # the driving poses as given (their own pixels)
    target: PoseSequence  # retargeted, in the reference image's pixels, frames without a person filled
    missing: np.ndarray  # (T,) bool: driving frames that had no person
    box: "object"  # data.pairs.CropBox around the person over the whole animation
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
    size: int
    region_rate: float

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
                 pose_model: str | os.PathLike | None = None, name: str = "<memory>"):
        tok, tr = tokenizer.config, transformer.config
        if tr.codebook_size != tok.codebook_size:
            raise ModelFileError(
                f"{name}: the transformer expects {tr.codebook_size} codes, the tokenizer has {tok.codebook_size}")
        if tuple(tr.grid) != tuple(tok.token_grid):
            raise ModelFileError(
                f"{name}: the transformer expects a {tuple(tr.grid)} token grid, the tokenizer makes {tuple(tok.token_grid)}")
        self.device = pick_device(device)
        self.tokenizer = tokenizer.to(self.device).eval()
        self.transformer = transformer.to(self.device).eval()
        self.pose_model = pose_model
        self.name = name

    @classmethod
    def from_pretrained(cls, folder: str | os.PathLike, *, device: str | torch.device | None = None,
                        pose_model: str | os.PathLike | None = None) -> "Animator":
        """Load `folder/tokenizer` and `folder/transformer` (each config.json + model.safetensors)."""
        from .nn.tokenizer import TSVQGAN
        from .nn.transformer import LATransformer

        folder = Path(folder)
        if not folder.is_dir():
            raise ModelFileError(f"{folder}: no such model folder")
        for part in ("tokenizer", "transformer"):
            if not (folder / part).is_dir():
                raise ModelFileError(f"{folder}: missing the {part}/ subfolder (config.json + model.safetensors)")
        tokenizer = TSVQGAN.from_pretrained(folder / "tokenizer")
        transformer = LATransformer.from_pretrained(folder / "transformer")
        return cls(tokenizer, transformer, device=device, pose_model=pose_model, name=str(folder))

    @property
    def size(self) -> int:
        """The model's square image size in pixels (output frames are size x size)."""
        return int(self.tokenizer.config.resolution)

    # --- 1. inputs --------------------------------------------------------------------------------
    def load_reference(self, reference, reference_pose=None) -> Reference:
        """The reference image (path or uint8 array) and its pose.

        reference_pose: None (extract it with MediaPipe), a (13, 3) array in the image's pixels, a
        PoseSequence (its first frame, rescaled to the image), or a pose file path.
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
        if reference_pose is None:
            from .pose.extract import extract_image_pose

            pose = extract_image_pose(image if not isinstance(reference, (str, os.PathLike)) else reference,
                                      model_path=self.pose_model)
        else:
            if isinstance(reference_pose, (str, os.PathLike)):
                from .pose.formats import load_poses

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
        return Reference(image=image, pose=pose, name=name)

    def load_driving(self, driving, *, max_frames: int | None = None, stride: int = 1,
                     progress: ProgressCallback | None = None) -> PoseSequence:
        """Driving poses from a PoseSequence, a pose file, or a video (extracted with MediaPipe)."""
        if stride < 1:
            raise IlatError(f"stride must be at least 1, got {stride}")
        if isinstance(driving, PoseSequence):
            poses = driving
        else:
            path = Path(driving)
            if not path.exists():
                raise IlatError(f"{path}: no such driving video or pose file")
            if path.suffix.lower() in VIDEO_SUFFIXES:
                from .pose.extract import extract_poses
                from .video import read_frames

                frames = read_frames(path, max_frames=None if max_frames is None else max_frames * stride,
                                     stride=stride)
                poses = extract_poses(frames, model_path=self.pose_model, progress=progress)
                from .video import probe_video

                fps = probe_video(path).get("fps") or poses.fps
                poses = poses.replace(fps=float(fps) / stride, source=str(path))
                stride = 1
            else:
                from .pose.formats import load_poses

                poses = load_poses(path)
        if stride > 1:
            poses = poses.replace(keypoints=poses.keypoints[::stride], fps=poses.fps / stride)
        if max_frames is not None:
            poses = poses[:max_frames]
        if len(poses) == 0 or not poses.has_person.any():
            raise NoPersonError(f"{poses.source}: no frame of the driving motion has a person")
        return poses

    # --- 2.-3. plan: retarget, fill, crop ---------------------------------------------------------
    def plan(self, reference: Reference, driving: PoseSequence, *, retarget: str = "scale") -> AnimationPlan:
        """Retarget the motion, fill frames without a person, and fix one crop for the whole video."""
        from .data.pairs import crop_frame, crop_pose, person_box, square_crop_box
        from .pose.retarget import retarget as retarget_poses

        if retarget not in RETARGET_MODES:
            raise IlatError(f"unknown retarget mode {retarget!r}; expected one of: {', '.join(RETARGET_MODES)}")
        height, width = reference.image.shape[:2]
        target = retarget_poses(driving, reference.pose, (width, height), mode=retarget)
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
    @torch.inference_mode()
    def generate(self, plan: AnimationPlan, *, batch_size: int = 8, seed: int = 0, top_k: int | None = None,
                 temperature: float | None = None, background: str = "unchanged", decode: str = "tokens",
                 views: int = 1, personalize: int = 0, personalize_transformer: int = 0,
                 keep_still: float | None = None,
                 progress: ProgressCallback | None = None) -> Iterator[np.ndarray]:
        """Yield uint8 (S, S, 3) frames of the reference person in each target pose, in order.

        background: "unchanged" (default) shows the reference's own pixels wherever the model kept
        the reference's token: outside the region, and inside it in the token cells where it
        generated the reference's own token (`regions.changed_region`; the pasted area is feathered
        over 2 pixels by `regions.paste_outside`). "reference" does so outside the region only;
        "model" keeps the paper's Eq. 4 decoding everywhere, i.e. the tokenizer's re-rendering of
        the reference wherever the model did not change it.

        decode: "tokens" renders the sampled tokens' codes (the paper); "expected" renders, at each
        region position, the mean code under the distribution its token was drawn from (softmax of
        the logits at `temperature`, default 1, over the `top_k` most likely codes when given): the
        model's uncertainty shows as softer detail instead of one confident guess, closer to the
        truth in squared error. The tokens still decide which cells count as unchanged.

        views: make each frame from this many test-time views of its inputs (mirrored, and shifted
        by half a token) and average them (`views.py`; not in the paper): closer to the truth in
        squared error and softer, at one sampler run per view. 1 (default) = the frame itself.

        personalize: before the first frame, tune a copy of the decoder this many steps on the
        reference alone (`personalize.py`; not in the paper; 0 = off). The tokens stay the same;
        the frames draw them in this person's colours. About 0.1 s a step on a CPU thread.
        personalize_transformer: before that, tune a copy of the transformer this many steps on
        pairs of the reference's own views (`personalize.personalize_transformer`; 0 = off; about
        1 s a step on a CPU thread): the tokens it samples change.

        keep_still: show the reference's own pixels on the body parts whose joints moved at most
        this many pixels (of the model's frame) from the reference pose (`regions.paste_still`;
        not in the paper; None = off): a still arm stays exactly as in the reference instead of
        being redrawn. Target joints sit on the reference's where the driving person keeps still
        under retarget="relative" (the reference pose plus the motion since the first frame); a
        detector's jitter on a real video moves every joint a little, so use a tolerance above it.
        """
        from .data.pairs import image_to_tensor, tensor_to_image
        from .regions import changed_region, paste_outside, paste_still, union_region
        from .sampling import sample_and_decode
        from .train.transformer import normalize_pose

        if batch_size < 1:
            raise IlatError(f"batch size must be at least 1, got {batch_size}")
        _check_background(background)
        _check_decode(decode)
        # Greedy (the paper's top-1) unless the caller asks for sampling with top_k or temperature.
        greedy = top_k is None and temperature is None
        if top_k is not None and top_k < 1:
            raise IlatError(f"top-k must be at least 1, got {top_k}")
        if temperature is not None and temperature <= 0:
            raise IlatError(f"temperature must be positive, got {temperature}")
        check_views(views)
        check_personalize(personalize)
        check_personalize(personalize_transformer)
        check_keep_still(keep_still)
        size, device = self.size, self.device
        generator = torch.Generator(device=device).manual_seed(int(seed))
        reference = image_to_tensor(plan.reference_crop)[None].to(device)  # (1, 3, S, S)
        reference_pose = torch.from_numpy(plan.reference_pose_crop)[None].to(device)  # (1, 13, 3) pixels
        # The transformer, then the decoder, tuned on this reference, or the shipped ones.
        transformer = tune_transformer(self.tokenizer, self.transformer, reference, reference_pose,
                                       steps=personalize_transformer, seed=seed)
        tokenizer = personalize_decoder(self.tokenizer, transformer, reference, reference_pose,
                                        steps=personalize, seed=seed)
        chosen = view_list(views, tokenizer.downsample_factor // 2)
        # Per view, once per video: the reference as the view sees it, its condition tokens and,
        # for a shared-reference model, the keys and values of its positions (they see nothing else).
        seen = {}
        for view in chosen:
            ref = view.images(reference)
            _, cond_indices, _ = tokenizer.encode(ref)  # (1, h, w)
            cond = cond_indices.flatten(1)  # (1, N)
            ref_pose = (normalize_pose(view.poses(reference_pose, size), size)
                        if transformer.config.needs_reference_pose else None)
            kv = transformer.reference_kv(cond) if transformer.config.shared_reference else None
            seen[view] = (ref, cond_indices, cond, ref_pose, kv)

        def render(view, region, poses):
            """The batch's frames (B, 3, S, S) from the inputs as `view` sees them."""
            ref, cond_indices, cond, ref_pose, kv = seen[view]
            region, b = view.images(region), len(poses)
            # The clean stream: outside the region, tokens and features see only outside pixels.
            _, indices, z = tokenizer.encode(ref.expand(b, -1, -1, -1), region)
            token_region = tokenizer.token_region(region)  # (B, h, w)
            target_pose = normalize_pose(view.poses(poses, size), size)
            tokens, images = sample_and_decode(
                tokenizer, transformer, cond.expand(b, -1), indices, z, target_pose, token_region,
                expected=decode == "expected",
                reference_pose=None if ref_pose is None else ref_pose.expand(b, -1, -1),
                greedy=greedy, top_k=top_k, temperature=temperature or 1.0, generator=generator,
                reference_kv=kv,
            )  # (B, h, w), (B, 3, S, S)
            if background == "unchanged":
                images = paste_outside(images, ref, changed_region(region, tokens, cond_indices, indices))
            elif background == "reference":
                images = paste_outside(images, ref, region)
            return images

        total = len(plan.target_crop)
        for start in range(0, total, batch_size):
            poses = plan.target_crop[start:start + batch_size]  # (B, 13, 3)
            b = len(poses)
            region = np.stack([union_region(plan.reference_pose_crop, p, size, size) for p in poses])
            region = torch.from_numpy(region).to(device)  # (B, S, S)
            target = torch.from_numpy(poses).to(device)
            images = average_views(lambda view: render(view, region, target), chosen)
            if keep_still is not None:
                images = paste_still(images, reference, region, plan.reference_pose_crop[None], poses,
                                     tolerance=keep_still)
            for image in images:
                yield tensor_to_image(image)
            if progress is not None:
                progress(min(start + b, total), total)

    def animate(self, reference, driving, *, reference_pose=None, retarget: str = "scale",
                batch_size: int = 8, seed: int = 0, top_k: int | None = None, temperature: float | None = None,
                background: str = "unchanged", decode: str = "tokens", views: int = 1, personalize: int = 0,
                personalize_transformer: int = 0, keep_still: float | None = None,
                max_frames: int | None = None, stride: int = 1,
                progress: ProgressCallback | None = None) -> Iterator[np.ndarray]:
        """Frames (uint8 (S, S, 3)) of the reference person performing the driving motion.

        reference: image path or uint8 (H, W, 3) RGB array. driving: a video path, a pose file path
        or a PoseSequence. reference_pose: see `load_reference`. retarget: one of RETARGET_MODES.
        top_k and temperature both None = greedy (the paper's top-1); otherwise sampling (top-k when
        given, at `temperature`, default 1) with a generator seeded by `seed`. background, decode,
        views, personalize, personalize_transformer and keep_still: see `generate`. Frames are made
        `batch_size` at a time and yielded in order.
        """
        ref = self.load_reference(reference, reference_pose)
        poses = self.load_driving(driving, max_frames=max_frames, stride=stride)
        plan = self.plan(ref, poses, retarget=retarget)
        yield from self.generate(plan, batch_size=batch_size, seed=seed, top_k=top_k, temperature=temperature,
                                 background=background, decode=decode, views=views, personalize=personalize,
                                 personalize_transformer=personalize_transformer, keep_still=keep_still,
                                 progress=progress)

    def animate_to_file(self, reference, driving, output: str | os.PathLike, *, reference_pose=None,
                        retarget: str = "scale", batch_size: int = 8, seed: int = 0,
                        top_k: int | None = None, temperature: float | None = None,
                        background: str = "unchanged", decode: str = "tokens", views: int = 1,
                        personalize: int = 0, personalize_transformer: int = 0, keep_still: float | None = None,
                        max_frames: int | None = None, stride: int = 1,
                        fps: float | None = None,
                        side_by_side: bool = False, keep_audio: bool = False,
                        save_poses: str | os.PathLike | None = None, upscale: int | None = None,
                        progress: ProgressCallback | None = None) -> AnimationSummary:
        """Animate and stream the frames into an mp4 (written atomically: no partial file on error).

        fps: output frame rate (default: the driving motion's, after `stride`). side_by_side:
        reference | driving frame (or the target skeleton for pose files) | result. keep_audio: copy
        the driving video's audio. save_poses: also write the retargeted poses (our JSON).
        upscale: integer factor for the written frames (default: up to at least 256 pixels).
        """
        from .video import VideoWriter

        _check_background(background)  # before anything is read or written
        _check_decode(decode)
        check_views(views)
        check_personalize(personalize)
        check_personalize(personalize_transformer)
        check_keep_still(keep_still)
        inputs = [reference, driving, reference_pose]
        output = check_output_path(output, *[i for i in inputs if isinstance(i, (str, os.PathLike))])
        if save_poses is not None:
            check_output_path(save_poses, *[i for i in inputs if isinstance(i, (str, os.PathLike))], output)
        started = time.perf_counter()
        ref = self.load_reference(reference, reference_pose)
        poses = self.load_driving(driving, max_frames=max_frames, stride=stride)
        plan = self.plan(ref, poses, retarget=retarget)
        fps = float(fps or poses.fps)
        upscale = upscale or max(1, -(-256 // plan.size))
        driving_is_video = isinstance(driving, (str, os.PathLike)) and Path(driving).suffix.lower() in VIDEO_SUFFIXES
        if keep_audio and not driving_is_video:
            raise IlatError("--keep-audio needs a driving video (a pose file has no audio)")
        panels = _side_panels(plan, driving if driving_is_video else None, stride) if side_by_side else None
        frames = self.generate(plan, batch_size=batch_size, seed=seed, top_k=top_k, temperature=temperature,
                               background=background, decode=decode, views=views, personalize=personalize,
                               personalize_transformer=personalize_transformer, keep_still=keep_still,
                               progress=progress)
        count = 0
        with VideoWriter(output, fps, audio_from=driving if keep_audio else None) as writer:
            for frame in frames:
                if panels is not None:
                    frame = np.concatenate([plan.reference_crop, next(panels), frame], axis=1)
                if upscale > 1:
                    frame = _upscale(frame, upscale)
                writer.write(frame)
                count += 1
            if save_poses is not None:
                from .pose.formats import save_poses as write_poses

                write_poses(plan.target, save_poses)
        region_rate = float(np.mean([
            _token_region_rate(plan.reference_pose_crop, p, plan.size, self.tokenizer.config.token_grid)
            for p in plan.target_crop[:: max(1, len(plan.target_crop) // 16)]
        ]))
        return AnimationSummary(output=output, frames=count, frames_without_person=int(plan.missing.sum()),
                                fps=fps, seconds=time.perf_counter() - started, size=plan.size,
                                region_rate=region_rate)


def _check_background(background: str) -> None:
    if background not in BACKGROUNDS:
        raise IlatError(f"background must be one of {', '.join(BACKGROUNDS)}, got {background!r}")


def _check_decode(decode: str) -> None:
    if decode not in DECODINGS:
        raise IlatError(f"decode must be one of {', '.join(DECODINGS)}, got {decode!r}")


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


def _token_region_rate(reference_pose: np.ndarray, pose: np.ndarray, size: int, grid) -> float:
    from .regions import token_region, union_region

    return float(token_region(union_region(reference_pose, pose, size, size), tuple(grid)).mean())


def _side_panels(plan: AnimationPlan, video: str | os.PathLike | None, stride: int) -> Iterator[np.ndarray]:
    """The middle panel of a side-by-side video, one (S, S, 3) frame per output frame.

    A driving video: its frames, cropped around the driving person over the whole clip. A pose
    file: the target skeleton on black, in the same crop as the result.
    """
    from .data.pairs import crop_frame, crop_pose, person_box, square_crop_box
    from .pose.draw import draw_pose

    size = plan.size
    if video is None:
        blank = np.zeros((size, size, 3), np.uint8)
        for pose in plan.target_crop:
            yield draw_pose(blank, pose)
        return
    from .video import read_frames

    driving = plan.driving
    box = square_crop_box(person_box(driving.keypoints), driving.width, driving.height)
    frames = read_frames(video, max_frames=len(plan.target_crop), stride=stride)
    last = np.zeros((size, size, 3), np.uint8)
    for t in range(len(plan.target_crop)):
        frame = next(frames, None)
        if frame is not None:
            last = crop_frame(frame, box, size)
        yield last


def _upscale(frame: np.ndarray, factor: int) -> np.ndarray:
    from PIL import Image

    h, w = frame.shape[:2]
    return np.asarray(Image.fromarray(frame).resize((w * factor, h * factor), Image.Resampling.BICUBIC))


def default_model_dir() -> Path:
    """The shipped demo model: $ILAT_VIDEO_MODEL, else models/demo in the project checkout."""
    env = os.environ.get("ILAT_VIDEO_MODEL")
    if env:
        return Path(env)
    return Path(__file__).resolve().parents[1] / "models" / "demo"
