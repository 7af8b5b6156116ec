"""Pose extraction with MediaPipe: the model lookup, the 33 -> 13 mapping, following the main person,
real footage and photos, accuracy against COCO labels, and bad input."""
from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from ilat_video.errors import IlatError, ModelFileError, NoPersonError, VideoError
from ilat_video.fileio import load_image
from ilat_video.pose import extract as ex
from ilat_video.pose import landmarker
from ilat_video.pose.extract import (extract_image_pose, extract_image_poses, extract_poses,
                                     extract_poses_report, find_pose_model, landmarks_to_joints,
                                     match_people, pck)
from ilat_video.pose.formats import read_coco_people
from ilat_video.pose.skeleton import FLIP_PERMUTATION, JOINT_INDEX
from ilat_video.video import VideoWriter, read_frames

DATA = Path(__file__).parent / "data"
DRIBBLE = DATA / "video" / "person_dribble.mp4"
WOMAN = DATA / "images" / "standing_woman_rgba.png"
COCO = DATA / "coco"


# --- the model file ---------------------------------------------------------------------------

def test_find_pose_model_order(tmp_path, monkeypatch):
    project = find_pose_model()
    assert project.is_file() and project.name == "pose_landmarker_full.task"
    copy = tmp_path / "mine.task"
    copy.write_bytes(project.read_bytes())
    monkeypatch.setenv(ex.MODEL_ENV, str(copy))
    assert find_pose_model() == copy  # the environment variable beats the project's copy
    assert find_pose_model(project) == project  # an explicit path beats both
    monkeypatch.setenv(ex.MODEL_ENV, str(tmp_path / "gone.task"))
    with pytest.raises(ModelFileError, match=r"gone\.task: no such pose model file \(\$ILAT_VIDEO_POSE_MODEL\)"):
        find_pose_model()


def test_find_pose_model_errors(tmp_path, monkeypatch):
    with pytest.raises(ModelFileError, match=r"missing\.task: no such pose model file"):
        find_pose_model(tmp_path / "missing.task")
    fake = tmp_path / "fake.task"
    fake.write_text("not a model")
    with pytest.raises(ModelFileError, match=r"fake\.task: not a MediaPipe \.task model bundle"):
        find_pose_model(fake)
    monkeypatch.delenv(ex.MODEL_ENV, raising=False)
    monkeypatch.setattr(landmarker, "PROJECT_MODEL", tmp_path / "nowhere" / "m.task")
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ModelFileError, match="Download pose_landmarker_full.task from https://"):
        find_pose_model()


# --- mapping ----------------------------------------------------------------------------------

# MediaPipe's own mirror pairs (anatomical left <-> right) over its 33 landmarks.
MP_MIRROR = [0, 4, 5, 6, 1, 2, 3, 8, 7, 10, 9, 12, 11, 14, 13, 16, 15, 18, 17, 20, 19, 22, 21,
             24, 23, 26, 25, 28, 27, 30, 29, 32, 31]


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 2**31), head=st.sampled_from(sorted(ex.HEAD_CHOICES)))
def test_mapping_commutes_with_mirroring(seed, head):
    """Swapping MediaPipe's left/right landmarks must swap our right/left joints."""
    rng = np.random.default_rng(seed)
    landmarks = np.concatenate([rng.uniform(0, 500, (33, 2)), rng.uniform(0, 1, (33, 1))], 1)
    direct = landmarks_to_joints(landmarks, head)
    mirrored = landmarks_to_joints(landmarks[MP_MIRROR], head)
    assert np.allclose(mirrored, direct[list(FLIP_PERMUTATION)], atol=1e-4)


def test_mapping_is_anatomical():
    """MediaPipe 11/12 are the person's left/right shoulders; ours: 1 right, 2 left (DESIGN 7)."""
    landmarks = np.zeros((33, 3), np.float32)
    landmarks[:, 0] = np.arange(33)  # x = landmark index, to see where each joint came from
    landmarks[:, 2] = 0.5
    joints = landmarks_to_joints(landmarks, "nose")
    names = {"right_shoulder": 12, "left_shoulder": 11, "right_elbow": 14, "left_elbow": 13,
             "right_wrist": 16, "left_wrist": 15, "right_hip": 24, "left_hip": 23,
             "right_knee": 26, "left_knee": 25, "right_ankle": 28, "left_ankle": 27, "head": 0}
    for name, mp_index in names.items():
        assert joints[JOINT_INDEX[name], 0] == mp_index, name
    assert landmarks_to_joints(landmarks, "ears")[0, 0] == pytest.approx(7.5)
    assert landmarks_to_joints(landmarks, "face")[0, 0] == pytest.approx((0 + 2 + 5 + 7 + 8) / 5)
    with pytest.raises(ValueError):
        landmarks_to_joints(landmarks, "chin")


# --- following the main person ----------------------------------------------------------------

def person(cx, cy, height):
    """A crude upright (13, 3) pose centred at (cx, cy)."""
    rel = np.array([[0, -0.45], [-0.12, -0.3], [0.12, -0.3], [-0.15, -0.1], [0.15, -0.1],
                    [-0.16, 0.05], [0.16, 0.05], [-0.08, 0.05], [0.08, 0.05], [-0.08, 0.27],
                    [0.08, 0.27], [-0.08, 0.48], [0.08, 0.48]])
    out = np.ones((13, 3), np.float32)
    out[:, :2] = np.array([cx, cy]) + rel * height
    return out


def test_tracker_starts_with_the_largest_then_keeps_continuity():
    tracker = ex._MainPersonTracker(reacquire_after=3)
    small, big = person(100, 200, 100), person(400, 200, 300)
    assert tracker.choose([small, big]) is big
    # the other person grows and comes closer; the followed one moves a little and shrinks
    for step in range(1, 6):
        followed = person(400 - 10 * step, 200, 300 - 20 * step)
        other = person(100 + 20 * step, 200, 100 + 80 * step)
        assert tracker.choose([other, followed]) is followed
    # the followed person leaves: the other one is not taken as a substitute right away
    assert tracker.choose([person(200, 200, 500)]) is None
    assert tracker.choose([]) is None
    assert tracker.choose([]) is None
    assert tracker.choose([]) is None
    # ... but after `reacquire_after` frames without them, the largest in view is taken
    newcomer = person(200, 200, 500)
    assert tracker.choose([person(50, 50, 50), newcomer]) is newcomer
    assert tracker.switches == 1


def test_video_follows_the_main_person_not_the_largest(tmp_path):
    """Two people; the one that starts largest shrinks below the other but stays followed."""
    woman = load_image(WOMAN)
    frames = []
    for i in range(8):
        canvas = np.full((420, 720, 3), 255, np.uint8)
        left = 0.6 * (0.7 - 0.04 * i)
        right = 0.6 * (0.35 + 0.05 * i)
        for scale, x0 in ((left, 18), (right, 420)):
            img = np.asarray(Image.fromarray(woman).resize((round(614 * scale), round(922 * scale))))
            canvas[420 - img.shape[0]:, x0:x0 + img.shape[1]] = img
        frames.append(canvas)
    poses = extract_poses(np.stack(frames), fps=10, smooth=False)
    assert poses.has_person.all()
    centre_x = poses.xy[:, :, 0].mean(axis=1)
    assert np.all(centre_x < 360), centre_x  # always the left person, who started largest
    height_last = np.ptp(poses.xy[-1, :, 1])
    assert height_last < 0.45 * 922 * 0.6  # ... and by the end they are the smaller one


# --- real footage and photos -------------------------------------------------------------------

@pytest.fixture(scope="module")
def dribble():
    calls = []
    result = extract_poses_report(DRIBBLE, progress=lambda done, total: calls.append((done, total)))
    return result, calls


def test_dribble_video(dribble):
    result, calls = dribble
    poses = result.poses
    assert (len(poses), poses.width, poses.height, poses.fps) == (40, 1080, 1920, 12.0)
    assert poses.has_person.all() and len(result.no_person_frames) == 0
    # every joint located in >= 90% of frames
    assert ((poses.confidence > 0).mean(axis=0) >= 0.9).all()
    # joints in plain sight all along are confidently visible in >= 90% of frames; the right
    # elbow and wrist are hidden behind the torso and ball in frames 1-16 and MediaPipe says so
    clear = [JOINT_INDEX[n] for n in ("head", "right_shoulder", "left_shoulder", "left_elbow",
                                      "left_wrist", "right_hip", "left_hip", "left_knee",
                                      "right_ankle", "left_ankle")]
    assert ((poses.confidence[:, clear] >= 0.5).mean(axis=0) >= 0.9).all()
    # a standing person (who leans forward to dribble, so the head may drop to shoulder height):
    # head and shoulders above hips above knees above ankles, every frame
    y = poses.xy[..., 1]
    shoulders, hips = y[:, [1, 2]].mean(1), y[:, [7, 8]].mean(1)
    knees, ankles = y[:, [9, 10]].mean(1), y[:, [11, 12]].mean(1)
    assert np.all(y[:, 0] < hips) and np.all(shoulders < hips)
    assert np.all(hips < knees) and np.all(knees < ankles)
    assert np.all((poses.xy >= -50) & (poses.xy <= [1130, 1970]))
    assert calls == [(i, 40) for i in range(1, 41)]


def test_frames_and_path_agree_and_landmarks_are_causal(dribble):
    """Raw frames give what the file gives; the landmarks (VIDEO mode, the crop that follows the
    person) only look back in time where the person is found: the first 10 frames' raw joints do
    not depend on what comes after (only a frame where they were missed is filled from later ones).
    The smoothing looks both ways (filters.smooth_track), so it is left out of that check."""
    result, _ = dribble
    assert result.poses.fps == 12
    frames = np.stack(list(read_frames(DRIBBLE, max_frames=10)))
    poses = extract_poses(frames, fps=12)
    assert poses.fps == 12 and (poses.width, poses.height) == (1080, 1920)
    assert np.allclose(poses.keypoints, extract_poses(DRIBBLE, max_frames=10).keypoints, atol=1e-3)
    raw = extract_poses(frames, fps=12, smooth=False)
    longer = extract_poses(DRIBBLE, max_frames=20, smooth=False)
    assert np.allclose(raw.keypoints, longer.keypoints[:10], atol=1e-3)
    assert not np.allclose(poses.keypoints, result.poses.keypoints[:10], atol=1e-3)  # smoothing saw ahead


def test_downscaled_extraction_maps_back_to_full_size(small_dribble):
    full = extract_poses(small_dribble)
    small = extract_poses(small_dribble, max_side=240)  # frames decoded at 135x240
    assert (small.width, small.height) == (270, 480)
    shift = np.linalg.norm(small.xy - full.xy, axis=-1) / 480
    assert np.median(shift) < 0.01, np.median(shift)
    assert np.median(small.xy[..., 1]) > 200  # in full-size pixels, not the shrunk frame's


def test_rgba_photo():
    joints = extract_image_pose(WOMAN)
    assert joints.shape == (13, 3) and joints.dtype == np.float32
    assert (joints[:, 2] >= 0.9).all()
    h, w = load_image(WOMAN).shape[:2]
    assert np.all((joints[:, 0] > 0) & (joints[:, 0] < w) & (joints[:, 1] > 0) & (joints[:, 1] < h))
    # she faces the camera: her right side is on the image's left
    for right, left in ((1, 2), (3, 4), (5, 6), (7, 8), (9, 10), (11, 12)):
        assert joints[right, 0] < joints[left, 0]
    # the same from an RGBA array, a path and an RGB array
    rgba = np.asarray(Image.open(WOMAN).convert("RGBA"))
    assert np.allclose(extract_image_pose(rgba), joints, atol=1e-3)
    assert np.allclose(extract_image_pose(load_image(WOMAN)), joints, atol=1e-3)


# How each EXIF orientation (2-8) is shown: the stored pixels turned by this. The photo is stored
# turned the other way, so that shown, it is the original.
_SHOWN_BY = {2: Image.Transpose.FLIP_LEFT_RIGHT, 3: Image.Transpose.ROTATE_180, 4: Image.Transpose.FLIP_TOP_BOTTOM,
             5: Image.Transpose.TRANSPOSE, 6: Image.Transpose.ROTATE_270, 7: Image.Transpose.TRANSVERSE,
             8: Image.Transpose.ROTATE_90}
_STORED_BY = {2: Image.Transpose.FLIP_LEFT_RIGHT, 3: Image.Transpose.ROTATE_180, 4: Image.Transpose.FLIP_TOP_BOTTOM,
              5: Image.Transpose.TRANSPOSE, 6: Image.Transpose.ROTATE_90, 7: Image.Transpose.TRANSVERSE,
              8: Image.Transpose.ROTATE_270}


def _stored_turned(image: Image.Image, orientation: int, path: Path) -> Path:
    """`image` saved to `path` as a camera stores it: its pixels turned, with the EXIF orientation
    tag that turns them back to show it."""
    exif = Image.Exif()
    exif[0x0112] = orientation
    image.transpose(_STORED_BY[orientation]).save(path, exif=exif)
    return path


@pytest.mark.parametrize("orientation", range(2, 9))
def test_a_photo_is_read_as_it_is_shown_whatever_way_the_camera_stored_it(tmp_path, orientation):
    rng = np.random.default_rng(orientation)
    shown = rng.integers(0, 256, (6, 10, 3), dtype=np.uint8)
    stored = Image.fromarray(shown).transpose(_STORED_BY[orientation])
    assert np.array_equal(np.asarray(stored.transpose(_SHOWN_BY[orientation])), shown)  # the tables agree
    path = _stored_turned(Image.fromarray(shown), orientation, tmp_path / "photo.png")
    assert np.array_equal(load_image(path), shown)  # read raw: the stored, turned pixels


def test_a_phone_photo_stored_on_its_side_gives_the_upright_pose(tmp_path):
    """A phone held upright stores its landscape sensor's pixels and orientation 6: the pose is the
    upright photo's (read raw, MediaPipe saw her lying on her side)."""
    upright = extract_image_pose(WOMAN)
    phone = _stored_turned(Image.fromarray(load_image(WOMAN)), 6, tmp_path / "phone.png")
    assert np.allclose(extract_image_pose(phone), upright, atol=1e-3)


def test_an_iphone_heic_photo_gets_a_message_that_says_what_to_do(tmp_path):
    """Pillow reads no HEIC: the message names the file, says what it is and how to get a JPEG."""
    heic = tmp_path / "IMG_0001.HEIC"
    heic.write_bytes((24).to_bytes(4, "big") + b"ftypheic" + b"\0" * 4 + b"mif1heic" + b"\0" * 64)
    with pytest.raises(IlatError, match=r"IMG_0001\.HEIC: a HEIC/HEIF photo .* JPEG or PNG"):
        load_image(heic)
    other = tmp_path / "notes.jpg"
    other.write_bytes(b"not an image at all" * 4)
    with pytest.raises(IlatError, match="not a readable image"):
        load_image(other)


def test_image_with_two_people_largest_first():
    woman = load_image(WOMAN)
    canvas = np.full((922, 1400, 3), 255, np.uint8)
    canvas[:, :614] = woman
    canvas[400:861, 900:1207] = np.asarray(Image.fromarray(woman).resize((307, 461)))
    people = extract_image_poses(canvas, max_people=4)
    assert len(people) == 2
    # a video starting like this is searched for 2 people per frame; one with her alone for 1
    assert ex._people_at_start(find_pose_model(), canvas) == 2
    assert ex._people_at_start(find_pose_model(), woman) == 1
    assert people[0][:, 0].mean() < 614 < 900 < people[1][:, 0].mean()
    assert np.allclose(extract_image_pose(canvas), people[0])


# --- accuracy against human labels -------------------------------------------------------------

@pytest.mark.parametrize("refine, min_found", [(False, 4), (True, 7)])
def test_pck_against_coco_labels(refine, min_found):
    """PCK@0.2 over every labelled person (>= 10 of our 13 joints labelled) that the extractor
    finds. COCO's head is read by pose.formats (the nose when labelled). MediaPipe's detector on
    whole photos finds the main person of each (4 of 12); crop and refine with the tile search
    finds 8 (benchmarks/results/extract.md)."""
    people = [p for p in read_coco_people(COCO / "test_coco.json")
              if (p.joints[:, 2] > 0).sum() >= 10 and not p.iscrowd]
    assert len(people) == 12
    preds, truths, sides = [], [], []
    for name in sorted({p.file_name for p in people}):
        labelled = [p for p in people if p.file_name == name]
        found = list(extract_image_poses(COCO / name, max_people=6, refine=refine))
        truth = np.stack([p.joints for p in labelled])
        side = np.array([max(p.bbox[2], p.bbox[3]) for p in labelled])
        for t_index, p_index in match_people(found, truth, side):
            preds.append(found[p_index])
            truths.append(truth[t_index])
            sides.append(side[t_index])
    assert len(preds) >= min_found
    score = pck(np.stack(preds), np.stack(truths), np.array(sides))
    assert score >= 0.9, score


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 2**31), n=st.integers(1, 5))
def test_pck_and_matching_properties(seed, n):
    rng = np.random.default_rng(seed)
    truth = np.stack([person(rng.uniform(0, 2000), rng.uniform(0, 2000), rng.uniform(100, 300))
                      for _ in range(n)])
    truth[..., :2] += rng.normal(0, 3, truth[..., :2].shape)
    sides = np.ptp(truth[..., 1], axis=1)
    order = rng.permutation(n)
    pred = [truth[i].copy() for i in order]
    pairs = match_people(pred, truth, sides)
    assert sorted(pairs) == sorted((int(order[p]), p) for p in range(n))  # each to its own person
    assert pck(truth, truth, sides) == 1.0
    far = truth.copy()
    far[..., 0] += 0.21 * sides[:, None]
    assert pck(far, truth, sides) == 0.0
    near = truth.copy()
    near[..., 0] += 0.19 * sides[:, None]
    assert pck(near, truth, sides) == 1.0
    truth[0, 3:, 2] = 0  # unlabelled joints do not count, whatever the prediction
    wrong = truth.copy()
    wrong[0, 3:, :2] += 1e4
    assert pck(wrong, truth, sides) == 1.0


# --- bad input ----------------------------------------------------------------------------------

def gradient_video(path: Path, frames: int = 6) -> Path:
    yy, xx = np.mgrid[0:120, 0:160]
    with VideoWriter(path, fps=10) as writer:
        for i in range(frames):
            writer.write(np.stack([xx + i, yy, (xx + yy) // 2], -1).astype(np.uint8))
    return path


def test_video_with_no_person(tmp_path, caplog):
    path = gradient_video(tmp_path / "gradient.mp4")
    with pytest.raises(NoPersonError, match=r"gradient\.mp4: no person found in any of its 6 frames"):
        extract_poses(path)


def test_frames_without_person_are_reported_not_invented(caplog):
    woman = load_image(WOMAN)
    blank = np.full_like(woman, 255)
    frames = [woman, woman, blank, woman, woman] + [blank] * 6 + [woman, woman]
    with caplog.at_level(logging.WARNING, logger="ilat_video"):
        result = extract_poses_report(np.stack(frames), fps=10, max_gap=3)
    # frame 2 (one missing frame between two with her) is interpolated and reported;
    # frames 5-10 are too long a gap and stay empty
    assert list(result.interpolated_frames) == [2]
    assert list(result.no_person_frames) == [5, 6, 7, 8, 9, 10]
    assert not result.poses.has_person[5:11].any() and result.poses.has_person[[0, 1, 2, 3, 4, 11, 12]].all()
    assert (result.poses.confidence[2] <= 0.5).all()
    assert "no person in 6 of 13 frames: 5-10" in caplog.text
    none_filled = extract_poses_report(np.stack(frames), fps=10, max_gap=0)
    assert list(none_filled.no_person_frames) == [2, 5, 6, 7, 8, 9, 10]


def test_bad_video_inputs(tmp_path):
    with pytest.raises(VideoError, match=r"absent\.mp4: no such video file"):
        extract_poses(tmp_path / "absent.mp4")
    text = tmp_path / "notes.mp4"
    text.write_text("hello\n" * 100)
    with pytest.raises(VideoError, match=r"notes\.mp4: not a readable video"):
        extract_poses(text)
    data = DRIBBLE.read_bytes()  # its index (moov) is at the end: a cut file cannot be opened
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(data[: len(data) // 2])
    with pytest.raises(VideoError, match=r"cut\.mp4"):
        extract_poses(cut)
    with pytest.raises(VideoError, match=r"frame 1: size"):
        extract_poses([np.zeros((64, 64, 3), np.uint8), np.zeros((64, 32, 3), np.uint8)])
    with pytest.raises(VideoError, match="no frames"):
        extract_poses([])


def test_no_person_in_photo(tmp_path):
    blank = tmp_path / "wall.png"
    Image.fromarray(np.full((200, 150, 3), 180, np.uint8)).save(blank)
    with pytest.raises(NoPersonError, match=r"wall\.png: no person found"):
        extract_image_pose(blank)
    with pytest.raises(Exception, match=r"nothing\.png"):
        extract_image_pose(tmp_path / "nothing.png")


# --- the commands ---------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def small_dribble(tmp_path_factory) -> Path:
    """The example video at a quarter of its size, first 12 frames: the commands' tests stay fast."""
    path = tmp_path_factory.mktemp("video") / "dribble_small.mp4"
    with VideoWriter(path, fps=12, preset="ultrafast") as writer:
        from ilat_video.video import open_video

        with open_video(DRIBBLE) as video:
            for i, frame in enumerate(video.frames(size=(270, 480))):
                if i == 12:
                    break
                writer.write(frame)
    return path


def run_cli(*args):
    from click.testing import CliRunner

    from ilat_video.cli import main

    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)


def files_in(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def test_extract_poses_command(tmp_path, small_dribble):
    from ilat_video.pose.formats import load_poses
    from ilat_video.video import probe_video

    out, overlay = tmp_path / "poses.json", tmp_path / "overlay.mp4"
    result = run_cli("extract-poses", small_dribble, "-o", out, "--overlay", overlay)
    assert result.exit_code == 0, result.output
    assert "person in 12/12 frames" in result.output and "frames with no person: none" in result.output
    seq = load_poses(out)
    assert (len(seq), seq.width, seq.height, seq.fps) == (12, 270, 480, 12.0)
    assert seq.has_person.all()
    info = probe_video(overlay)
    assert (info["width"], info["height"], info["fps"]) == (270, 480, 12.0)
    assert files_in(tmp_path) == ["overlay.mp4", "poses.json"]
    # --no-smooth gives the raw landmarks: different, but not far off
    raw = tmp_path / "raw.json"
    assert run_cli("extract-poses", small_dribble, "-o", raw, "--no-smooth").exit_code == 0
    shift = np.linalg.norm(load_poses(raw).xy - seq.xy, axis=-1)
    assert 0 < shift.max() and np.median(shift) < 0.02 * 480


def test_render_poses_command(tmp_path, small_dribble):
    from ilat_video.pose.formats import load_poses
    from ilat_video.video import probe_video

    poses = tmp_path / "poses.json"
    assert run_cli("extract-poses", small_dribble, "-o", poses).exit_code == 0
    result = run_cli("render-poses", poses, "-o", tmp_path / "skeleton.mp4")
    assert result.exit_code == 0, result.output
    frames = list(read_frames(tmp_path / "skeleton.mp4"))
    assert len(frames) == 12 and frames[0].shape == (480, 270, 3)
    # a skeleton on black: some bright pixels, mostly black, and where the poses say
    seq = load_poses(poses)
    ys, xs = np.nonzero(frames[0].max(axis=2) > 100)
    assert 0 < len(xs) < 0.2 * 480 * 270
    x0, y0, x1, y1 = seq.bbox(0)
    assert x0 - 20 <= np.median(xs) <= x1 + 20 and y0 - 20 <= np.median(ys) <= y1 + 20
    result = run_cli("render-poses", poses, "-o", tmp_path / "over.mp4", "--background", small_dribble)
    assert result.exit_code == 0, result.output
    assert probe_video(tmp_path / "over.mp4")["num_frames"] == 12


def test_commands_bad_input_exit_2_and_write_nothing(tmp_path):
    out, overlay = tmp_path / "out" / "poses.json", tmp_path / "out" / "overlay.mp4"
    out.parent.mkdir()
    gradient = gradient_video(tmp_path / "gradient.mp4")
    text = tmp_path / "text.mp4"
    text.write_text("not a video\n" * 50)
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(DRIBBLE.read_bytes()[:100_000])
    cases = [
        (tmp_path / "missing.mp4", "missing.mp4: no such video file"),
        (text, "text.mp4: not a readable video"),
        (cut, "cut.mp4"),
        (gradient, "gradient.mp4: no person found"),
    ]
    for video, message in cases:
        result = run_cli("extract-poses", video, "-o", out, "--overlay", overlay)
        assert result.exit_code == 2, (video, result.output)
        assert message in " ".join(result.output.split()), result.output
        assert files_in(out.parent) == []
    bad = tmp_path / "bad.json"
    bad.write_text('{"format": "ilat-poses", "version": 99}')
    result = run_cli("render-poses", bad, "-o", tmp_path / "out" / "skeleton.mp4")
    assert result.exit_code == 2 and "bad.json" in result.output
    result = run_cli("render-poses", tmp_path / "none.json", "-o", tmp_path / "out" / "skeleton.mp4")
    assert result.exit_code == 2 and "none.json" in result.output
    assert files_in(out.parent) == []
    # the output may not overwrite the input
    result = run_cli("extract-poses", gradient, "-o", gradient)
    assert result.exit_code == 2 and gradient.stat().st_size > 0


def test_rotated_phone_video_gives_upright_poses(tmp_path, small_dribble):
    """A portrait clip stored landscape with a 'rotate 90' tag: poses in the upright picture."""
    import av

    upright = list(read_frames(small_dribble))
    path = tmp_path / "phone.mp4"
    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=12)
        stream.width, stream.height, stream.pix_fmt = 480, 270, "yuv420p"
        stream.set_display_rotation(-90)  # shown turned 90 degrees clockwise
        for frame in upright:
            coded = np.ascontiguousarray(np.rot90(frame, 1))  # what the phone stored
            for packet in stream.encode(av.VideoFrame.from_ndarray(coded, format="rgb24")):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    rotated = extract_poses(path)
    straight = extract_poses(small_dribble)
    assert (rotated.width, rotated.height) == (270, 480)
    shift = np.linalg.norm(rotated.xy - straight.xy, axis=-1)
    assert np.median(shift) < 4.0, np.median(shift)


def test_truncated_video_is_extracted_as_far_as_it_decodes(tmp_path, small_dribble, caplog):
    """Our writer puts the index first (faststart), so a cut copy opens and breaks mid-decode; the
    reader decodes what decodes and warns once that the file looks truncated (ilat_video.video)."""
    data = small_dribble.read_bytes()
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(data[: len(data) * 2 // 3])
    with caplog.at_level(logging.WARNING, logger="ilat_video"):
        poses = extract_poses(cut)
    assert "cut.mp4" in caplog.text and "truncated" in caplog.text
    assert poses.has_person.any()


def test_landmarks_found_afterwards_fill_only_the_empty_frames():
    """extract_video._follow: (frame index, landmarks) that the follower recovers later (followed
    back from where the person was found again) fill the frames still without a person, mapped
    to the source's pixels like the rest, and never replace a frame's own landmarks."""
    from ilat_video.pose.extract_video import _follow, _SourceInfo

    info = _SourceInfo("<frames>", 10.0, 6, 200, 100, scale=0.5)
    own = {2: 2.0, 3: 3.0, 5: 5.0}  # frames where the step itself finds someone
    late = {2: [(0, 10.0), (1, 11.0)], 5: [(4, 14.0), (3, 13.0)]}  # recovered after these steps
    queue: list = []

    def step(frame, timestamp):
        index = int(frame[0, 0, 0])
        queue.extend((i, np.full((33, 3), v, np.float32)) for i, v in late.get(index, []))
        return np.full((33, 3), own[index], np.float32) if index in own else None

    def recovered():
        found = list(queue)
        queue.clear()
        return found

    frames = [np.full((4, 4, 3), i, np.uint8) for i in range(6)]
    rows = _follow(frames, info, step, None, recovered)
    xs = [None if row is None else float(row[0, 0]) for row in rows]
    assert xs == [20.0, 22.0, 4.0, 6.0, 28.0, 10.0]  # frame 3 kept its own; x, y / 0.5
    assert all(row is None or row[0, 2] in (2.0, 3.0, 5.0, 10.0, 11.0, 14.0) for row in rows)
