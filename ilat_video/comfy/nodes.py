"""ComfyUI nodes for ilat-video: load the model, extract poses from IMAGE frames, animate a reference.

ComfyUI finds them through `comfyui/__init__.py` at the top of the repository (README: "ComfyUI").
This module needs neither ComfyUI nor a GPU: the nodes are plain classes whose methods take and
return ComfyUI's types, so tests call them directly.

    ILAT_MODEL     an ilat_video.pipeline.Animator (the model, its device and the pose model path)
    IMAGE          torch float (B, H, W, C) in 0..1, RGB (ComfyUI's image batch)
    POSE_KEYPOINT  ControlNet's pose JSON as a Python list, one dict per frame (pose/formats/controlnet.py),
                   as ComfyUI's controlnet_aux DWPose / OpenPose nodes produce and consume it
"""
from __future__ import annotations

import logging
from typing import Any, Callable

import numpy as np
import torch

from ..errors import IlatError
from ..options import PLATES, REPAIRS, RenderOptions
from ..pipeline import DEFAULT_RETARGET, RETARGET_MODES, Animator, default_model_dir
from ..pose.extract import extract_poses
from ..pose.formats import controlnet_frames, poses_from_controlnet

logger = logging.getLogger(__name__)

CATEGORY = "ilat-video"
DEVICES = ("auto", "cpu", "cuda", "mps")


# --------------------------------------------------------------------------------------------
# ComfyUI's IMAGE <-> our uint8 frames
# --------------------------------------------------------------------------------------------
def images_to_frames(images: Any, name: str) -> np.ndarray:
    """ComfyUI IMAGE (B, H, W, C) float in 0..1 -> uint8 (B, H, W, 3) RGB. C may be 1, 3 or 4
    (gray is repeated, alpha dropped). Raises IlatError naming the input when it is not an image batch."""
    array = images.detach().cpu().float().numpy() if isinstance(images, torch.Tensor) else np.asarray(images, np.float32)
    if array.ndim == 3:
        array = array[None]
    if array.ndim != 4 or array.shape[0] == 0 or array.shape[-1] not in (1, 3, 4):
        raise IlatError(f"{name}: expected an IMAGE batch (frames, height, width, 1/3/4 channels), "
                        f"got shape {tuple(array.shape)}")
    if not np.isfinite(array).all():
        raise IlatError(f"{name}: frame {int(np.argmax(~np.isfinite(array).all(axis=(1, 2, 3))))} has NaN or "
                        "infinite values")
    array = array[..., :3] if array.shape[-1] != 1 else np.repeat(array, 3, axis=-1)
    return np.ascontiguousarray(np.round(np.clip(array, 0.0, 1.0) * 255.0).astype(np.uint8))


def frames_to_images(frames: list[np.ndarray]) -> torch.Tensor:
    """uint8 (H, W, 3) frames, all one size -> ComfyUI IMAGE float32 (B, H, W, 3) in 0..1."""
    return torch.from_numpy(np.stack(frames)).float() / 255.0


def _comfy_progress(total: int | None) -> Callable[[int, int | None], None] | None:
    """A progress callback that drives ComfyUI's progress bar when running inside ComfyUI, else None."""
    try:
        import comfy.utils  # only inside ComfyUI
    except ImportError:
        return None
    bar = comfy.utils.ProgressBar(total or 1)

    def progress(done: int, total_now: int | None) -> None:
        bar.update_absolute(done, total_now or total or done)

    return progress


# --------------------------------------------------------------------------------------------
# Nodes
# --------------------------------------------------------------------------------------------
class LoadModel:
    """Load an ilat-video model folder (tokenizer/ + transformer/) as an ILAT_MODEL."""

    @classmethod
    def INPUT_TYPES(cls):
        return {"required": {
            "model_dir": ("STRING", {"default": "", "tooltip": "model folder; empty = the shipped demo model"}),
            "device": (list(DEVICES), {"default": "auto"}),
        }, "optional": {
            "pose_model": ("STRING", {"default": "", "tooltip": "MediaPipe pose_landmarker_full.task; "
                                                                "empty = the project's copy or $ILAT_VIDEO_POSE_MODEL"}),
        }}

    RETURN_TYPES = ("ILAT_MODEL",)
    RETURN_NAMES = ("model",)
    FUNCTION = "load"
    CATEGORY = CATEGORY

    def load(self, model_dir: str = "", device: str = "auto", pose_model: str = "") -> tuple[Animator]:
        folder = model_dir.strip() or default_model_dir()
        animator = Animator.from_pretrained(folder, device=None if device == "auto" else device,
                                            pose_model=pose_model.strip() or None)
        logger.info("loaded %s on %s", folder, animator.device)
        return (animator,)


class ExtractPoses:
    """The main person's pose in each IMAGE frame (MediaPipe), as POSE_KEYPOINT with hands and feet
    where the extraction gives them."""

    @classmethod
    def INPUT_TYPES(cls):
        return {"required": {
            "images": ("IMAGE",),
            "fps": ("FLOAT", {"default": 30.0, "min": 0.1, "max": 240.0, "step": 0.01,
                              "tooltip": "the frames' rate, for smoothing"}),
            "max_side": ("INT", {"default": 0, "min": 0, "max": 8192,
                                 "tooltip": "scale frames to this longer side before detection (0 = as they are)"}),
            "smooth": ("BOOLEAN", {"default": True}),
        }, "optional": {
            "model": ("ILAT_MODEL", {"tooltip": "only its pose model path is used"}),
        }}

    RETURN_TYPES = ("POSE_KEYPOINT",)
    RETURN_NAMES = ("pose_keypoint",)
    FUNCTION = "extract"
    CATEGORY = CATEGORY

    def extract(self, images, fps: float = 30.0, max_side: int = 0, smooth: bool = True,
                model: Animator | None = None) -> tuple[list[dict]]:
        frames = images_to_frames(images, "images")
        poses = extract_poses(frames, model_path=None if model is None else model.pose_model, fps=fps,
                              smooth=smooth, max_side=max_side or None, progress=_comfy_progress(len(frames)))
        return (controlnet_frames(poses),)


class Animate:
    """Animate the person in a reference IMAGE with a POSE_KEYPOINT motion or driving IMAGE frames;
    one output frame per driving frame, as an IMAGE batch."""

    @classmethod
    def INPUT_TYPES(cls):
        return {"required": {
            "model": ("ILAT_MODEL",),
            "reference": ("IMAGE", {"tooltip": "the person to animate (the batch's first image)"}),
            "retarget": (list(RETARGET_MODES), {"default": DEFAULT_RETARGET}),
            "frame": (["photo", "square"], {"default": "photo",
                                            "tooltip": "photo: the reference's size, its pixels warped; "
                                                       "square: the model's crop, generated by iLAT"}),
            "max_side": ("INT", {"default": 0, "min": 0, "max": 8192,
                                 "tooltip": "photo frames: longer side at most this (0 = the photo's size)"}),
            "plate": (list(PLATES), {"default": RenderOptions.plate}),
            "repair": (list(REPAIRS), {"default": RenderOptions.repair}),
            "max_frames": ("INT", {"default": 0, "min": 0, "max": 100000, "tooltip": "0 = all"}),
            "seed": ("INT", {"default": 0, "min": 0, "max": 2**31 - 1}),
            "batch_size": ("INT", {"default": 8, "min": 1, "max": 256, "tooltip": "square frames per model batch"}),
        }, "optional": {
            "pose_keypoint": ("POSE_KEYPOINT", {"tooltip": "the motion as ControlNet pose JSON"}),
            "driving": ("IMAGE", {"tooltip": "or the motion as video frames (poses extracted here)"}),
            "driving_fps": ("FLOAT", {"default": 30.0, "min": 0.1, "max": 240.0, "step": 0.01}),
        }}

    RETURN_TYPES = ("IMAGE",)
    RETURN_NAMES = ("frames",)
    FUNCTION = "animate"
    CATEGORY = CATEGORY

    def animate(self, model: Animator, reference, retarget: str = DEFAULT_RETARGET, frame: str = "photo",
                max_side: int = 0, plate: str = RenderOptions.plate, repair: str = RenderOptions.repair,
                max_frames: int = 0, seed: int = 0, batch_size: int = 8, pose_keypoint: list | None = None,
                driving=None, driving_fps: float = 30.0) -> tuple[torch.Tensor]:
        if (pose_keypoint is None) == (driving is None):
            raise IlatError("ilat-video Animate: connect exactly one motion input: pose_keypoint (POSE_KEYPOINT) "
                            "or driving (IMAGE frames)")
        options = RenderOptions(frame=frame, plate=plate, repair=repair, max_side=max_side or None)
        image = images_to_frames(reference, "reference")[0]
        if pose_keypoint is not None:
            motion = poses_from_controlnet(pose_keypoint, source="pose_keypoint", fps=driving_fps)
        else:
            frames = images_to_frames(driving, "driving")
            if max_frames:
                frames = frames[:max_frames]
            motion = extract_poses(frames, model_path=model.pose_model, fps=driving_fps)
        total = len(motion) if not max_frames else min(max_frames, len(motion))
        frames_out = list(model.animate(image, motion, options=options, retarget=retarget, batch_size=batch_size,
                                        seed=seed, max_frames=max_frames or None,
                                        progress=_comfy_progress(total)))
        return (frames_to_images(frames_out),)


NODE_CLASS_MAPPINGS = {
    "IlatVideoLoadModel": LoadModel,
    "IlatVideoExtractPoses": ExtractPoses,
    "IlatVideoAnimate": Animate,
}
NODE_DISPLAY_NAME_MAPPINGS = {
    "IlatVideoLoadModel": "ilat-video: load model",
    "IlatVideoExtractPoses": "ilat-video: extract poses (POSE_KEYPOINT)",
    "IlatVideoAnimate": "ilat-video: animate reference",
}
