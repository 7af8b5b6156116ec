"""The ComfyUI node pack: importable without ComfyUI, the node contract ComfyUI relies on, IMAGE
conversions, and the nodes run on a real photo and video frames with the shipped demo model."""
import importlib.util
import inspect
import json
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from ilat_video.comfy.nodes import Animate, ExtractPoses, LoadModel, frames_to_images, images_to_frames
from ilat_video.errors import IlatError
from ilat_video.fileio import load_image
from ilat_video.pose.formats import detect_format, poses_from_controlnet
from ilat_video.pose.formats.controlnet import is_controlnet
from ilat_video.video import read_frames

ROOT = Path(__file__).resolve().parents[1]
PHOTO = ROOT / "examples" / "photo.jpg"
DANCE = ROOT / "examples" / "dance.mp4"
COMFY_TYPES = {"IMAGE", "STRING", "INT", "FLOAT", "BOOLEAN", "POSE_KEYPOINT", "ILAT_MODEL"}


def _load_pack():
    """comfyui/__init__.py as ComfyUI loads a custom node folder: by path, under its own name."""
    spec = importlib.util.spec_from_file_location("ilat_video_comfyui_pack", ROOT / "comfyui" / "__init__.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_pack_imports_without_comfyui_and_maps_every_node():
    assert importlib.util.find_spec("comfy") is None  # the test is meaningful only without ComfyUI
    pack = _load_pack()
    assert set(pack.NODE_CLASS_MAPPINGS) == set(pack.NODE_DISPLAY_NAME_MAPPINGS)
    assert set(pack.NODE_CLASS_MAPPINGS.values()) == {LoadModel, ExtractPoses, Animate}
    assert "comfy" not in sys.modules


@pytest.mark.parametrize("node", [LoadModel, ExtractPoses, Animate])
def test_node_contract(node):
    """What ComfyUI reads from a node class: INPUT_TYPES, RETURN_TYPES, FUNCTION, CATEGORY, and a
    method that accepts every declared input by name."""
    inputs = node.INPUT_TYPES()
    assert set(inputs) <= {"required", "optional"}
    declared = {**inputs["required"], **inputs.get("optional", {})}
    for name, spec in declared.items():
        kind = spec[0]
        assert isinstance(kind, list) or kind in COMFY_TYPES, (name, kind)
        if isinstance(kind, list):  # a choice: its default must be one of the choices
            assert spec[1]["default"] in kind
    assert isinstance(node.RETURN_TYPES, tuple) and all(t in COMFY_TYPES for t in node.RETURN_TYPES)
    assert len(node.RETURN_NAMES) == len(node.RETURN_TYPES) and node.CATEGORY == "ilat-video"
    parameters = inspect.signature(getattr(node, node.FUNCTION)).parameters
    assert set(declared) == set(parameters) - {"self"}
    for name in inputs.get("optional", {}):
        assert parameters[name].default is not inspect.Parameter.empty, name


@settings(max_examples=30, deadline=None)
@given(st.integers(1, 3), st.integers(1, 9), st.integers(1, 9), st.integers(0, 2**32 - 1))
def test_image_conversion_round_trip_is_exact(batch, height, width, seed):
    frames = np.random.default_rng(seed).integers(0, 256, (batch, height, width, 3), dtype=np.uint8)
    images = frames_to_images(list(frames))
    assert images.shape == (batch, height, width, 3) and images.dtype == torch.float32
    assert float(images.min()) >= 0.0 and float(images.max()) <= 1.0
    np.testing.assert_array_equal(images_to_frames(images, "x"), frames)


def test_image_conversion_of_gray_rgba_and_bad_batches():
    gray = torch.full((2, 4, 5, 1), 0.5)
    assert images_to_frames(gray, "g").shape == (2, 4, 5, 3) and (images_to_frames(gray, "g") == 128).all()
    rgba = torch.rand(1, 4, 5, 4)
    np.testing.assert_array_equal(images_to_frames(rgba, "a"), images_to_frames(rgba[..., :3], "a"))
    assert images_to_frames(torch.ones(4, 5, 3) * 2, "one")[0].max() == 255  # one image, clipped
    with pytest.raises(IlatError, match="reference: expected an IMAGE batch"):
        images_to_frames(torch.rand(1, 4, 5, 2), "reference")
    with pytest.raises(IlatError, match="driving: frame 1 has NaN"):
        images_to_frames(torch.stack([torch.rand(4, 5, 3), torch.full((4, 5, 3), float("nan"))]), "driving")


# --------------------------------------------------------------------------------------------
# Real inputs, the demo model
# --------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def model():
    return LoadModel().load()[0]


@pytest.fixture(scope="module")
def dance():
    """Three frames of the example dance video as a ComfyUI IMAGE batch."""
    return frames_to_images(list(read_frames(DANCE, max_frames=3)))


@pytest.fixture(scope="module")
def photo():
    return frames_to_images([load_image(PHOTO)])


@pytest.fixture(scope="module")
def pose_keypoint(model, dance):
    return ExtractPoses().extract(dance, fps=29.97, max_side=256, model=model)[0]


@pytest.mark.slow
def test_extract_poses_gives_pose_keypoint_of_every_frame(pose_keypoint, dance, tmp_path):
    height, width = dance.shape[1:3]
    assert is_controlnet(pose_keypoint) and len(pose_keypoint) == 3
    for frame in pose_keypoint:
        assert (frame["canvas_width"], frame["canvas_height"]) == (width, height)
        (person,) = frame["people"]
        body = np.asarray(person["pose_keypoints_2d"]).reshape(18, 3)
        seen = body[body[:, 2] > 0, :2]
        assert len(seen) >= 10  # a whole person in view
        assert (seen >= 0).all() and (seen[:, 0] < width).all() and (seen[:, 1] < height).all()
    poses = poses_from_controlnet(pose_keypoint)
    assert poses.has_person.all() and (poses.width, poses.height) == (width, height)
    path = tmp_path / "pk.json"  # what a save-JSON node would write reads back as ControlNet's format
    path.write_text(json.dumps(pose_keypoint))
    assert detect_format(path) == "controlnet"


@pytest.mark.slow
def test_animate_with_pose_keypoint_is_the_librarys_animation(model, photo, pose_keypoint):
    (images,) = Animate().animate(model, photo, max_side=96, pose_keypoint=pose_keypoint, seed=3)
    assert images.dtype == torch.float32 and images.ndim == 4 and images.shape[0] == 3 and images.shape[3] == 3
    assert max(images.shape[1:3]) == 96 and float(images.min()) >= 0 and float(images.max()) <= 1
    from ilat_video.options import RenderOptions

    direct = list(model.animate(load_image(PHOTO), poses_from_controlnet(pose_keypoint, fps=30.0),
                                options=RenderOptions(max_side=96), seed=3))
    np.testing.assert_array_equal(images_to_frames(images, "out"), np.stack(direct))


@pytest.mark.slow
def test_animate_from_driving_frames_and_max_frames(model, photo, dance):
    (images,) = Animate().animate(model, photo, max_side=64, driving=dance, driving_fps=29.97, max_frames=2)
    assert images.shape[0] == 2 and max(images.shape[1:3]) == 64
    assert float(images.std()) > 0.01  # a picture, not a constant


def test_animate_needs_exactly_one_motion_input(model, photo):
    with pytest.raises(IlatError, match="exactly one motion input"):
        Animate().animate(model, photo)
    with pytest.raises(IlatError, match="exactly one motion input"):
        Animate().animate(model, photo, pose_keypoint=[], driving=photo)
    with pytest.raises(IlatError, match="max-side must be at least 16"):
        Animate().animate(model, photo, max_side=8, pose_keypoint=[{"people": []}])
