"""ControlNet's pose JSON (ComfyUI's POSE_KEYPOINT) and hand/foot points through OpenPose-style files:
the slot tables by name, the hand-made DWPose-style fixture, round trips, the written layout, bad input."""
import importlib.util
import json
import os
import tempfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ilat_video.errors import PoseFileError
from ilat_video.pose.formats import (
    BODY_25,
    COCO_18,
    controlnet_frames,
    detect_format,
    load_poses,
    poses_from_controlnet,
    save_poses,
)
from ilat_video.pose.formats.joint_maps import EXTRA_FOOT_SLOTS, EXTRA_HAND_SLOTS, FOOT_6_NAMES, HAND_21_NAMES
from ilat_video.pose.mapping import EXTRA_NAMES
from ilat_video.pose.sequence import PoseSequence
from ilat_video.pose.skeleton import JOINT_NAMES, L_SHOULDER, R_SHOULDER

DATA = Path(__file__).parent / "data"
FIXTURE = DATA / "controlnet" / "dwpose_normalized.json"
FACE = ("right_eye", "left_eye", "right_ear", "left_ear")


def _module(path: Path, name: str):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


MADE = _module(DATA / "controlnet" / "make_files.py", "make_controlnet_files")
OPENPOSE_MADE = _module(DATA / "openpose" / "make_files.py", "make_openpose_files")

# What each extra means in OpenPose's hand / DWPose's foot, written out here by meaning (docs/pose-format.md).
MEANING = {"index": "index_mcp", "pinky": "pinky_mcp", "thumb": "thumb_tip", "heel": "heel", "toe": "big_toe"}


# --------------------------------------------------------------------------------------------
# Tables
# --------------------------------------------------------------------------------------------
def test_hand_layout_is_openposes_21_points():
    assert HAND_21_NAMES == MADE.HAND_21
    assert len(HAND_21_NAMES) == 21 and HAND_21_NAMES[0] == "wrist"
    assert HAND_21_NAMES[4] == "thumb_tip" and HAND_21_NAMES[8] == "index_tip" and HAND_21_NAMES[20] == "pinky_tip"


def test_every_extra_goes_to_the_slot_of_its_meaning_on_its_own_side():
    assert sorted(EXTRA_HAND_SLOTS) + sorted(EXTRA_FOOT_SLOTS) == list(range(len(EXTRA_NAMES)))
    for e, name in enumerate(EXTRA_NAMES):
        side, kind = name.split("_", 1)
        if e in EXTRA_HAND_SLOTS:
            assert EXTRA_HAND_SLOTS[e] == (side, HAND_21_NAMES.index(MEANING[kind]))
        else:
            assert FOOT_6_NAMES[EXTRA_FOOT_SLOTS[e]] == f"{side}_{MEANING[kind]}"


def test_dwpose_feet_share_body25s_foot_order():
    assert BODY_25.names[19:25] == FOOT_6_NAMES == MADE.FOOT_6


# --------------------------------------------------------------------------------------------
# Reading
# --------------------------------------------------------------------------------------------
def _pixels(flat: list, names: tuple, name: str) -> np.ndarray:
    """The [x, y, c] of a named point of a flat normalized array, in pixels of the fixture's canvas."""
    x, y, c = flat[3 * names.index(name): 3 * names.index(name) + 3]
    return np.array([x * MADE.W, y * MADE.H, c], np.float32)


def test_fixture_reads_as_controlnet_with_hands_and_feet():
    assert detect_format(FIXTURE) == "controlnet"
    raw = json.loads(FIXTURE.read_text())
    seq = load_poses(FIXTURE)
    assert (seq.width, seq.height, len(seq)) == (640, 480, 3)
    assert seq.has_person.tolist() == [True, True, False] and seq.has_extras
    a0 = raw[0]["people"][1]  # the larger person, listed second
    for j, name in enumerate(JOINT_NAMES):
        source = "nose" if name == "head" else name
        np.testing.assert_allclose(seq.keypoints[0, j], _pixels(a0["pose_keypoints_2d"], COCO_18.names, source),
                                   atol=1e-3)
    arrays = {"right": a0["hand_right_keypoints_2d"], "left": a0["hand_left_keypoints_2d"]}
    for e, name in enumerate(EXTRA_NAMES):
        side, kind = name.split("_", 1)
        if kind in ("heel", "toe"):
            expected = _pixels(a0["foot_keypoints_2d"], FOOT_6_NAMES, f"{side}_{MEANING[kind]}")
        else:
            expected = _pixels(arrays[side], HAND_21_NAMES, MEANING[kind])
        np.testing.assert_allclose(seq.extras[0, e], expected, atol=1e-3)


def test_undetected_hand_points_and_absent_feet_are_missing():
    seq = load_poses(FIXTURE)
    ex = seq.extras[1]  # frame 1: left hand all undetected (-1/W, -1/H, 1), no feet array
    for e, name in enumerate(EXTRA_NAMES):
        expected_missing = name.startswith("left_") or name.endswith(("heel", "toe"))
        assert (ex[e, 2] == 0) == expected_missing, name
        if expected_missing:
            assert (ex[e] == 0).all()
    assert (seq.extras[2] == 0).all()  # nobody in frame 2


def test_extras_follow_the_person_chosen_by_person_id_and_none_without_hand_data(tmp_path):
    raw = json.loads(FIXTURE.read_text())
    for frame in raw:
        for k, person in enumerate(frame["people"]):
            person["person_id"] = [7 if person["hand_right_keypoints_2d"] is None else 3]
    path = tmp_path / "ids.json"
    path.write_text(json.dumps(raw))
    small = load_poses(path, person_id=7)  # person B: no hands, no feet
    assert not small.has_extras and small.has_person.tolist() == [True, False, False]
    big = load_poses(path, person_id=3)
    np.testing.assert_array_equal(big.extras, load_poses(FIXTURE).extras)


def test_body25_feet_become_heels_and_toes():
    seq = load_poses(DATA / "openpose" / "body25_single.json", size=(640, 480))
    person = OPENPOSE_MADE.A
    assert seq.has_extras
    for e, name in enumerate(EXTRA_NAMES):
        side, kind = name.split("_", 1)
        if kind in ("heel", "toe"):
            np.testing.assert_allclose(seq.extras[0, e], person[f"{side}_{MEANING[kind]}"], atol=1e-3)
        else:
            assert (seq.extras[0, e] == 0).all()
    assert not load_poses(DATA / "openpose" / "coco18_sequence.json").has_extras


# --------------------------------------------------------------------------------------------
# Writing and round trips
# --------------------------------------------------------------------------------------------
@st.composite
def sequences_with_extras(draw, max_frames: int = 5):
    t = draw(st.integers(1, max_frames))
    width, height = draw(st.integers(40, 2000)), draw(st.integers(40, 2000))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))

    def points(count):
        xy = 2 + rng.random((t, count, 2)) * [width - 4, height - 4]  # inside the canvas, > 1 px
        conf = rng.uniform(0.05, 1.0, (t, count, 1)) * (rng.random((t, count, 1)) > 0.2)
        return np.concatenate([xy * (conf > 0), conf], axis=-1).astype(np.float32)

    kp, extras = points(13), points(10)
    kp[rng.random(t) < 0.2] = 0.0  # some frames with nobody
    return PoseSequence(kp, width, height, float(draw(st.sampled_from([12, 25, 30]))), extras=extras)


def _as_written(points: np.ndarray, present: np.ndarray) -> np.ndarray:
    """What a ControlNet file can say about points: nothing for frames without a person, c in {0, 1}."""
    out = points.copy()
    out[~present] = 0.0
    out[out[..., 2] <= 0] = 0.0
    out[..., 2] = (out[..., 2] > 0).astype(np.float32)
    return out


@settings(max_examples=40, deadline=None)
@given(sequences_with_extras(), st.booleans())
def test_controlnet_round_trip_keeps_joints_hands_and_feet(seq, in_memory):
    if in_memory:
        back = poses_from_controlnet(json.loads(json.dumps(controlnet_frames(seq))), fps=seq.fps)
    else:
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / "pose_keypoint.json"
            save_poses(seq, path, format="controlnet")
            assert detect_format(path) == "controlnet" and os.listdir(folder) == ["pose_keypoint.json"]
            back = load_poses(path, fps=seq.fps)
    assert (back.width, back.height, back.fps, len(back)) == (seq.width, seq.height, seq.fps, len(seq))
    present = seq.has_person
    np.testing.assert_allclose(back.keypoints, _as_written(seq.keypoints, present), atol=1e-3)
    if present.any():
        assert back.has_extras
        np.testing.assert_allclose(back.extras, _as_written(seq.extras, present), atol=1e-3)


def test_written_layout_is_what_controlnet_readers_expect(tmp_path):
    seq = load_poses(FIXTURE)
    save_poses(seq, tmp_path / "out.json", format="controlnet")
    frames = json.loads((tmp_path / "out.json").read_text())
    assert frames == controlnet_frames(seq)
    assert len(frames) == 3 and frames[2]["people"] == []
    for frame, t in zip(frames[:2], range(2)):
        assert set(frame) == {"people", "canvas_width", "canvas_height"}  # no OpenPose "version"
        assert (frame["canvas_width"], frame["canvas_height"]) == (640, 480)
        (person,) = frame["people"]
        body = np.asarray(person["pose_keypoints_2d"]).reshape(18, 3)
        for name, values in (("pose_keypoints_2d", 54), ("hand_left_keypoints_2d", 63),
                             ("hand_right_keypoints_2d", 63), ("foot_keypoints_2d", 18)):
            points = np.asarray(person[name]).reshape(-1, 3)
            assert points.size == values
            assert set(points[:, 2].tolist()) <= {0.0, 1.0}  # readers drop c < 1
            assert (points[points[:, 2] == 0] == 0).all()  # missing: 0, 0, 0
            assert (points[points[:, 2] == 1, :2] > 1).all()  # pixels, not normalized
        assert person["face_keypoints_2d"] == []
        for name in FACE:
            assert (body[COCO_18.names.index(name)] == 0).all()
        neck = body[COCO_18.names.index("neck")]
        np.testing.assert_allclose(neck[:2], seq.keypoints[t, [R_SHOULDER, L_SHOULDER], :2].mean(0), atol=1e-4)
        for side in ("right", "left"):
            hand = np.asarray(person[f"hand_{side}_keypoints_2d"]).reshape(21, 3)
            np.testing.assert_allclose(hand[0, :2], seq.keypoints[t, JOINT_NAMES.index(f"{side}_wrist"), :2])


def test_sequence_without_extras_writes_empty_hands(tmp_path):
    seq = load_poses(FIXTURE).without_extras()
    person = controlnet_frames(seq)[0]["people"][0]
    assert person["hand_left_keypoints_2d"] == person["hand_right_keypoints_2d"] == []
    assert "foot_keypoints_2d" not in person or person["foot_keypoints_2d"] == []
    save_poses(seq, tmp_path / "out.json", format="controlnet")
    assert not load_poses(tmp_path / "out.json").has_extras


def test_openpose_output_carries_hands_but_no_dwpose_feet(tmp_path):
    seq = load_poses(FIXTURE)
    save_poses(seq, tmp_path / "op.json", format="openpose")
    assert detect_format(tmp_path / "op.json") == "openpose"
    person = json.loads((tmp_path / "op.json").read_text())[0]["people"][0]
    assert "foot_keypoints_2d" not in person and len(person["hand_right_keypoints_2d"]) == 63
    back = load_poses(tmp_path / "op.json")
    hands = [e for e, name in enumerate(EXTRA_NAMES) if not name.endswith(("heel", "toe"))]
    np.testing.assert_allclose(back.extras[:, hands], _as_written(seq.extras, seq.has_person)[:, hands], atol=1e-3)


# --------------------------------------------------------------------------------------------
# Bad input
# --------------------------------------------------------------------------------------------
def _fixture_with(change) -> list:
    raw = json.loads(FIXTURE.read_text())
    change(raw[1]["people"][0])
    return raw


@pytest.mark.parametrize("change,expected", [
    (lambda p: p.update(hand_right_keypoints_2d=[1.0] * 60), "frame 1, person 0: 'hand_right_keypoints_2d' holds 60"),
    (lambda p: p.update(foot_keypoints_2d=[0.1, 0.2, -1.0] * 6), "'foot_keypoints_2d' keypoint 0 (left_big_toe) has negative"),
    (lambda p: p["hand_left_keypoints_2d"].__setitem__(13, "x"), "'hand_left_keypoints_2d' value 13 (thumb_tip)"),
    (lambda p: p.update(hand_left_keypoints_2d={"x": 1}), "must be a list"),
])
def test_bad_hand_or_foot_arrays_name_frame_person_and_field(tmp_path, change, expected):
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(_fixture_with(change)))
    with pytest.raises(PoseFileError, match="bad.json: frame 1") as info:
        load_poses(path)
    assert expected in str(info.value)
    with pytest.raises(PoseFileError, match="node: frame 1"):
        poses_from_controlnet(_fixture_with(change), source="node")


@pytest.mark.parametrize("value", [[], "frames", None])
def test_pose_keypoint_value_that_is_not_frames_is_refused(value):
    with pytest.raises(PoseFileError, match="POSE_KEYPOINT: expected a non-empty list of frames"):
        poses_from_controlnet(value)


def test_cli_converts_to_controlnet_and_refuses_a_folder(tmp_path):
    from click.testing import CliRunner

    from ilat_video.cli import main

    out = tmp_path / "pk.json"
    result = CliRunner().invoke(main, ["convert-poses", str(FIXTURE), "--to", "controlnet", "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert "with hand and foot points" in result.output
    back, original = load_poses(out), load_poses(FIXTURE)
    np.testing.assert_allclose(back.keypoints, original.keypoints, atol=1e-3)
    np.testing.assert_allclose(back.extras, original.extras, atol=1e-3)
    result = CliRunner().invoke(main, ["convert-poses", str(FIXTURE), "--to", "controlnet", "-o", str(tmp_path / "dir")])
    assert result.exit_code == 2 and "ending in .json" in result.output
    assert sorted(os.listdir(tmp_path)) == ["pk.json"]


def test_documented_extras_table_matches_the_code():
    from ilat_video.pose.mapping import EXTRAS_FROM_MEDIAPIPE

    doc = (Path(__file__).parents[1] / "docs" / "pose-format.md").read_text()
    rows = {}
    for line in doc.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 5 and cells[0].isdigit() and cells[1].strip("`") in EXTRA_NAMES:
            rows[int(cells[0])] = cells
    assert sorted(rows) == list(range(len(EXTRA_NAMES)))
    for e, (_, name, mediapipe, hand, foot) in rows.items():
        assert name.strip("`") == EXTRA_NAMES[e] and int(mediapipe) == EXTRAS_FROM_MEDIAPIPE[e]
        if e in EXTRA_HAND_SLOTS:
            side, slot = EXTRA_HAND_SLOTS[e]
            assert hand == f"{side} hand {slot} `{HAND_21_NAMES[slot]}`" and foot == ""
        else:
            slot = EXTRA_FOOT_SLOTS[e]
            body25 = BODY_25.names.index(FOOT_6_NAMES[slot])
            assert foot == f"{slot} `{FOOT_6_NAMES[slot]}` / {body25}" and hand == ""
