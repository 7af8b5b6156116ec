"""ilat-video: animate the person in a photo with someone else's motion (iLAT).

The public API, imported lazily so `import ilat_video` stays light:

    Animator            from_pretrained(dir), animate(reference, driving, ...), animate_to_file(...)
    RenderOptions       how frames are made (sampling, background, decoding, views, tuning, keep-still)
    PoseSequence        (T, 13, 3) poses with width, height, fps
    extract_poses       video or frames -> PoseSequence (MediaPipe)
    extract_image_pose  image -> (13, 3)
    load_poses / save_poses   our JSON, OpenPose, COCO, Penn Action .mat
    retarget            driving poses onto a reference body (none, scale, relative, bones)
    default_model_dir   the shipped demo model's folder
"""
import importlib
import logging

__version__ = "0.1.0"

logging.getLogger(__name__).addHandler(logging.NullHandler())

_EXPORTS = {
    "Animator": "ilat_video.pipeline",
    "RenderOptions": "ilat_video.options",
    "default_model_dir": "ilat_video.pipeline",
    "PoseSequence": "ilat_video.pose.sequence",
    "extract_poses": "ilat_video.pose.extract",
    "extract_image_pose": "ilat_video.pose.extract",
    "load_poses": "ilat_video.pose.formats",
    "save_poses": "ilat_video.pose.formats",
    "retarget": "ilat_video.pose.retarget",
    "JOINT_NAMES": "ilat_video.pose.skeleton",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name):
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'ilat_video' has no attribute {name!r}")


def __dir__():
    return sorted(list(globals()) + list(_EXPORTS))
