"""Penn Action and own-video datasets, and the pair logic they share (ilat_video.data)."""
from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
import scipy.io
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image, ImageDraw

from ilat_video.data import synth
from ilat_video.crop import CropBox, crop_frame, crop_pose, square_crop_box, tensor_to_image
from ilat_video.data.pairs import sample_pair_indices
from ilat_video.data.penn_action import PennActionPairs, find_videos, read_labels
from ilat_video.errors import DatasetError

DATA = Path(__file__).parent / "data"
PENN_IDS = ("0004", "1037", "1660")  # train, train, test


# --- shared crop logic ------------------------------------------------------------------------
@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 2**31 - 1), size=st.sampled_from([32, 48, 64]))
def test_crop_maps_a_point_where_the_pixels_go(seed, size):
    # A smooth blob centred at a sub-pixel point; after the crop its centroid must be at the
    # point mapped by crop_pose, wherever the box is (also partly outside the frame).
    rng = np.random.default_rng(seed)
    height, width = (int(v) for v in rng.integers(40, 200, 2))
    side = rng.uniform(20, 1.5 * max(height, width))
    sigma = 2.5 * side / size  # about 2.5 output pixels
    if 8 * sigma >= min(height, width) - 2:
        return  # the blob would not fit in the frame
    px = rng.uniform(4 * sigma, width - 1 - 4 * sigma)
    py = rng.uniform(4 * sigma, height - 1 - 4 * sigma)
    box = CropBox(px - rng.uniform(0.25, 0.75) * side, py - rng.uniform(0.25, 0.75) * side, side)
    yy, xx = np.mgrid[0:height, 0:width]
    blob = np.exp(-((xx - px) ** 2 + (yy - py) ** 2) / (2 * sigma**2))
    frame = np.repeat((blob * 255).round().astype(np.uint8)[..., None], 3, axis=2)
    out = crop_frame(frame, box, size).astype(np.float64)[..., 0]
    qx, qy, _ = crop_pose(np.array([[px, py, 1.0]]), box, size)[0]
    if min(qx, qy, size - 1 - qx, size - 1 - qy) <= 10:
        return  # the blob is not whole in the crop
    oy, ox = np.mgrid[0:size, 0:size]
    weight = out * (((ox - qx) ** 2 + (oy - qy) ** 2) < 10**2)
    cx, cy = (weight * ox).sum() / weight.sum(), (weight * oy).sum() / weight.sum()
    assert abs(cx - qx) < 0.25 and abs(cy - qy) < 0.25


def test_crop_pads_outside_the_frame_with_grey():
    frame = np.zeros((10, 10, 3), np.uint8)
    out = crop_frame(frame, CropBox(-10, -10, 30), 30)
    assert (out[:8, :8] == 128).all() and (out[12:18, 12:18] == 0).all()


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**31 - 1))
def test_square_crop_contains_the_person(seed):
    rng = np.random.default_rng(seed)
    width, height = rng.integers(50, 500, 2)
    x0, y0 = rng.uniform(0, width - 10), rng.uniform(0, height - 10)
    x1, y1 = rng.uniform(x0 + 5, width - 1), rng.uniform(y0 + 5, height - 1)
    box = square_crop_box((x0, y0, x1, y1), width, height, margin=0.1)
    assert box.x0 <= x0 and box.y0 <= y0 and box.x0 + box.side >= x1 + 1 and box.y0 + box.side >= y1 + 1
    assert box.side == pytest.approx(max(x1 - x0, y1 - y0, 1.0) * 1.2)


def test_pair_indices():
    rng = np.random.default_rng(0)
    for _ in range(50):
        i, j = sample_pair_indices(rng, 10, min_gap=3)
        assert 0 <= i < 10 and 0 <= j < 10 and abs(i - j) >= 3
    usable = np.zeros(10, bool)
    usable[[2, 7]] = True
    assert set(sample_pair_indices(rng, 10, usable=usable)) == {2, 7}
    usable[7] = False
    assert sample_pair_indices(rng, 10, usable=usable) == (2, 2)


# --- Penn Action ----------------------------------------------------------------------------
def draw_markers(poses: np.ndarray, width: int, height: int, radius: float) -> list[np.ndarray]:
    """Black frames with a white disc at every joint that has a confidence."""
    frames = []
    for pose in poses:
        image = Image.new("RGB", (width, height))
        draw = ImageDraw.Draw(image)
        for x, y, c in pose:
            if c > 0:
                draw.ellipse((x - radius, y - radius, x + radius, y + radius), fill=(255, 255, 255))
        frames.append(np.asarray(image))
    return frames


def write_penn_video(root: Path, video_id: str, labels_file: Path, *, radius: float = 7.0) -> None:
    info = read_labels(labels_file)
    (root / "labels").mkdir(parents=True, exist_ok=True)
    shutil.copy(labels_file, root / "labels" / f"{video_id}.mat")
    folder = root / "frames" / video_id
    folder.mkdir(parents=True)
    for k, frame in enumerate(draw_markers(info["poses"], info["width"], info["height"], radius), start=1):
        Image.fromarray(frame).save(folder / f"{k:06d}.png")  # lossless: markers stay crisp


@pytest.fixture(scope="module")
def penn_root(tmp_path_factory) -> Path:
    """The three real label files with frames drawn to match them (a marker on every joint)."""
    root = tmp_path_factory.mktemp("penn")
    for video_id in PENN_IDS:
        write_penn_video(root, video_id, DATA / "penn_action" / f"{video_id}.mat")
    return root


def test_real_labels_read():
    info = read_labels(DATA / "penn_action" / "1037.mat")
    assert info["poses"].shape == (26, 13, 3) and (info["width"], info["height"]) == (480, 360)
    assert info["action"] == "jumping_jacks" and info["train"] is True
    assert read_labels(DATA / "penn_action" / "1660.mat")["train"] is False


def test_splits_share_no_videos(penn_root):
    train = {v.video_id for v in find_videos(penn_root, "train")}
    test = {v.video_id for v in find_videos(penn_root, "test")}
    assert train == {"0004", "1037"} and test == {"1660"}
    assert not train & test
    everything = {v.video_id for v in find_videos(penn_root, "all")}
    assert everything == train | test
    assert len(PennActionPairs(penn_root, 32, "test", pairs_per_video=3)) == 3


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**31 - 1), scale_jitter=st.floats(0.0, 0.3), shift_jitter=st.floats(0.0, 0.15),
       split=st.sampled_from(["train", "test"]))
def test_penn_keypoints_land_on_the_person(penn_root, seed, scale_jitter, shift_jitter, split):
    dataset = PennActionPairs(penn_root, 96, split, seed=seed, pairs_per_video=2, scale_jitter=scale_jitter,
                              shift_jitter=shift_jitter, flip=0.5)
    index = int(np.random.default_rng(seed).integers(len(dataset)))
    sample = dataset[index]
    for image_key, pose_key in (("reference", "reference_pose"), ("target", "target_pose")):
        image = tensor_to_image(sample[image_key])[..., 0]
        pose = sample[pose_key].numpy()
        checked = 0
        for x, y, c in pose:
            xi, yi = int(round(x)), int(round(y))
            if c > 0 and 1 <= xi < 95 and 1 <= yi < 95:
                # The marker (radius >= 1.3 output pixels here) covers the mapped keypoint.
                assert image[yi, xi] > 140, f"no marker at ({x:.1f}, {y:.1f})"
                checked += 1
        assert checked >= 5


def test_penn_sample_contract_and_epochs(penn_root):
    dataset = PennActionPairs(penn_root, 48, "train", pairs_per_video=2, seed=1)
    assert len(dataset) == 4
    a = dataset[1]
    assert a["reference"].shape == (3, 48, 48) and a["reference"].dtype == torch.float32
    assert a["reference_pose"].shape == (13, 3) and a["region"].shape == (48, 48) and a["region"].dtype == torch.bool
    assert all(torch.equal(a[k], dataset[1][k]) for k in a)  # same item, same pair
    pairs = set()
    for epoch in range(6):
        dataset.set_epoch(epoch)
        sample = dataset[1]
        pairs.add(tuple(sample["reference_pose"].flatten().tolist()[:2] + sample["target_pose"].flatten().tolist()[:2]))
    assert len(pairs) > 1  # other epochs, other pairs
    with pytest.raises(IndexError):
        dataset[4]


def test_synth_output_reads_as_penn(tmp_path):
    root = tmp_path / "synth"
    synth.write_penn_dataset(root, videos=2, frames=5, size=64, seed=4, test_videos=1)
    train = PennActionPairs(root, 32, "train")
    test = PennActionPairs(root, 32, "test")
    assert [v.video_id for v in train.videos] == ["0001", "0002"] and [v.video_id for v in test.videos] == ["0003"]
    video = train.videos[0]
    expected = synth.file_video(4, "train", 0, 64, 5)
    assert np.allclose(video.poses, expected.poses, atol=1e-4)
    assert video.action == expected.action
    sample = train[0]
    pose = sample["target_pose"].numpy()
    assert (pose[:, :2] > 0).all() and (pose[:, :2] < 31).all()
    assert sample["region"][pose[:, 1].round().astype(int), pose[:, 0].round().astype(int)].all()


# --- bad Penn input ---------------------------------------------------------------------------
def test_missing_and_empty_and_wrong_layout(tmp_path):
    with pytest.raises(DatasetError, match="no such dataset folder"):
        PennActionPairs(tmp_path / "nope", 32)
    with pytest.raises(DatasetError, match="not in the Penn Action layout"):
        PennActionPairs(tmp_path, 32)
    (tmp_path / "labels").mkdir()
    (tmp_path / "frames").mkdir()
    with pytest.raises(DatasetError, match="no label files"):
        PennActionPairs(tmp_path, 32)


def test_labels_that_do_not_match_the_frames(tmp_path):
    root = tmp_path / "penn"
    write_penn_video(root, "1037", DATA / "penn_action" / "1037.mat", radius=3)
    frames = sorted((root / "frames" / "1037").iterdir())
    frames[-1].unlink()
    with pytest.raises(DatasetError, match=r"1037\.mat: labels 26 frames .* holds 25 images"):
        PennActionPairs(root, 32)
    Image.new("RGB", (100, 50)).save(frames[-1])
    Image.new("RGB", (100, 50)).save(frames[0])
    with pytest.raises(DatasetError, match=r"000001\.png: is 100x50 but .*1037\.mat field 'dimensions' says 480x360"):
        PennActionPairs(root, 32)
    shutil.rmtree(root / "frames" / "1037")
    with pytest.raises(DatasetError, match="frames folder .* does not exist"):
        PennActionPairs(root, 32)


@pytest.mark.parametrize("change, message", [
    (lambda m: m.pop("x"), "field 'x' is missing"),
    (lambda m: m.update(y=m["y"][:-1]), r"field 'y' has shape \(25, 13\); expected"),
    (lambda m: m.update(bbox=m["bbox"][:, :3]), "field 'bbox' has shape"),
    (lambda m: m.update(train=np.array([[5]])), "field 'train' is 5"),
    (lambda m: m.update(dimensions=np.array([[360, 480, 30]])), "'dimensions' says 30 frames"),
])
def test_broken_label_fields(tmp_path, change, message):
    labels = {k: v for k, v in scipy.io.loadmat(DATA / "penn_action" / "1037.mat").items() if not k.startswith("__")}
    change(labels)
    path = tmp_path / "1037.mat"
    scipy.io.savemat(path, labels)
    with pytest.raises(DatasetError, match=message) as info:
        read_labels(path)
    assert "1037.mat" in str(info.value)


def test_unreadable_label_file(tmp_path):
    path = tmp_path / "0001.mat"
    path.write_text("not a mat file")
    with pytest.raises(DatasetError, match="0001.mat: not a readable MATLAB label file"):
        read_labels(path)


def test_split_with_no_videos(tmp_path):
    root = tmp_path / "penn"
    write_penn_video(root, "1660", DATA / "penn_action" / "1660.mat", radius=3)
    with pytest.raises(DatasetError, match="no videos in the train split"):
        PennActionPairs(root, 32, "train")


# --- own videos -------------------------------------------------------------------------------
@pytest.fixture()
def video_folder(tmp_path, monkeypatch):
    """Two short synthetic videos on disk and an extractor stand-in returning their true poses."""
    from ilat_video.pose import extract
    from ilat_video.pose.sequence import PoseSequence
    from ilat_video.video import VideoWriter

    folder = tmp_path / "videos"
    folder.mkdir()
    truth = {}
    for k in range(2):
        video = synth.file_video(5, "train", k, 64, 8)
        path = folder / f"clip{k}.mp4"
        with VideoWriter(path, fps=10, preset="ultrafast") as writer:
            for f in range(video.num_frames):
                writer.write(video.render(f))
        truth[path.name] = video
    (folder / "notes.txt").write_text("not a video")
    calls = []

    def fake_extract(path, *, model_path=None, smooth=True, progress=None):
        calls.append(Path(path).name)
        video = truth[Path(path).name]
        return PoseSequence(video.poses, 64, 64, fps=10, source=str(path))

    monkeypatch.setattr(extract, "extract_poses", fake_extract)
    return folder, truth, calls


def test_own_videos_extract_once_and_reuse(video_folder):
    from ilat_video.data.own_videos import VideoFolderPairs, cache_paths

    folder, truth, calls = video_folder
    dataset = VideoFolderPairs(folder, 32, pairs_per_video=2)
    assert sorted(calls) == ["clip0.mp4", "clip1.mp4"] and dataset.extracted == 2
    assert len(dataset) == 4
    for video in dataset.videos:
        assert all(p.is_file() for p in cache_paths(video.path))
    again = VideoFolderPairs(folder, 32)
    assert len(calls) == 2 and again.extracted == 0  # all from the cache
    assert np.allclose(again.videos[0].poses, truth["clip0.mp4"].poses, atol=1e-5)


def test_own_videos_cache_invalidation(video_folder):
    import os

    from ilat_video.data.own_videos import VideoFolderPairs, cache_paths

    folder, truth, calls = video_folder
    VideoFolderPairs(folder, 32)
    assert len(calls) == 2
    clip0 = folder / "clip0.mp4"
    # Touched (new time, same bytes): reused, and the key takes the new time.
    os.utime(clip0, ns=(clip0.stat().st_atime_ns, clip0.stat().st_mtime_ns + 5_000_000_000))
    VideoFolderPairs(folder, 32)
    assert len(calls) == 2
    # Replaced by another video: extracted again, only that one.
    (folder / "clip1.mp4").replace(clip0)
    shutil.copy(clip0, folder / "clip1.mp4")
    truth["clip0.mp4"] = truth["clip1.mp4"]
    VideoFolderPairs(folder, 32)
    assert calls[2:] == ["clip0.mp4"] or sorted(calls[2:]) == ["clip0.mp4", "clip1.mp4"]
    assert "clip0.mp4" in calls[2:]
    # A damaged cache is extracted again; a missing key too.
    poses_file, key_file = cache_paths(clip0)
    n = len(calls)
    poses_file.write_text("{broken")
    VideoFolderPairs(folder, 32)
    assert calls[n:] == ["clip0.mp4"]
    key_file.unlink()
    VideoFolderPairs(folder, 32)
    assert calls[n + 1:] == ["clip0.mp4"]
    # Other extraction settings: extracted again.
    VideoFolderPairs(folder, 32, smooth=False)
    assert len(calls) == n + 4


def test_own_video_sample_is_the_right_frame_and_person(video_folder):
    from ilat_video.data.own_videos import VideoFolderPairs
    from scipy import ndimage

    folder, truth, calls = video_folder
    dataset = VideoFolderPairs(folder, 48, pairs_per_video=3, seed=2)
    for index in range(len(dataset)):
        sample = dataset[index]
        video_index = index // 3
        video = truth[dataset.videos[video_index].path.name]
        box = square_crop_box(dataset.person_boxes[video_index], 64, 64, margin=dataset.margin)
        for image_key, pose_key in (("reference", "reference_pose"), ("target", "target_pose")):
            pose = sample[pose_key].numpy()
            # Which frame was it? The poses say; the decoded pixels must be that frame.
            distances = [np.abs(crop_pose(video.poses[f], box, 48) - pose).max() for f in range(video.num_frames)]
            frame = int(np.argmin(distances))
            assert distances[frame] < 1e-3
            expected = crop_frame(video.render(frame), box, 48).astype(float)
            assert np.abs(tensor_to_image(sample[image_key]).astype(float) - expected).mean() < 6
            mask = crop_frame(np.repeat(video.render_mask(frame)[..., None] * np.uint8(255), 3, 2), box, 48)[..., 0] > 127
            assert (mask & sample["region"].numpy()).sum() >= 0.95 * mask.sum()
            on_body = ndimage.binary_dilation(mask, iterations=1)
            xy = np.clip(np.rint(pose[:, :2]).astype(int), 0, 47)
            assert on_body[xy[:, 1], xy[:, 0]].all()


def test_own_videos_bad_folders(tmp_path):
    from ilat_video.data.own_videos import VideoFolderPairs

    with pytest.raises(DatasetError, match="no such folder of videos"):
        VideoFolderPairs(tmp_path / "missing", 32)
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "readme.txt").write_text("x")
    with pytest.raises(DatasetError, match=r"empty: no video files \(.mp4"):
        VideoFolderPairs(empty, 32)


def test_own_videos_poses_longer_than_the_video(video_folder, monkeypatch):
    from ilat_video.data.own_videos import VideoFolderPairs
    from ilat_video.pose import extract
    from ilat_video.pose.sequence import PoseSequence

    folder, truth, calls = video_folder
    for name in ("clip1.mp4",):
        (folder / name).unlink()
    long_poses = np.concatenate([truth["clip0.mp4"].poses] * 3)
    monkeypatch.setattr(extract, "extract_poses",
                        lambda path, **kw: PoseSequence(long_poses, 64, 64, fps=10, source=str(path)))
    dataset = VideoFolderPairs(folder, 32, min_gap=20, seed=0)
    with pytest.raises(DatasetError, match="clip0.mp4: the video has 8 frames but its poses"):
        for index in range(len(dataset)):
            for epoch in range(5):
                dataset.set_epoch(epoch)
                dataset[index]


def test_own_video_splits_are_disjoint_and_stable(tmp_path):
    from ilat_video.data.own_videos import split_videos

    paths = [tmp_path / f"video_{k:02d}.mp4" for k in range(40)]
    train, test = split_videos(paths, "train"), split_videos(paths, "test")
    assert not set(train) & set(test) and set(train) | set(test) == set(paths)
    assert 1 <= len(test) <= 12
    # Adding videos (or moving the folder) never moves an old video to the other split.
    more = [tmp_path / "elsewhere" / p.name for p in paths] + [tmp_path / f"extra_{k}.mp4" for k in range(30)]
    assert {p.name for p in split_videos(more, "test")} >= {p.name for p in test}
    assert {p.name for p in split_videos(more, "train")} >= {p.name for p in train}
    # Small folders still get one test video; a single video is training data.
    assert len(split_videos(paths[:2], "test")) == 1
    assert split_videos(paths[:1], "train") == paths[:1] and split_videos(paths[:1], "test") == []
    with pytest.raises(DatasetError, match="split must be one of"):
        split_videos(paths, "val")


def test_own_videos_test_split(video_folder):
    from ilat_video.data.own_videos import VideoFolderPairs

    folder, truth, calls = video_folder
    train = VideoFolderPairs(folder, 32, split="train")
    test = VideoFolderPairs(folder, 32, split="test")
    assert len(train.videos) == 1 and len(test.videos) == 1
    assert train.videos[0].path != test.videos[0].path
    (folder / "clip1.mp4").unlink()
    with pytest.raises(DatasetError, match="no videos in the test split"):
        VideoFolderPairs(folder, 32, split="test")
