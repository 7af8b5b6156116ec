"""The synthetic people generator and its streamed dataset (ilat_video.data.synth)."""
from __future__ import annotations

import types

import numpy as np
import pytest
import scipy.io
import torch
from click.testing import CliRunner
from scipy import ndimage

from ilat_video.cli import main
from ilat_video.data import synth
from ilat_video.data.synth import ACTIONS, SyntheticPairs
from ilat_video.pose import skeleton as sk


def test_same_seed_same_video_other_seed_other_video():
    a = synth.file_video(3, "train", 5, 64, 12)
    b = synth.file_video(3, "train", 5, 64, 12)
    c = synth.file_video(4, "train", 5, 64, 12)
    assert np.array_equal(a.poses, b.poses) and np.array_equal(a.render(7), b.render(7))
    assert a.identity == b.identity
    assert not np.allclose(a.poses, c.poses)
    assert a.identity != c.identity


def test_train_and_test_share_no_identity_or_background():
    train = [synth.file_video(0, "train", k, 32, 2) for k in range(40)]
    test = [synth.file_video(0, "test", k, 32, 2) for k in range(40)]
    train_ids = {tuple(v.identity.as_vector().round(9)) for v in train}
    test_ids = {tuple(v.identity.as_vector().round(9)) for v in test}
    assert len(train_ids) == 40 and len(test_ids) == 40
    assert not train_ids & test_ids
    train_bgs = {v.background.tobytes() for v in train}
    assert not any(v.background.tobytes() in train_bgs for v in test)
    # The streamed mode draws from other streams again.
    live = [synth.live_video(0, "train", 0, 0, k, 32, 2) for k in range(10)]
    assert not {tuple(v.identity.as_vector().round(9)) for v in live} & (train_ids | test_ids)


@pytest.mark.parametrize("action", ACTIONS)
def test_every_action_moves_and_stays_in_view(action):
    rng = np.random.default_rng(11)
    size = 64
    for _ in range(3):
        video = synth.make_video(rng, size, 30, action=action)
        assert video.action == action
        xy = video.poses[..., :2]
        assert (xy >= 0).all() and (xy <= size - 1).all(), "a joint left the frame"
        assert (video.poses[..., 2] == 1).all()
        # The person fills a good part of the frame and stays whole: the silhouette does not
        # touch the frame's border.
        for frame in (0, 15, 29):
            mask = video.render_mask(frame)
            assert not (mask[0].any() or mask[-1].any() or mask[:, 0].any() or mask[:, -1].any())
            rows = np.flatnonzero(mask.any(axis=1))
            assert rows[-1] - rows[0] > 0.35 * size
        assert np.ptp(xy, axis=0).max() > 0.08 * size, "no joint moves"


def test_joints_lie_on_the_drawn_person():
    for index in range(10):
        video = synth.file_video(1, "train", index, 96, 10)
        for frame in (0, 6):
            mask = ndimage.binary_dilation(video.render_mask(frame), iterations=1)
            for j, (x, y, _) in enumerate(video.poses[frame]):
                assert mask[int(round(y)), int(round(x))], f"video {index} frame {frame}: {sk.JOINT_NAMES[j]} off the body"


def test_anatomical_right_is_image_left_when_facing_the_camera():
    rng = np.random.default_rng(2)
    checked = 0
    while checked < 10:
        video = synth.make_video(rng, 64, 4)
        if abs(video.motion.params["yaw"]) > 20:
            continue
        pose = video.poses[0]
        assert pose[sk.R_SHOULDER, 0] < pose[sk.L_SHOULDER, 0]
        assert pose[sk.R_HIP, 0] < pose[sk.L_HIP, 0]
        checked += 1


def test_supersampled_render_matches_plain_render():
    video = synth.file_video(0, "train", 2, 64, 4)
    plain = video.render(1).astype(float)
    smooth = video.render(1, supersample=2).astype(float)
    assert np.abs(plain - smooth).mean() < 8  # same picture, softer edges


def test_written_dataset_layout_and_labels(tmp_path):
    out = tmp_path / "synth"
    ids = synth.write_penn_dataset(out, videos=2, frames=4, size=48, seed=9, test_videos=1)
    assert ids == ["0001", "0002", "0003"]
    for video_id, train in zip(ids, (1, 1, -1)):
        frames = sorted((out / "frames" / video_id).glob("*.jpg"))
        assert [f.name for f in frames] == [f"{k:06d}.jpg" for k in range(1, 5)]
        labels = scipy.io.loadmat(out / "labels" / f"{video_id}.mat")
        assert labels["x"].shape == labels["y"].shape == labels["visibility"].shape == (4, 13)
        assert labels["bbox"].shape == (4, 4)
        assert labels["dimensions"].ravel().tolist() == [48, 48, 4]
        assert int(labels["nframes"].ravel()[0]) == 4 and int(labels["train"].ravel()[0]) == train
        assert str(labels["action"][0]) in ACTIONS
    # The same clip as rendered in memory (test clip 0 of the same seed).
    expected = synth.file_video(9, "test", 0, 48, 4)
    labels = scipy.io.loadmat(out / "labels" / "0003.mat")
    assert np.allclose(labels["x"], expected.poses[..., 0], atol=1e-4)
    assert not list(out.rglob("*.part*")), "temporary files left behind"


def test_cli_synth_and_refusal(tmp_path):
    runner = CliRunner()
    out = tmp_path / "data"
    result = runner.invoke(main, ["synth", str(out), "--videos", "2", "--frames", "3", "--size", "32", "--seed", "1"])
    assert result.exit_code == 0, result.output
    assert len(list((out / "labels").glob("*.mat"))) == 2
    again = runner.invoke(main, ["synth", str(out), "--videos", "1", "--frames", "3", "--size", "32"])
    assert again.exit_code == 2 and "already holds a dataset" in " ".join(again.output.split())


def check_sample(sample, size):
    assert set(sample) == {"reference", "target", "reference_pose", "target_pose", "region"}
    for key in ("reference", "target"):
        image = sample[key]
        assert image.shape == (3, size, size) and image.dtype == torch.float32
        assert image.min() >= -1 and image.max() <= 1
    for key in ("reference_pose", "target_pose"):
        pose = sample[key]
        assert pose.shape == (13, 3) and pose.dtype == torch.float32
        assert (pose[:, :2] >= -0.5).all() and (pose[:, :2] <= size - 0.5).all()
    assert sample["region"].shape == (size, size) and sample["region"].dtype == torch.bool
    for pose in (sample["reference_pose"], sample["target_pose"]):
        x, y = pose[:, 0].round().long().clamp(0, size - 1), pose[:, 1].round().long().clamp(0, size - 1)
        assert sample["region"][y, x].all(), "a joint is outside the region"


def test_synthetic_pairs_contract_and_determinism():
    samples = list(SyntheticPairs(32, seed=3, max_videos=4, pairs_per_video=2))
    assert len(samples) == 8
    for sample in samples:
        check_sample(sample, 32)
    again = list(SyntheticPairs(32, seed=3, max_videos=4, pairs_per_video=2))
    for a, b in zip(samples, again):
        assert all(torch.equal(a[k], b[k]) for k in a)
    # Reference and target come from one video: same clip, usually a different frame.
    assert any(not torch.equal(s["reference_pose"], s["target_pose"]) for s in samples)


def test_synthetic_pairs_ranks_workers_and_splits_differ(monkeypatch):
    def first(**kwargs):
        return next(iter(SyntheticPairs(32, seed=0, max_videos=1, **kwargs)))["reference"]

    base = first()
    assert not torch.equal(base, first(rank=1, world_size=2))
    assert not torch.equal(base, first(split="test"))
    monkeypatch.setattr(torch.utils.data, "get_worker_info", lambda: types.SimpleNamespace(id=1, num_workers=2))
    assert not torch.equal(base, first())


def test_synthetic_pairs_in_a_dataloader():
    loader = torch.utils.data.DataLoader(SyntheticPairs(32, max_videos=3), batch_size=3)
    batch = next(iter(loader))
    assert batch["reference"].shape == (3, 3, 32, 32) and batch["region"].shape == (3, 32, 32)


def test_synthetic_pairs_rejects_bad_arguments():
    with pytest.raises(ValueError):
        SyntheticPairs(32, split="val")
    with pytest.raises(ValueError):
        SyntheticPairs(32, rank=2, world_size=2)
