"""Pose files: mapping tables, each reader on real and hand-made files, round trips, bad input."""
import importlib.util
import json
import os
import re
import tempfile
from pathlib import Path

import numpy as np
import pytest
import scipy.io
from hypothesis import given, settings
from hypothesis import strategies as st

from ilat_video.errors import IlatError, PoseFileError
from ilat_video.pose import formats
from ilat_video.pose.formats import (BODY_25, COCO_17, COCO_18, ILAT_TO_COCO_18, detect_format, load_poses,
                                     map_keypoints, read_coco_people, save_poses)
from ilat_video.pose.mapping import EXTRA_NAMES
from ilat_video.pose.sequence import PoseSequence
from ilat_video.pose.skeleton import JOINT_NAMES, L_SHOULDER, R_SHOULDER

DATA = Path(__file__).parent / "data"
PENN = DATA / "penn_action"
COCO = DATA / "coco" / "test_coco.json"
OPENPOSE = DATA / "openpose"
FACE = {"left_eye", "right_eye", "left_ear", "right_ear"}


def _handmade():
    """The generator of the hand-made OpenPose files: its people, by keypoint name."""
    spec = importlib.util.spec_from_file_location("make_openpose_files", OPENPOSE / "make_files.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


MADE = _handmade()


def _expected(person: dict) -> np.ndarray:
    """Our (13, 3) pose from a {keypoint name: (x, y, c)} person, by name alone (not the tables)."""
    out = np.zeros((13, 3), np.float32)
    for j, name in enumerate(JOINT_NAMES[1:], start=1):
        out[j] = person[name]
    if person["nose"][2] > 0:
        out[0] = person["nose"]
    else:
        face = np.array([person[n] for n in sorted(FACE) if person[n][2] > 0], np.float64)
        out[0] = face.mean(axis=0)
    return out


# --------------------------------------------------------------------------------------------
# Mapping tables
# --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("mapping,count", [(BODY_25, 25), (COCO_18, 18), (COCO_17, 17)])
def test_mapping_tables_pick_the_joint_of_the_same_name(mapping, count):
    assert mapping.num_keypoints == count == len(set(mapping.names))
    assert len(mapping.to_ilat) == 13
    assert mapping.names[mapping.to_ilat[0]] == "nose"
    for j in range(1, 13):
        assert mapping.names[mapping.to_ilat[j]] == JOINT_NAMES[j]
    assert {mapping.names[i] for i in mapping.head_fallback} == FACE


def test_coco17_names_match_the_real_coco_file():
    categories = json.loads(COCO.read_text())["categories"]
    assert tuple(categories[0]["keypoints"]) == COCO_17.names


def test_coco18_and_body25_share_their_first_eight_keypoints():
    # OpenPose documents BODY_25 as COCO-18 with mid_hip inserted at 8 and feet appended.
    assert BODY_25.names[:8] == COCO_18.names[:8]
    assert BODY_25.names[8] == "mid_hip"
    assert BODY_25.names[9:19] == COCO_18.names[8:18]


def test_output_table_writes_each_joint_to_the_slot_of_its_name():
    assert len(ILAT_TO_COCO_18) == 18
    for slot, src in enumerate(ILAT_TO_COCO_18):
        name = COCO_18.names[slot]
        if src == "neck":
            assert name == "neck"
        elif src is None:
            assert name in FACE
        elif src == 0:
            assert name == "nose"
        else:
            assert name == JOINT_NAMES[src]
    used = [s for s in ILAT_TO_COCO_18 if isinstance(s, int)]
    assert sorted(used) == list(range(13))


@settings(max_examples=60, deadline=None)
@given(st.sampled_from([BODY_25, COCO_18, COCO_17]), st.integers(0, 2**32 - 1))
def test_head_is_nose_else_mean_of_present_face_points(mapping, seed):
    rng = np.random.default_rng(seed)
    points = np.concatenate([rng.uniform(0, 500, (mapping.num_keypoints, 2)),
                             rng.uniform(0.05, 1, (mapping.num_keypoints, 1))], axis=1).astype(np.float32)
    points[rng.random(mapping.num_keypoints) < 0.4, 2] = 0
    person = {name: tuple(points[i]) for i, name in enumerate(mapping.names)}
    out = map_keypoints(points, mapping)
    if person["nose"][2] == 0 and all(person[n][2] == 0 for n in FACE):
        np.testing.assert_array_equal(out[0], 0)
        np.testing.assert_allclose(out[1:], _expected({**person, "nose": (1, 1, 1)})[1:])
    else:
        np.testing.assert_allclose(out, _expected(person), rtol=1e-5, atol=1e-3)


def test_map_keypoints_works_on_batches():
    points = np.random.default_rng(0).uniform(0.1, 1, (4, 6, 17, 3)).astype(np.float32)
    out = map_keypoints(points, COCO_17)
    assert out.shape == (4, 6, 13, 3)
    np.testing.assert_array_equal(out[2, 3], map_keypoints(points[2, 3], COCO_17))
    with pytest.raises(ValueError):
        map_keypoints(points[..., :16, :], COCO_17)


# --------------------------------------------------------------------------------------------
# Real files
# --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["0004", "1037", "1660"])
def test_penn_reader_matches_the_mat_fields(name):
    path = PENN / f"{name}.mat"
    mat = scipy.io.loadmat(path)
    seq = load_poses(path)
    height, width, frames = (int(v) for v in mat["dimensions"].ravel())
    assert (len(seq), seq.width, seq.height) == (frames, width, height)
    np.testing.assert_array_equal(seq.xy[..., 0], mat["x"].astype(np.float32))  # float64 in 0004.mat
    np.testing.assert_array_equal(seq.xy[..., 1], mat["y"].astype(np.float32))
    np.testing.assert_array_equal(seq.confidence, mat["visibility"])
    assert detect_format(path) == "penn"
    assert seq.source == str(path) and seq.fps == formats.DEFAULT_FPS


def test_penn_right_shoulder_lies_on_the_image_left_for_the_front_facing_person():
    seq = load_poses(PENN / "1037.mat")
    assert (seq.keypoints[:, R_SHOULDER, 0] < seq.keypoints[:, L_SHOULDER, 0]).all()


def test_penn_fps_option():
    assert load_poses(PENN / "1037.mat", fps=12).fps == 12.0


def test_coco_people_map_by_name_with_visibility_as_confidence():
    data = json.loads(COCO.read_text())
    people = read_coco_people(COCO)
    assert len(people) == len(data["annotations"]) == 14
    sizes = {img["id"]: (img["width"], img["height"]) for img in data["images"]}
    for person, ann in zip(people, data["annotations"]):
        assert person.annotation_id == ann["id"] and (person.width, person.height) == sizes[ann["image_id"]]
        raw = np.asarray(ann["keypoints"], np.float32).reshape(17, 3)
        by_name = {n: (raw[i, 0], raw[i, 1], {0: 0.0, 1: 0.5, 2: 1.0}[int(raw[i, 2])]) if raw[i, 2] else (0, 0, 0)
                   for i, n in enumerate(COCO_17.names)}
        if by_name["nose"][2] == 0 and all(by_name[n][2] == 0 for n in FACE):
            assert (person.joints[0] == 0).all()
            np.testing.assert_allclose(person.joints[1:], _expected({**by_name, "nose": (1, 1, 1)})[1:])
        else:
            np.testing.assert_allclose(person.joints, _expected(by_name))
        assert person.num_labelled == ann["num_keypoints"]


def test_coco_head_falls_back_to_the_ear_when_the_nose_is_not_labelled():
    person = {p.annotation_id: p for p in read_coco_people(COCO)}[1717641]
    ear = COCO_17.names.index("left_ear")
    assert person.keypoints[0, 2] == 0 and person.keypoints[ear, 2] == 2
    np.testing.assert_allclose(person.joints[0], (*person.keypoints[ear, :2], 1.0))


def test_coco_reader_by_annotation_id():
    seq = load_poses(COCO, person_id=442619)
    assert (len(seq), seq.width, seq.height) == (1, 640, 425)
    assert seq.keypoints[0, R_SHOULDER, 0] < seq.keypoints[0, L_SHOULDER, 0]  # COCO is anatomical too
    assert detect_format(COCO) == "coco"
    with pytest.raises(PoseFileError, match="no person annotation has id 12345"):
        load_poses(COCO, person_id=12345)


def test_coco_without_id_takes_the_largest_labelled_person_of_each_image(tmp_path):
    data = json.loads(COCO.read_text())
    image_id = 196141
    one = {**data, "images": [i for i in data["images"] if i["id"] == image_id],
           "annotations": [a for a in data["annotations"] if a["image_id"] == image_id]}
    path = tmp_path / "one_image.json"
    path.write_text(json.dumps(one))
    labelled = [a for a in one["annotations"] if a["num_keypoints"] > 0]
    largest = max(labelled, key=lambda a: a["bbox"][2] * a["bbox"][3])
    seq = load_poses(path)
    assert len(seq) == 1
    np.testing.assert_array_equal(seq.keypoints, load_poses(COCO, person_id=largest["id"]).keypoints)


def test_coco_images_of_different_sizes_do_not_form_a_sequence():
    with pytest.raises(PoseFileError) as err:
        load_poses(COCO)
    message = str(err.value)
    assert str(COCO) in message and "frame 1" in message and "person_id" in message


# --------------------------------------------------------------------------------------------
# Hand-made OpenPose files
# --------------------------------------------------------------------------------------------
def _check_handmade_sequence(seq):
    """Frames: 0 A; 1 A (moved) beside a smaller B; 2 nobody; 3 A without nose."""
    frames = MADE.FRAMES
    assert len(seq) == 4 and (seq.width, seq.height) == (640, 480)
    assert seq.has_person.tolist() == [True, True, False, True]
    np.testing.assert_allclose(seq.keypoints[0], _expected(frames[0][0]), atol=1e-3)
    np.testing.assert_allclose(seq.keypoints[1], _expected(frames[1][1]), atol=1e-3)  # A, not B
    np.testing.assert_allclose(seq.keypoints[3], _expected(frames[3][0]), atol=1e-3)  # head from eyes/ears


def test_openpose_body25_folder():
    folder = OPENPOSE / "body25_frames"
    seq = load_poses(folder, size=(640, 480), fps=12)
    _check_handmade_sequence(seq)
    assert seq.fps == 12.0 and detect_format(folder) == "openpose"


def test_openpose_coco18_folder_and_person_id():
    folder = OPENPOSE / "coco18_frames"
    _check_handmade_sequence(load_poses(folder, size=(640, 480)))
    only_b = load_poses(folder, size=(640, 480), person_id=1)
    assert only_b.has_person.tolist() == [False, True, False, False]
    np.testing.assert_allclose(only_b.keypoints[1], _expected(MADE.FRAMES[1][0]), atol=1e-3)
    with pytest.raises(PoseFileError, match="person_id 7"):
        load_poses(folder, size=(640, 480), person_id=7)


def test_openpose_one_file_with_one_frame():
    seq = load_poses(OPENPOSE / "body25_single.json", size=(640, 480))
    assert len(seq) == 1
    np.testing.assert_allclose(seq.keypoints[0], _expected(MADE.A), atol=1e-3)


def test_openpose_controlnet_list_with_canvas_size():
    seq = load_poses(OPENPOSE / "coco18_sequence.json")
    _check_handmade_sequence(seq)
    body25 = load_poses(OPENPOSE / "body25_frames", size=(640, 480))
    np.testing.assert_array_equal(seq.keypoints, body25.keypoints)


def test_openpose_normalized_coordinates_are_scaled_to_the_canvas():
    seq = load_poses(OPENPOSE / "coco18_normalized.json")
    np.testing.assert_allclose(seq.keypoints[0], _expected(MADE.A), atol=1e-3)


def test_openpose_without_canvas_size_asks_for_it():
    with pytest.raises(PoseFileError, match="size"):
        load_poses(OPENPOSE / "body25_frames")


def test_openpose_follows_the_person_it_started_with(tmp_path):
    # B is larger than A from frame 1 on, but A stays where it was: A is followed.
    small = MADE.moved(MADE.A, -150, 0, scale=0.6)
    big = MADE.moved(MADE.A, 150, 0, scale=1.0)
    frames = [[small], [big, MADE.moved(small, 2, 1)], [MADE.moved(small, 4, 2), big]]
    path = tmp_path / "two.json"
    path.write_text(json.dumps([{"people": [{"pose_keypoints_2d": MADE.flat(p, MADE.COCO_18)} for p in f],
                                 "canvas_width": 640, "canvas_height": 480} for f in frames]))
    seq = load_poses(path)
    np.testing.assert_allclose(seq.keypoints[1], _expected(frames[1][1]), atol=1e-3)
    np.testing.assert_allclose(seq.keypoints[2], _expected(frames[2][0]), atol=1e-3)


# --------------------------------------------------------------------------------------------
# Round trips
# --------------------------------------------------------------------------------------------
@st.composite
def sequences(draw, max_frames=10):
    t = draw(st.integers(0, max_frames))
    width, height = draw(st.integers(1, 5000)), draw(st.integers(1, 5000))
    fps = draw(st.floats(0.5, 240, allow_nan=False))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    kp = np.zeros((t, 13, 3), np.float32)
    kp[..., 0] = rng.uniform(-0.5, 1.5, (t, 13)) * width
    kp[..., 1] = rng.uniform(-0.5, 1.5, (t, 13)) * height
    kp[..., 2] = rng.uniform(0, 1, (t, 13)) * (rng.random((t, 13)) > 0.25)
    kp[rng.random(t) < 0.2] = 0.0
    if t and draw(st.booleans()):
        kp[..., :2] = np.round(kp[..., :2])  # integer pixels, as in Penn Action labels
    return PoseSequence(kp, width, height, fps)


def _without_empty_frames(seq):
    kp = seq.keypoints.copy()
    kp[~seq.has_person] = 0.0
    return kp


@settings(max_examples=60, deadline=None)
@given(sequences())
def test_ilat_json_round_trip_is_exact(seq):
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "poses.json"
        save_poses(seq, path)
        back = load_poses(path)
        assert (back.width, back.height, back.fps) == (seq.width, seq.height, seq.fps)
        np.testing.assert_array_equal(back.keypoints, _without_empty_frames(seq))
        assert detect_format(path) == "ilat"
        assert os.listdir(folder) == ["poses.json"]


@settings(max_examples=30, deadline=None)
@given(sequences(max_frames=6), st.booleans(), st.booleans())
def test_openpose_round_trip_keeps_the_visible_joints(seq, one_file, keep_confidence):
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / ("poses.json" if one_file else "frames")
        save_poses(seq, path, format="openpose", keep_confidence=keep_confidence)
        if len(seq) == 0:
            return  # nothing to read back: no frames
        back = load_poses(path, fps=seq.fps)
        assert (back.width, back.height, len(back)) == (seq.width, seq.height, len(seq))
        expected = _without_empty_frames(seq)
        expected[expected[..., 2] == 0] = 0.0
        if not keep_confidence:
            expected[..., 2] = (expected[..., 2] > 0).astype(np.float32)
        visible = expected[..., 2] > 0
        if visible.any() and np.abs(expected[..., :2][visible]).max() <= 1.0:
            return  # would be read as normalized coordinates (documented); not a realistic pose
        np.testing.assert_array_equal(back.keypoints, expected)


def test_openpose_output_layout(tmp_path):
    seq = load_poses(PENN / "1037.mat")[:3]
    save_poses(seq, tmp_path / "out.json", format="openpose")
    frames = json.loads((tmp_path / "out.json").read_text())
    assert len(frames) == 3
    frame = frames[0]
    assert (frame["canvas_width"], frame["canvas_height"]) == (480, 360)
    points = np.asarray(frame["people"][0]["pose_keypoints_2d"]).reshape(18, 3)
    pose = seq.keypoints[0]
    np.testing.assert_allclose(points[COCO_18.names.index("right_wrist")], pose[JOINT_NAMES.index("right_wrist")])
    np.testing.assert_allclose(points[COCO_18.names.index("neck"), :2], pose[[R_SHOULDER, L_SHOULDER], :2].mean(0))
    assert set(points[:, 2]) <= {0.0, 1.0}  # ControlNet reads only confidence 1 as present
    for name in FACE:
        assert (points[COCO_18.names.index(name)] == 0).all()
    save_poses(seq, tmp_path / "folder", format="openpose")
    names = sorted(os.listdir(tmp_path / "folder"))
    assert names == [f"folder_{t:012d}_keypoints.json" for t in range(3)]
    assert json.loads((tmp_path / "folder" / names[1]).read_text()) == frames[1]


def test_penn_to_ilat_round_trip(tmp_path):
    seq = load_poses(PENN / "0004.mat")
    save_poses(seq, tmp_path / "p.json")
    back = load_poses(tmp_path / "p.json")
    np.testing.assert_array_equal(back.keypoints, _without_empty_frames(seq))


def test_our_json_is_documented_and_readable(tmp_path):
    seq = PoseSequence.from_frames([np.full((13, 3), 0.5), None], 64, 48, 25.0)
    save_poses(seq, tmp_path / "p.json")
    text = (tmp_path / "p.json").read_text()
    data = json.loads(text)
    assert data["format"] == "ilat-poses" and data["version"] == 1
    assert data["joints"] == list(JOINT_NAMES) and data["frames"][1] is None
    assert len(text.splitlines()) == 4  # header, one line per frame, closing
    doc = (Path(__file__).parents[1] / "docs" / "pose-format.md").read_text()
    for key in ("format", "version", "width", "height", "fps", "joints", "frames", "null"):
        assert f"`{key}`" in doc or f'"{key}"' in doc


# --------------------------------------------------------------------------------------------
# Writing safely
# --------------------------------------------------------------------------------------------
def test_failed_write_leaves_nothing_and_keeps_the_old_file(tmp_path, monkeypatch):
    seq = load_poses(PENN / "1037.mat")
    target = tmp_path / "p.json"
    target.write_text("old")

    def boom(_):
        raise RuntimeError("disk full")

    monkeypatch.setattr(formats.ours, "ilat_json", boom)
    with pytest.raises(RuntimeError):
        save_poses(seq, target)
    assert target.read_text() == "old" and os.listdir(tmp_path) == ["p.json"]


def test_failed_folder_write_leaves_nothing(tmp_path):
    with pytest.raises(OSError):
        formats.openpose.write_folder(tmp_path / "out", {"a.json": "{}", "missing/b.json": "{}"})
    assert os.listdir(tmp_path) == []


def test_openpose_folder_output_refuses_a_folder_with_files(tmp_path):
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "keep.txt").write_text("mine")
    with pytest.raises(IlatError, match="not an empty folder"):
        save_poses(load_poses(PENN / "1037.mat"), tmp_path / "out", format="openpose")
    assert os.listdir(tmp_path / "out") == ["keep.txt"]


def test_output_in_missing_folder_and_unknown_format(tmp_path):
    seq = load_poses(PENN / "1037.mat")
    with pytest.raises(IlatError, match="does not exist"):
        save_poses(seq, tmp_path / "nope" / "p.json")
    with pytest.raises(IlatError, match="unknown pose format"):
        save_poses(seq, tmp_path / "p.json", format="bvh")
    assert os.listdir(tmp_path) == []


# --------------------------------------------------------------------------------------------
# Bad input: one clear PoseFileError naming the file, the frame and the field
# --------------------------------------------------------------------------------------------
GOOD_FRAME = [[10.0 + j, 20.0 + j, 0.9] for j in range(13)]


def _ours(**changes):
    data = {"format": "ilat-poses", "version": 1, "width": 64, "height": 48, "fps": 30.0,
            "joints": list(JOINT_NAMES), "frames": [GOOD_FRAME, None, GOOD_FRAME]}
    data.update(changes)
    return data


def _frame_with(joint, value):
    frame = [list(j) for j in GOOD_FRAME]
    frame[joint] = value
    return frame


def _write(tmp_path, name, content):
    path = tmp_path / name
    path.write_text(content if isinstance(content, str) else json.dumps(content))
    return path


@pytest.mark.parametrize("content,expected", [
    ("", "empty"),
    ("  \n", "empty"),
    ('{"format": "ilat-poses", "version": 1,', "malformed JSON at line 1"),
    ("[1, 2, 3]", "not a pose file"),
    (_ours(format="other"), "'format'"),
    (_ours(version=2), "'version' is 2"),
    (_ours(version=None), "'version'"),
    (_ours(width=0), "'width'"),
    (_ours(fps="fast"), "'fps'"),
    (_ours(joints=list(JOINT_NAMES)[:12]), "'joints'"),
    (_ours(frames={"0": GOOD_FRAME}), "'frames'"),
    (_ours(frames=[GOOD_FRAME, GOOD_FRAME[:12]]), "frame 1: expected 13 joints, got 12"),
    (_ours(frames=[GOOD_FRAME, _frame_with(3, [1.0, None, 0.5])]), "frame 1, joint 3 (right_elbow)"),
    (_ours(frames=[GOOD_FRAME, _frame_with(3, [1.0, 2.0])]), "frame 1, joint 3 (right_elbow)"),
    (_ours(frames=[GOOD_FRAME, _frame_with(3, [1.0, "2", 0.5])]), "frame 1, joint 3"),
    (_ours(frames=[_frame_with(5, [float("nan"), 2.0, 0.5])]), "frame 0, joint 5 (right_wrist)"),
    (_ours(frames=[GOOD_FRAME, GOOD_FRAME, _frame_with(2, [1.0, 2.0, -0.5])]), "frame 2, joint 2 (left_shoulder)"),
    (_ours(frames=[_frame_with(2, [1.0, 2.0, 1.5])]), "confidence"),
])
def test_bad_ilat_json(tmp_path, content, expected):
    path = _write(tmp_path, "bad.json", content)
    with pytest.raises(PoseFileError) as err:
        load_poses(path)
    assert str(path) in str(err.value)
    assert expected in str(err.value)


GOOD_EXTRAS = [[30.0 + e, 40.0 + e, 0.8] for e in range(10)]
EXTRA_FIELDS = {"extras": list(EXTRA_NAMES), "extra_frames": [GOOD_EXTRAS, None, GOOD_EXTRAS]}


@pytest.mark.parametrize("changes,expected", [
    ({"extra_frames": [GOOD_EXTRAS]}, "'extra_frames' must be a list with one entry per frame (3), got 1 entries"),
    ({"extras": list(EXTRA_NAMES)[::-1]}, "field 'extras' must list exactly these 10 points"),
    ({"extras": None}, "field 'extras'"),
    ({"extra_frames": [GOOD_EXTRAS, None, GOOD_EXTRAS[:9]]}, "frame 2 of 'extra_frames': expected 10 extra points, got 9"),
    ({"extra_frames": [GOOD_EXTRAS, None, GOOD_EXTRAS[:4] + [[1.0, 2.0]] + GOOD_EXTRAS[5:]]},
     "frame 2 of 'extra_frames', extra point 4 (right_thumb): expected [x, y, confidence]"),
    ({"extra_frames": [GOOD_EXTRAS, None, GOOD_EXTRAS[:9] + [[1.0, 2.0, 7.0]]]}, "frame 2, extra point 9 (left_toe)"),
])
def test_bad_extras_in_ilat_json(tmp_path, changes, expected):
    path = _write(tmp_path, "bad.json", _ours(**{**EXTRA_FIELDS, **changes}))
    with pytest.raises(PoseFileError) as err:
        load_poses(path)
    assert str(path) in str(err.value) and expected in str(err.value)


def test_ilat_json_extras_are_optional_and_read_back(tmp_path):
    plain = load_poses(_write(tmp_path, "old.json", _ours()))  # a file from before extras
    assert not plain.has_extras
    seq = load_poses(_write(tmp_path, "new.json", _ours(**EXTRA_FIELDS)))
    np.testing.assert_array_equal(seq.extras[0], np.float32(GOOD_EXTRAS))
    assert (seq.extras[1] == 0).all()
    np.testing.assert_array_equal(seq.keypoints, plain.keypoints)
    assert "extras" not in json.loads(formats.ours.ilat_json(plain))


@settings(max_examples=30, deadline=None)
@given(sequences(max_frames=6), st.integers(0, 2**32 - 1))
def test_ilat_json_round_trip_with_extras_is_exact(seq, seed):
    rng = np.random.default_rng(seed)
    t = len(seq)
    extras = np.concatenate([rng.uniform(-100, 3000, (t, 10, 2)), rng.uniform(0, 1, (t, 10, 1))
                             * (rng.random((t, 10, 1)) > 0.3)], axis=-1).astype(np.float32)
    extras[extras[..., 2] == 0] = 0.0
    extras[rng.random(t) < 0.3] = 0.0  # frames where no hand or foot point was seen
    seq = seq.replace(extras=extras)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "poses.json"
        save_poses(seq, path)
        back = load_poses(path)
    assert back.has_extras
    np.testing.assert_array_equal(back.extras, extras)
    np.testing.assert_array_equal(back.keypoints, _without_empty_frames(seq))


def test_nan_and_negative_confidence_messages_say_what_is_wrong(tmp_path):
    nan = _write(tmp_path, "nan.json", _ours(frames=[_frame_with(5, [float("nan"), 2.0, 0.5])]))
    with pytest.raises(PoseFileError, match="not finite"):
        load_poses(nan)
    neg = _write(tmp_path, "neg.json", _ours(frames=[_frame_with(2, [1.0, 2.0, -0.5])]))
    with pytest.raises(PoseFileError, match=r"confidence must be in \[0, 1\], got -0.5"):
        load_poses(neg)


def test_missing_and_binary_files(tmp_path):
    with pytest.raises(PoseFileError, match="no such pose file"):
        load_poses(tmp_path / "nope.json")
    binary = tmp_path / "img.json"
    binary.write_bytes(b"\x89PNG\r\n\x1a\n\xff\xfe")
    with pytest.raises(PoseFileError, match="not a text"):
        load_poses(binary)


def _openpose_frame(values, **extra):
    return {"people": [{"pose_keypoints_2d": values}], **extra}


A18 = MADE.flat(MADE.A, MADE.COCO_18)


@pytest.mark.parametrize("frames,expected", [
    ([_openpose_frame(A18[:51], canvas_width=640, canvas_height=480)], "holds 51 numbers"),
    ([_openpose_frame(A18[:3] + [float("nan")] + A18[4:], canvas_width=640, canvas_height=480)],
     "keypoint 1 (neck) is not finite"),
    ([_openpose_frame(A18[:5] + [-0.3] + A18[6:], canvas_width=640, canvas_height=480)],
     "keypoint 1 (neck) has negative confidence"),
    ([_openpose_frame(A18[:4] + ["x"] + A18[5:], canvas_width=640, canvas_height=480)], "expected a number"),
    ([_openpose_frame(A18, canvas_width=640, canvas_height=480),
      _openpose_frame(A18, canvas_width=320, canvas_height=240)], "canvas is 320x240"),
    ([_openpose_frame(A18, canvas_width=0, canvas_height=480)], "canvas_width"),
])
def test_bad_openpose_file(tmp_path, frames, expected):
    path = _write(tmp_path, "op.json", frames)
    with pytest.raises(PoseFileError) as err:
        load_poses(path)
    assert str(path) in str(err.value) and expected in str(err.value)
    if len(frames) == 1:
        assert "person 0" in str(err.value) or "canvas" in str(err.value)
    else:
        assert "frame 1" in str(err.value)


def test_bad_openpose_folder_names_the_frame_file(tmp_path):
    folder = tmp_path / "frames"
    folder.mkdir()
    for t in range(3):
        values = A18 if t != 2 else A18[:30]
        _write(folder, f"v_{t:012d}_keypoints.json", _openpose_frame(values))
    with pytest.raises(PoseFileError) as err:
        load_poses(folder, size=(640, 480))
    assert "v_000000000002_keypoints.json" in str(err.value) and "frame 2" in str(err.value)
    (folder / "v_000000000002_keypoints.json").write_text('{"people": [}')
    with pytest.raises(PoseFileError, match="v_000000000002_keypoints.json: malformed JSON"):
        load_poses(folder, size=(640, 480))
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(PoseFileError, match="no .json files"):
        load_poses(empty)


def test_openpose_size_must_agree_with_the_canvas():
    with pytest.raises(PoseFileError, match="size=100x100"):
        load_poses(OPENPOSE / "coco18_sequence.json", size=(100, 100))


def test_frames_of_different_size_in_a_folder(tmp_path):
    folder = tmp_path / "frames"
    folder.mkdir()
    _write(folder, "a_0.json", _openpose_frame(A18, canvas_width=640, canvas_height=480))
    _write(folder, "a_1.json", _openpose_frame(A18, canvas_width=1280, canvas_height=720))
    with pytest.raises(PoseFileError) as err:
        load_poses(folder)
    assert "a_1.json: frame 1" in str(err.value) and "1280x720" in str(err.value)


def _coco_with(tmp_path, change):
    data = json.loads(COCO.read_text())
    change(data)
    return _write(tmp_path, "coco.json", data)


def test_bad_coco_files(tmp_path):
    def short(d):
        d["annotations"][1]["keypoints"] = d["annotations"][1]["keypoints"][:48]

    def flag(d):
        d["annotations"][2]["keypoints"][5 * 3 + 2] = -1

    def nan(d):
        d["annotations"][0]["keypoints"][0] = float("nan")

    def orphan(d):
        d["annotations"][0]["image_id"] = 999

    cases = [(short, "annotation id 198196: 'keypoints' holds 48 values, expected 51"),
             (flag, "annotation id 230195: keypoint 5 (left_shoulder): visibility flag must be 0, 1 or 2"),
             (nan, "annotation id 442619: keypoint 0 (nose) is not finite"),
             (orphan, "'image_id' 999")]
    for change, expected in cases:
        path = _coco_with(tmp_path, change)
        with pytest.raises(PoseFileError) as err:
            load_poses(path, person_id=442619)
        assert str(path) in str(err.value) and expected in str(err.value)


def test_bad_penn_files(tmp_path):
    good = scipy.io.loadmat(PENN / "1037.mat")
    fields = {k: v for k, v in good.items() if not k.startswith("__")}

    def write(name, **changes):
        path = tmp_path / name
        values = {**fields, **changes}
        scipy.io.savemat(path, {k: v for k, v in values.items() if v is not None})
        return path

    x_nan = good["x"].astype(np.float64)
    x_nan[4, 6] = np.nan
    vis = good["visibility"].astype(np.float64)
    vis[3, 1] = -1
    cases = [
        (write("no_x.mat", x=None), "field 'x' is missing"),
        (write("joints.mat", x=good["x"][:, :12], y=good["y"][:, :12]), "frames x 13 joints"),
        (write("nan.mat", x=x_nan), "frame 4, joint 6 (left_wrist): field 'x'"),
        (write("vis.mat", visibility=vis), "frame 3, joint 1 (right_shoulder): field 'visibility'"),
        (write("frames.mat", dimensions=np.array([[360, 480, 30]])), "says 30 frames"),
        (write("shape.mat", y=good["y"][:20]), "differ in shape"),
    ]
    for path, expected in cases:
        with pytest.raises(PoseFileError) as err:
            load_poses(path)
        assert str(path) in str(err.value) and expected in str(err.value)
    empty = tmp_path / "empty.mat"
    empty.write_bytes(b"")
    with pytest.raises(PoseFileError, match="empty"):
        load_poses(empty)
    junk = tmp_path / "junk.mat"
    junk.write_bytes(b"this is not a mat file at all" * 10)
    with pytest.raises(PoseFileError, match="not a readable MATLAB"):
        load_poses(junk)


def test_documented_mapping_table_matches_the_code():
    doc = (Path(__file__).parents[1] / "docs" / "pose-format.md").read_text()
    table = {}
    for line in doc.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 4 and re.fullmatch(r"\d+ [a-z_]+", cells[0]) and all(c[:1].isdigit() for c in cells[1:]):
            table[int(cells[0].split()[0])] = tuple(int(c.split()[0]) for c in cells[1:])
    assert sorted(table) == list(range(13))
    for j, row in table.items():
        assert row == (BODY_25.to_ilat[j], COCO_18.to_ilat[j], COCO_17.to_ilat[j])


# --------------------------------------------------------------------------------------------
# The convert-poses command
# --------------------------------------------------------------------------------------------
def _cli(*args):
    from click.testing import CliRunner

    from ilat_video.cli import main

    return CliRunner().invoke(main, [str(a) for a in args])


def test_cli_help_explains_formats():
    result = _cli("convert-poses", "--help")
    assert result.exit_code == 0
    for word in ("OpenPose", "COCO", "Penn Action", "--size", "--person-id", "--to"):
        assert word in result.output


@pytest.mark.parametrize("to,out", [("ilat", "p.json"), ("openpose", "p.json"), ("openpose", "frames")])
def test_cli_converts_and_the_result_reads_back(tmp_path, to, out):
    result = _cli("convert-poses", OPENPOSE / "body25_frames", "--size", "640x480", "--fps", "12",
                  "--to", to, "-o", tmp_path / out)
    assert result.exit_code == 0, result.output
    assert "4 frames (3 with a person)" in result.output
    back = load_poses(tmp_path / out, fps=12)
    original = load_poses(OPENPOSE / "body25_frames", size=(640, 480), fps=12)
    assert back.has_person.tolist() == original.has_person.tolist()
    np.testing.assert_allclose(back.xy, original.xy, atol=1e-3)


def test_cli_penn_to_ours(tmp_path):
    result = _cli("convert-poses", PENN / "1037.mat", "-o", tmp_path / "p.json")
    assert result.exit_code == 0, result.output
    assert load_poses(tmp_path / "p.json").same_as(load_poses(PENN / "1037.mat"))


@pytest.mark.parametrize("args,message", [
    (["missing.json"], "no such pose file"),
    ([OPENPOSE / "body25_frames"], "--size"),
    ([COCO], "frame 1"),
    ([COCO, "--person-id", "1"], "no person annotation has id 1"),
    ([OPENPOSE / "body25_frames", "--size", "640by480"], "WIDTHxHEIGHT"),
])
def test_cli_errors_exit_2_and_leave_no_output(tmp_path, args, message):
    out = tmp_path / "out.json"
    result = _cli("convert-poses", *args, "-o", out)
    assert result.exit_code == 2
    assert message in " ".join(result.output.split())
    assert os.listdir(tmp_path) == []


def test_cli_bad_file_exits_2_naming_the_frame(tmp_path):
    bad = _write(tmp_path, "bad.json", _ours(frames=[GOOD_FRAME, GOOD_FRAME[:12]]))
    result = _cli("convert-poses", bad, "--to", "openpose", "-o", tmp_path / "out")
    assert result.exit_code == 2
    assert "frame 1: expected 13 joints, got 12" in " ".join(result.output.split())
    assert os.listdir(tmp_path) == ["bad.json"]


def test_cli_refuses_to_overwrite_its_input(tmp_path):
    path = tmp_path / "p.json"
    save_poses(load_poses(PENN / "1037.mat"), path)
    before = path.read_bytes()
    result = _cli("convert-poses", path, "-o", path)
    assert result.exit_code == 2 and path.read_bytes() == before
