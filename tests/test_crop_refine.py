"""Crop and refine (pose/refine.py), choosing the person (pose/tracking.PersonChoice) and the
extract-poses options that go with them, on real photos composed into test pictures."""
from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from PIL import Image

from ilat_video.errors import IlatError, NoPersonError
from ilat_video.fileio import load_image
from ilat_video.pose.extract import (CropBox, PersonChoice, extract_image_person, extract_image_pose,
                                     extract_image_poses, extract_poses, extract_poses_report)
from ilat_video.pose.refine import search_tiles, tiles
from ilat_video.pose.skeleton import JOINT_INDEX
from ilat_video.video import VideoWriter

REAL = Path(__file__).parent / "data" / "real"
WATERFRONT = REAL / "arms_up_waterfront.png"  # 347x384, a woman with both arms raised
HOODIE = REAL / "standing_hoodie_black_bg.png"  # 512x512, a man on black


def _resized(image: np.ndarray, height: int) -> np.ndarray:
    width = round(image.shape[1] * height / image.shape[0])
    return np.asarray(Image.fromarray(image).resize((width, height), Image.LANCZOS))


def _canvas(height: int = 480, width: int = 854) -> np.ndarray:
    """A grey left-to-right gradient (not flat, not a person)."""
    ramp = np.linspace(90, 170, width).astype(np.uint8)
    return np.repeat(np.repeat(ramp[None, :, None], height, 0), 3, 2)


# --- the crop transform ---------------------------------------------------------------------------

boxes = st.builds(lambda x0, y0, side, size: CropBox(x0, y0, side, size),
                  st.integers(-300, 900), st.integers(-300, 900), st.integers(8, 1200), st.sampled_from([64, 256, 333]))


@settings(max_examples=60, deadline=None)
@given(box=boxes, seed=st.integers(0, 2**31))
def test_crop_mapping_round_trips(box, seed):
    """to_frame inverts to_crop (and back), confidence columns untouched, for any box."""
    rng = np.random.default_rng(seed)
    points = np.concatenate([rng.uniform(-500, 1500, (33, 2)), rng.uniform(0, 1, (33, 1))], 1).astype(np.float32)
    there = box.to_crop(points)
    assert np.allclose(box.to_frame(there), points, atol=1e-3 * max(1.0, box.side / box.size))
    assert np.array_equal(there[:, 2], points[:, 2])
    assert np.allclose(box.to_crop(box.to_frame(there)), there, atol=1e-2)
    # the box's corners are the crop's corners
    corners = np.array([[box.x0, box.y0], [box.x0 + box.side, box.y0 + box.side]], np.float32)
    assert np.allclose(box.to_crop(corners), [[0, 0], [box.size, box.size]], atol=1e-3)


@settings(max_examples=40, deadline=None)
@given(x=st.floats(20, 620), y=st.floats(20, 460), side=st.integers(40, 900), dx=st.floats(-0.45, 0.45),
       dy=st.floats(-0.45, 0.45), size=st.sampled_from([128, 256]))
def test_cut_puts_frame_pixels_where_to_crop_says(x, y, side, dx, dy, size):
    """A bright disc in the frame lands in the crop where to_crop maps its centre (within a crop
    pixel), whether the crop shrinks or enlarges and wherever the box leaves the frame."""
    frame = np.zeros((480, 640, 3), np.uint8)
    yy, xx = np.mgrid[0:480, 0:640] + 0.5  # pixel centres in continuous coordinates
    radius = max(3.0, side / 40)
    frame[(xx - x) ** 2 + (yy - y) ** 2 <= radius ** 2] = 255
    box = CropBox(int(round(x - side / 2 + dx * side)), int(round(y - side / 2 + dy * side)), side, size)
    # the disc whole inside the box: one the crop's own edge cuts has its centroid pulled inwards
    assume(box.x0 + radius + 1 <= x <= box.x0 + side - radius - 1)
    assume(box.y0 + radius + 1 <= y <= box.y0 + side - radius - 1)
    crop = box.cut(frame).astype(float)[..., 0]
    assert crop.shape == (size, size)
    cy, cx = np.mgrid[0:size, 0:size] + 0.5
    weight = crop.sum()
    centre = np.array([(cx * crop).sum() / weight, (cy * crop).sum() / weight])
    assert np.allclose(centre, box.to_crop(np.array([[x, y]]))[0], atol=1.0), (centre, box)
    # and back: the crop's disc centre maps to the frame's
    assert np.allclose(box.to_frame(centre[None])[0], [x, y], atol=1.0 / box.scale + 0.5)


@settings(max_examples=30, deadline=None)
@given(box=st.builds(lambda x0, y0, side: CropBox(x0, y0, side, 128), st.integers(-50, 300),
                     st.integers(-50, 200), st.integers(30, 400)))
def test_mask_goes_back_where_the_crop_came_from(box):
    """A frame mask cut into the crop and put back gives the frame mask inside the box, 0 outside."""
    truth = np.zeros((240, 320), np.float32)
    truth[60:180, 100:220] = 1.0
    crop = box.cut(np.repeat(truth[..., None] * 255, 3, 2).astype(np.uint8))[..., 0] / 255.0
    back = box.mask_to_frame(crop, 320, 240)
    assert back.shape == (240, 320)
    inside = np.zeros_like(truth, bool)
    inside[max(0, box.y0):max(0, box.y0 + box.side), max(0, box.x0):max(0, box.x0 + box.side)] = True
    # the box and one crop pixel around it (bilinear weights reach that far past its edge)
    pad = int(np.ceil(1 / box.scale)) + 1
    near = np.zeros_like(truth, bool)
    near[max(0, box.y0 - pad):max(0, box.y0 + box.side + pad),
         max(0, box.x0 - pad):max(0, box.x0 + box.side + pad)] = True
    assert (back[~near] == 0).all()
    # away from edges (resampling blurs them by a pixel of the coarser grid) the mask is the same
    blur = int(np.ceil(2 / min(1.0, box.scale))) + 1
    core = inside.copy()
    core[:box.y0 + blur if box.y0 + blur > 0 else 0] = False
    core[max(0, box.y0 + box.side - blur):] = False
    core[:, :max(0, box.x0 + blur)] = False
    core[:, max(0, box.x0 + box.side - blur):] = False
    edges = np.zeros_like(truth, bool)
    edges[60 - blur:60 + blur] = edges[180 - blur:180 + blur] = True
    edges[:, 100 - blur:100 + blur] = edges[:, 220 - blur:220 + blur] = True
    check = core & ~edges
    if check.any():
        assert np.abs(back[check] - truth[check]).max() < 0.05


def test_tiles_cover_the_frame():
    for width, height in ((340, 256), (1920, 1080), (256, 340), (200, 200)):
        covered = np.zeros((height, width), bool)
        for box in tiles(width, height, (0.6,)):
            covered[max(0, box.y0):box.y0 + box.side, max(0, box.x0):box.x0 + box.side] = True
            assert box.side == round(0.6 * min(width, height))
        assert covered.all(), (width, height)


# --- crop and refine on real people -------------------------------------------------------------------

@pytest.fixture(scope="module")
def small_person():
    """The waterfront woman shrunk to 120 px tall in an 854x480 frame: MediaPipe's detector
    finds nobody in the whole frame. Returns (frame, her box x0, y0, x1, y1)."""
    woman = _resized(load_image(WATERFRONT), 120)
    frame = _canvas()
    frame[300:420, 600:600 + woman.shape[1]] = woman
    return frame, (600, 300, 600 + woman.shape[1], 420)


def _upright_inside(joints: np.ndarray, box, slack: float = 8) -> bool:
    """Asserts the joints lie in the box, head above hips above ankles; returns whether both
    wrists are above the shoulders (her arms are raised)."""
    x0, y0, x1, y1 = box
    assert np.all((joints[:, 0] > x0 - slack) & (joints[:, 0] < x1 + slack)), joints[:, 0]
    assert np.all((joints[:, 1] > y0 - slack) & (joints[:, 1] < y1 + slack)), joints[:, 1]
    y = joints[:, 1]
    head, hips, ankles = y[JOINT_INDEX["head"]], y[[7, 8]].mean(), y[[11, 12]].mean()
    assert head < hips < ankles
    return bool(y[[5, 6]].max() < y[[1, 2]].min())


@pytest.mark.slow
def test_crop_and_refine_finds_a_small_person_the_whole_frame_misses(small_person):
    frame, box = small_person
    assert len(extract_image_poses(frame, refine=False)) == 0  # MediaPipe alone: nobody
    people = extract_image_poses(frame)
    assert len(people) == 1
    assert _upright_inside(people[0], box)
    person = extract_image_person(frame)
    assert np.allclose(person.pose, people[0], atol=1e-3)
    # the mask is hers, put back at the frame's size
    assert person.mask.shape == frame.shape[:2]
    x0, y0, x1, y1 = box
    inside = person.bool_mask[y0:y1, x0:x1].sum()
    assert inside > 0.12 * (x1 - x0) * (y1 - y0) and inside > 0.9 * person.bool_mask.sum()


@pytest.mark.slow
def test_video_follows_a_small_person_the_whole_frame_misses(small_person):
    """A clip of the small person walking right: the crop follows her; whole frames find nobody."""
    frame, box = small_person
    woman = frame[box[1]:box[3], box[0]:box[2]]
    frames = []
    for t in range(10):
        shifted = _canvas()
        x = 200 + 25 * t
        shifted[300:420, x:x + woman.shape[1]] = woman
        frames.append(shifted)
    with pytest.raises(NoPersonError):
        extract_poses(np.stack(frames), fps=10, refine=False)
    result = extract_poses_report(np.stack(frames), fps=10, smooth=False, max_gap=0)
    assert result.poses.has_person.sum() >= 9
    arms_up = [_upright_inside(result.poses.keypoints[t], (200 + 25 * t, 300, 200 + 25 * t + woman.shape[1], 420),
                               slack=10) for t in np.flatnonzero(result.poses.has_person)]
    assert np.mean(arms_up) >= 0.8, arms_up


# --- choosing the person ------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def two_people():
    """The hoodie man (left, 300 px tall) and the waterfront woman (right, 400 px tall), side by
    side; returns (picture, left box, right box)."""
    man = _resized(load_image(HOODIE)[20:500, 130:380], 300)
    woman = _resized(load_image(WATERFRONT), 400)
    picture = _canvas(460, 900)
    picture[140:440, 60:60 + man.shape[1]] = man
    picture[40:440, 480:480 + woman.shape[1]] = woman
    return picture, (60, 140, 60 + man.shape[1], 440), (480, 40, 480 + woman.shape[1], 440)


def _centre_in(joints, box) -> bool:
    x, y = joints[:, :2].mean(axis=0)
    return box[0] <= x <= box[2] and box[1] <= y <= box[3]


@pytest.mark.parametrize("who, side", [(None, "right"), ("largest", "right"), ("left", "left"), ("right", "right"),
                                       ("1", "left"), ("2", "right"), ("150,300", "left"), ("600,100", "right")])
def test_person_choice_picks_the_right_one_of_two(two_people, who, side, caplog):
    picture, left, right = two_people
    with caplog.at_level(logging.WARNING, logger="ilat_video"):
        pose = extract_image_pose(picture, person=who)
    assert _centre_in(pose, left if side == "left" else right)
    # the notice names which of the two was taken
    expected = "1st from the left" if side == "left" else "2nd from the left"
    assert "2 people in view" in caplog.text and expected in caplog.text
    if who in ("left", "right"):  # the mask follows the same choice
        person = extract_image_person(picture, person=who)
        assert _centre_in(person.pose, left if side == "left" else right)
        box = left if side == "left" else right
        assert person.bool_mask[box[1]:box[3], box[0]:box[2]].sum() > 0.8 * person.bool_mask.sum()


def test_person_choice_errors(two_people):
    picture, _, _ = two_people
    with pytest.raises(NoPersonError, match=r"<image>: person 3 asks for the 3rd person from the left, but 2 people"):
        extract_image_pose(picture, person="3")
    with pytest.raises(IlatError, match=r"<image>: person 2000,10: the point lies outside the 900x460 picture"):
        extract_image_person(picture, person="2000,10")
    for bad in ("0", "middle", "1,2,3", "-4,5", "x,y", ""):
        with pytest.raises(ValueError, match="expected largest|left|right|N|X,Y|counting starts at 1"):
            PersonChoice.parse(bad)


@settings(max_examples=40, deadline=None)
@given(n=st.integers(1, 6), seed=st.integers(0, 2**31))
def test_person_choice_rules(n, seed):
    """left/right/N follow the order of the centres; a point inside someone's box takes them."""
    rng = np.random.default_rng(seed)
    xs = rng.permutation(n) * 200.0 + 100
    people = []
    for i, cx in enumerate(xs):
        pose = np.ones((13, 3), np.float32)
        pose[:, 0] = cx + rng.uniform(-40, 40, 13)
        pose[:, 1] = 100 + rng.uniform(0, 150 + 10 * i, 13)
        people.append(pose)
    order = np.argsort([p[:, 0].mean() for p in people])
    assert PersonChoice.parse("left").pick(people, "x") == order[0]
    assert PersonChoice.parse("right").pick(people, "x") == order[-1]
    k = int(rng.integers(1, n + 1))
    assert PersonChoice.parse(str(k)).pick(people, "x") == order[k - 1]
    target = int(rng.integers(n))
    inside = people[target][:, :2].mean(axis=0)
    assert PersonChoice.parse(f"{inside[0]},{inside[1]}").pick(people, "x") == target
    sizes = [np.hypot(*np.ptp(p[:, :2], axis=0)) for p in people]
    assert PersonChoice.parse("largest").pick(people, "x") == int(np.argmax(sizes))
    assert str(PersonChoice.parse(str(PersonChoice.parse(f"{inside[0]},{inside[1]}")))) == \
        str(PersonChoice.parse(f"{inside[0]},{inside[1]}"))


@pytest.mark.slow
def test_video_follows_the_chosen_person(two_people, caplog):
    """--person left follows the smaller man through a clip; the default the larger woman."""
    picture, left, right = two_people
    frames = np.stack([np.roll(picture, 4 * t, axis=1) for t in range(6)])
    with caplog.at_level(logging.WARNING, logger="ilat_video"):
        chosen = extract_poses(frames, fps=10, person="left", smooth=False)
    assert "2 people in view" in caplog.text and "1st from the left" in caplog.text
    default = extract_poses(frames, fps=10, smooth=False)
    assert chosen.has_person.all() and default.has_person.all()
    for t in range(6):
        shift = 4 * t
        assert _centre_in(chosen.keypoints[t], (left[0] + shift, left[1], left[2] + shift, left[3]))
        assert _centre_in(default.keypoints[t], (right[0] + shift, right[1], right[2] + shift, right[3]))


# --- the command's options -------------------------------------------------------------------------------

def run_cli(*args):
    from click.testing import CliRunner

    from ilat_video.cli import main

    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)


@pytest.fixture(scope="module")
def two_people_video(tmp_path_factory, two_people) -> Path:
    picture = two_people[0]
    path = tmp_path_factory.mktemp("video") / "two.mp4"
    with VideoWriter(path, fps=10, preset="ultrafast") as writer:
        for t in range(9):
            writer.write(np.roll(picture, 2 * t, axis=1))
    return path


def test_extract_poses_max_frames_stride_and_person(tmp_path, two_people_video, two_people):
    from ilat_video.pose.formats import load_poses

    _, left, _ = two_people
    out = tmp_path / "left.json"
    result = run_cli("extract-poses", two_people_video, "-o", out, "--person", "left", "--max-frames", "4",
                     "--stride", "2", "--overlay", tmp_path / "left.mp4")
    assert result.exit_code == 0, result.output
    poses = load_poses(out)
    assert (len(poses), poses.fps) == (4, 5.0)  # frames 0, 2, 4, 6 of 9 at 10 fps
    for i, t in enumerate((0, 2, 4, 6)):
        assert _centre_in(poses.keypoints[i], (left[0] + 2 * t, left[1], left[2] + 2 * t, left[3]))
    from ilat_video.video import probe_video

    assert probe_video(tmp_path / "left.mp4")["num_frames"] == 4


def test_extract_poses_bad_options_exit_2_and_write_nothing(tmp_path, two_people_video):
    out = tmp_path / "out"
    out.mkdir()
    for args, message in [
        (["--person", "middle"], "expected largest|left|right|N|X,Y"),
        (["--person", "0"], "counting starts at 1"),
        (["--person", "3"], "two.mp4: frame 0: person 3 asks for the 3rd person from the left, but 2 people"),
        (["--person", "5000,20"], "two.mp4: person 5000,20: the point lies outside the 900x460 picture"),
        (["--stride", "0"], "--stride"),
        (["--max-frames", "0"], "--max-frames"),
    ]:
        result = run_cli("extract-poses", two_people_video, "-o", out / "p.json", "--overlay", out / "o.mp4", *args)
        assert result.exit_code == 2, (args, result.output)
        assert message in " ".join(result.output.split()), (args, result.output)
        assert list(out.iterdir()) == []


def test_tile_search_returns_where_each_was_found(small_person):
    from ilat_video.pose.landmarker import Landmarker, find_pose_model

    frame, box = small_person
    with Landmarker(find_pose_model(), video=False, num_poses=2) as landmarker:
        found = search_tiles(landmarker, frame)
    assert len(found) == 1
    landmarks, mask, tile = found[0]
    assert mask is None and landmarks.shape == (33, 3)
    centre = landmarks[:, :2].mean(axis=0)
    assert tile.x0 <= centre[0] <= tile.x0 + tile.side and tile.y0 <= centre[1] <= tile.y0 + tile.side


def test_animate_person_options_are_checked_first(tmp_path, two_people_video):
    for option in ("--ref-person", "--drive-person"):
        result = run_cli("animate", WATERFRONT, two_people_video, "-o", tmp_path / "out.mp4", option, "middle")
        assert result.exit_code == 2, result.output
        assert option in result.output and "expected largest|left|right|N|X,Y" in " ".join(result.output.split())
    assert list(tmp_path.iterdir()) == []


def test_video_poses_carry_hand_and_foot_points(two_people):
    """extract_poses fills PoseSequence.extras in every frame: the hand points near the wrists and
    the foot points near the ankles of the person followed."""
    from ilat_video.pose.mapping import EXTRA_NAMES
    from ilat_video.pose.skeleton import L_ANKLE, L_WRIST, R_ANKLE, R_WRIST

    picture = two_people[0]
    frames = np.stack([np.roll(picture, 3 * t, axis=1) for t in range(4)])
    poses = extract_poses(frames, fps=10, smooth=False)
    assert poses.extras is not None and poses.extras.shape == (4, len(EXTRA_NAMES), 3)
    torso = np.linalg.norm(poses.xy[:, [1, 2]].mean(1) - poses.xy[:, [7, 8]].mean(1), axis=-1)
    for i, name in enumerate(EXTRA_NAMES):
        joint = {"right": {"hand": R_WRIST, "foot": R_ANKLE}, "left": {"hand": L_WRIST, "foot": L_ANKLE}}[
            name.split("_")[0]]["foot" if name.endswith(("heel", "toe")) else "hand"]
        gap = np.linalg.norm(poses.extras[:, i, :2] - poses.xy[:, joint], axis=-1)
        assert (gap < 0.45 * torso).all(), (name, gap, torso)
    assert (poses.extras[..., 2] > 0).all()


def test_animator_takes_the_chosen_people(two_people_video, two_people):
    """animate's --ref-person / --drive-person reach the extraction (Animator.load_reference /
    load_driving only use the pose model, so no iLAT model is loaded here)."""
    from types import SimpleNamespace

    from ilat_video.pipeline import Animator

    picture, left, right = two_people
    no_model = SimpleNamespace(pose_model=None)
    reference = Animator.load_reference(no_model, picture, person="left")
    assert _centre_in(reference.pose, left) and reference.mask[left[1]:left[3], left[0]:left[2]].mean() > 0.1
    assert _centre_in(Animator.load_reference(no_model, picture).pose, right)  # the largest
    driving = Animator.load_driving(no_model, two_people_video, max_frames=3, stride=2, person="left")
    assert len(driving) == 3 and driving.fps == 5.0
    for i in range(3):
        shift = 2 * (2 * i)  # frame 2i of a clip moving 2 px a frame
        assert _centre_in(driving.keypoints[i], (left[0] + shift, left[1], left[2] + shift, left[3]))


def test_one_person_is_not_reported_as_several(caplog):
    """The Quick start's photo shows one woman: no tile's find of her shoes or a part of her may
    count as a second person, whether everyone is searched for or the largest is taken."""
    from pathlib import Path

    from ilat_video.pose.extract import extract_image_person, extract_image_poses

    photo = Path(__file__).resolve().parents[1] / "examples" / "photo.jpg"
    assert len(extract_image_poses(photo)) == 1
    with caplog.at_level(logging.WARNING):
        extract_image_person(photo)
    assert "people in view" not in caplog.text


# --- video: large people on whole frames, small people from the first frame ------------------------

def _synthetic_clip(index: int, fraction: float, frames: int = 24, width: int = 1280, height: int = 720):
    """(frames (T, H, W, 3), exact joints (T, 13, 3)) of synthetic test clip `index` (as
    benchmarks/bench_extract.py makes them): the person about `fraction` of the frame's height at a
    seeded random place on their own background."""
    from ilat_video.data import synth

    rng = np.random.default_rng(1000 + index)
    clip = synth.file_video(7, "test", index, 256, frames)
    scale = fraction * height / float(np.median(clip.bboxes[:, 3] - clip.bboxes[:, 1]))
    size = int(round(256 * scale))
    background = np.asarray(Image.fromarray(clip.background).resize((width, height), Image.BILINEAR))
    x0 = int(rng.integers(0, max(1, width - size)))
    y0 = int(rng.integers(0, max(1, height - size))) if size < height else (height - size) // 2
    fx0, fy0, fx1, fy1 = max(0, x0), max(0, y0), min(width, x0 + size), min(height, y0 + size)
    region = (slice(fy0 - y0, fy1 - y0), slice(fx0 - x0, fx1 - x0))
    out, joints = [], []
    for t in range(frames):
        layers = clip.render_layers(t, supersample=2)
        big = np.asarray(Image.fromarray(layers.frame).resize((size, size), Image.BILINEAR))
        alpha = np.asarray(Image.fromarray(layers.mask.astype(np.uint8) * 255).resize((size, size), Image.BILINEAR))
        alpha = alpha[region][..., None] / 255.0
        frame = background.copy()
        frame[fy0:fy1, fx0:fx1] = (alpha * big[region] + (1 - alpha) * frame[fy0:fy1, fx0:fx1]).astype(np.uint8)
        out.append(frame)
        pose = clip.poses[t].copy()
        pose[:, :2] = (pose[:, :2] + 0.5) * scale + [x0, y0]
        joints.append(pose)
    return np.stack(out), np.stack(joints)


def _errors(poses, truth) -> np.ndarray:
    """Joint errors (T, 13) as a share of the larger side of the true joints' box; nan where nobody."""
    side = np.ptp(truth[..., :2], axis=1).max(axis=1)
    errors = np.linalg.norm(poses.keypoints[..., :2] - truth[..., :2], axis=-1) / side[:, None]
    errors[~poses.has_person] = np.nan
    return errors


@pytest.mark.slow
def test_refine_is_no_worse_than_whole_frames_on_a_large_person():
    """A person 0.8 of a 1280x720 frame's height who squats (synthetic clip 2): a crop that
    follows them lagged behind the squat (median joint error 0.030 of their size against 0.018 on
    whole frames, knees and ankles off by 0.1-0.2 of it); the refined poses must be as close to the
    truth as the whole frame's, in every frame."""
    video, truth = _synthetic_clip(2, 0.8)
    refined = _errors(extract_poses(video, fps=24, smooth=False, max_gap=0), truth)
    whole = _errors(extract_poses(video, fps=24, smooth=False, max_gap=0, refine=False), truth)
    assert np.isfinite(refined).all() and np.isfinite(whole).all()
    assert np.median(refined) <= np.median(whole) + 0.002, (np.median(refined), np.median(whole))
    assert (np.median(refined, axis=1) <= np.median(whole, axis=1) + 0.01).all()
    assert np.mean(refined < 0.2) >= np.mean(whole < 0.2)


@pytest.mark.slow
def test_small_person_is_found_from_the_first_frame(monkeypatch):
    """A person a fifth of a 1280x720 frame's height (synthetic clip 0): the search first finds
    them in frame 15; followed back from there, every frame has them, placed as well as later
    ones. Without following back, the frames before the first find stay empty."""
    from ilat_video.pose import extract_video

    video, truth = _synthetic_clip(0, 0.25)
    poses = extract_poses(video, fps=24, smooth=False, max_gap=0)
    assert poses.has_person.all(), np.flatnonzero(~poses.has_person)
    errors = _errors(poses, truth)
    assert np.median(errors[:5]) < 0.06 and np.mean(errors < 0.2) > 0.95, np.median(errors, axis=1)
    monkeypatch.setattr(extract_video, "BACKFILL_SECONDS", 0.0)
    alone = extract_poses(video, fps=24, smooth=False, max_gap=0)
    assert not alone.has_person[0]  # the clip is a hard start: the search alone misses it
    assert np.allclose(alone.keypoints[alone.has_person], poses.keypoints[alone.has_person], atol=1e-3)
