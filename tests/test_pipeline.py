"""The Animator and `ilat-video animate`, on tiny random models (fast; quality is the benchmarks' job)."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from click.testing import CliRunner
from PIL import Image

from ilat_video.cli import main
from ilat_video.data.synth import file_video
from ilat_video.errors import IlatError, ModelFileError
from ilat_video.nn.tokenizer import TokenizerConfig, TSVQGAN
from ilat_video.nn.transformer import LATransformer, transformer_preset
from ilat_video.options import RenderOptions
from ilat_video.pipeline import LEG_GUESS, Animator, cut_sides
from ilat_video.pose.retarget import body_height
from ilat_video.pose import skeleton as sk
from ilat_video.pose.formats import load_poses, save_poses
from ilat_video.pose.sequence import PoseSequence
from ilat_video.video import VideoWriter, read_frames

SQUARE = RenderOptions(frame="square")  # the model's square frames: what most tests here look at
DATA = Path(__file__).parent / "data"


def tiny_models(seed: int = 0, reference_pose: bool = False):
    torch.manual_seed(seed)
    tokenizer = TSVQGAN(TokenizerConfig(resolution=32, base_channels=8, channel_mult=(1, 2, 4, 4),
                                        codebook_size=32, code_dim=8))
    transformer = LATransformer(transformer_preset("tiny", codebook_size=32, grid=(4, 4),
                                                   use_reference_pose=reference_pose))
    return tokenizer.eval(), transformer.eval()


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("model")
    tokenizer, transformer = tiny_models()
    tokenizer.save_pretrained(folder / "tokenizer")
    transformer.save_pretrained(folder / "transformer")
    return folder


@pytest.fixture(scope="module")
def reference(tmp_path_factory) -> tuple[Path, Path]:
    """A synthetic person (MediaPipe need not find them) as a PNG and its pose file."""
    folder = tmp_path_factory.mktemp("reference")
    video = file_video(3, "test", 0, 96, 2)
    Image.fromarray(video.render(0)).save(folder / "person.png")
    save_poses(PoseSequence(video.poses[:1], 96, 96, 30.0), folder / "person_pose.json")
    return folder / "person.png", folder / "person_pose.json"


@pytest.fixture(scope="module")
def driving() -> Path:
    return DATA / "penn_action" / "1037.mat"


def test_frames_come_out_at_model_size_one_per_driving_frame(model_dir, reference, driving):
    animator = Animator.from_pretrained(model_dir, device="cpu")
    frames = list(animator.animate(reference[0], driving, reference_pose=reference[1], max_frames=5, batch_size=2,
                                   options=SQUARE))
    assert len(frames) == 5
    assert all(f.shape == (32, 32, 3) and f.dtype == np.uint8 for f in frames)


@pytest.mark.parametrize("decode", ["tokens", "expected"])
def test_batching_and_seed_do_not_change_greedy_frames(model_dir, reference, driving, decode):
    animator = Animator.from_pretrained(model_dir, device="cpu")
    kwargs = dict(reference_pose=reference[1], max_frames=4, options=RenderOptions(frame="square", decode=decode))
    one = list(animator.animate(reference[0], driving, batch_size=1, seed=1, **kwargs))
    four = list(animator.animate(reference[0], driving, batch_size=4, seed=7, **kwargs))
    # Same tokens; the decoder's float sums differ by ~1e-6 between batch sizes, which can move a
    # pixel that sits on a rounding boundary by one level.
    assert len(one) == len(four) == 4
    assert all(np.abs(a.astype(int) - b).max() <= 1 for a, b in zip(one, four))


def test_a_shared_reference_model_reuses_the_reference_keys_with_the_same_frames(reference, driving, monkeypatch):
    import ilat_video.sampling as sampling

    tokenizer, _ = tiny_models(4)
    torch.manual_seed(4)
    transformer = LATransformer(transformer_preset("tiny", codebook_size=32, grid=(4, 4), shared_reference=True)).eval()
    animator = Animator(tokenizer, transformer, device="cpu")
    calls = []
    real = sampling.sample_local

    def spy(*args, **kwargs):
        calls.append(kwargs.get("reference_kv"))
        return real(*args, **kwargs)

    monkeypatch.setattr(sampling, "sample_local", spy)
    kwargs = dict(reference_pose=reference[1], max_frames=5, batch_size=2, options=SQUARE)
    shared = list(animator.animate(reference[0], driving, **kwargs))
    assert len(calls) == 3 and calls[0] is not None and all(c is calls[0] for c in calls)  # once per video
    # The same frames as recomputing the reference in every frame's pass.
    monkeypatch.setattr(sampling, "sample_local", lambda *a, **k: real(*a, **{**k, "reference_kv": None}))
    full = list(animator.animate(reference[0], driving, **kwargs))
    assert all(np.abs(a.astype(int) - b).max() <= 1 for a, b in zip(shared, full))


def test_views_run_the_sampler_once_per_view_on_mirrored_inputs(model_dir, reference, driving, monkeypatch):
    import ilat_video.sampling as sampling
    from ilat_video.pose.skeleton import FLIP_PERMUTATION

    animator = Animator.from_pretrained(model_dir, device="cpu")
    kwargs = dict(reference_pose=reference[1], max_frames=3, batch_size=3)
    plain_kwargs = dict(kwargs, options=SQUARE)
    plain = list(animator.animate(reference[0], driving, **plain_kwargs))
    calls = []
    real = sampling.sample_local

    def spy(model, cond, known, target_pose, region, **k):
        calls.append((cond.clone(), target_pose.clone(), region.clone()))
        return real(model, cond, known, target_pose, region, **k)

    monkeypatch.setattr(sampling, "sample_local", spy)
    two = list(animator.animate(reference[0], driving, options=RenderOptions(frame="square", views=2), **kwargs))
    assert len(calls) == 2  # one batch, one sampler run per view
    (cond0, pose0, region0), (cond1, pose1, region1) = calls
    assert torch.equal(region1, region0.flip(-1))  # the mirrored frame's token region
    assert not torch.equal(cond1, cond0)  # the mirrored reference's own tokens
    # Mirrored poses: left and right swap names, y stays, x mirrors (x / S -> (S - 1 - x) / S).
    swapped = pose0[:, list(FLIP_PERMUTATION)]
    assert torch.equal(pose1[..., 1:], swapped[..., 1:])
    assert torch.allclose(pose1[..., 0] + swapped[..., 0], torch.full_like(pose1[..., 0], 31 / 32), atol=1e-6)
    assert len(two) == 3 and not all(np.array_equal(a, b) for a, b in zip(plain, two))
    assert all(np.array_equal(a, b) for a, b in zip(two, animator.animate(reference[0], driving, options=RenderOptions(frame="square", views=2),
                                                                     **kwargs)))


def test_views_out_of_range_are_refused_before_any_output(model_dir, reference, driving, tmp_path):
    out = tmp_path / "never.mp4"
    for views in (0, 17):
        with pytest.raises(IlatError, match="views must be between 1 and 16"):
            RenderOptions(views=views)
    assert list(tmp_path.iterdir()) == []
    assert run_animate(reference[0], driving, "-o", out, "--views", 17).exit_code == 2
    result = run_animate(reference[0], driving, "-o", out, "--model", model_dir, "--reference-pose", reference[1],
                         "--max-frames", 2, "--frame", "square", "--views", 4, "--decode", "expected")
    assert result.exit_code == 0, result.output
    assert len(list(read_frames(out))) == 2


def test_sampling_is_reproducible_per_seed(model_dir, reference, driving):
    animator = Animator.from_pretrained(model_dir, device="cpu")
    kwargs = dict(reference_pose=reference[1], max_frames=3, options=RenderOptions(frame="square", top_k=8, temperature=1.5))
    a = list(animator.animate(reference[0], driving, seed=3, **kwargs))
    b = list(animator.animate(reference[0], driving, seed=3, **kwargs))
    c = list(animator.animate(reference[0], driving, seed=4, **kwargs))
    assert all(np.array_equal(x, y) for x, y in zip(a, b))
    assert not all(np.array_equal(x, y) for x, y in zip(a, c))


def test_frames_without_a_person_hold_the_last_pose(model_dir, reference):
    seq = load_poses(DATA / "penn_action" / "1037.mat")[:6]
    keypoints = seq.keypoints.copy()
    keypoints[3] = 0.0
    animator = Animator.from_pretrained(model_dir, device="cpu")
    ref = animator.load_reference(reference[0], reference[1])
    plan = animator.plan(ref, seq.replace(keypoints=keypoints))
    assert plan.missing.tolist() == [False, False, False, True, False, False]
    np.testing.assert_array_equal(plan.target_crop[3], plan.target_crop[2])


def test_animate_to_file_writes_a_playable_mp4_and_poses(model_dir, reference, driving, tmp_path):
    animator = Animator.from_pretrained(model_dir, device="cpu")
    out = tmp_path / "out.mp4"
    summary = animator.animate_to_file(reference[0], driving, out, reference_pose=reference[1], max_frames=4,
                                       side_by_side=True, save_poses=tmp_path / "poses.json", fps=10)
    frames = list(read_frames(out))
    assert summary.frames == len(frames) == 4
    assert frames[0].shape[1] == 3 * frames[0].shape[0]  # reference | skeleton | result
    poses = load_poses(tmp_path / "poses.json")
    assert len(poses) == 4 and poses.has_person.all()
    assert [p.name for p in tmp_path.iterdir() if ".part" in p.name] == []


def test_mismatched_model_configs_are_refused():
    tokenizer, _ = tiny_models()
    transformer = LATransformer(transformer_preset("tiny", codebook_size=64, grid=(4, 4)))
    with pytest.raises(ModelFileError, match="codes"):
        Animator(tokenizer, transformer, device="cpu")
    transformer = LATransformer(transformer_preset("tiny", codebook_size=32, grid=(8, 8)))
    with pytest.raises(ModelFileError, match="grid"):
        Animator(tokenizer, transformer, device="cpu")


# --- the CLI: bad input gets exit code 2, a clear message, and no output file ------------------

def run_animate(*args):
    return CliRunner().invoke(main, ["animate", *map(str, args)])


@pytest.mark.parametrize("background, decode", [("unchanged", "tokens"), ("reference", "tokens"),
                                                ("model", "tokens"), ("unchanged", "expected")])
def test_cli_animate_writes_the_video(model_dir, reference, driving, tmp_path, background, decode):
    out = tmp_path / "cli.mp4"
    result = run_animate(reference[0], driving, "-o", out, "--model", model_dir, "--reference-pose", reference[1],
                         "--max-frames", 3, "--batch-size", 2, "--frame", "square", "--background", background,
                         "--decode", decode)
    assert result.exit_code == 0, result.output
    assert "3 frames" in result.output
    assert len(list(read_frames(out))) == 3


def test_cli_animate_threads_sets_torchs_threads(model_dir, reference, driving, tmp_path, monkeypatch):
    calls = []
    monkeypatch.setattr(torch, "set_num_threads", calls.append)
    result = run_animate(reference[0], driving, "-o", tmp_path / "t.mp4", "--model", model_dir, "--reference-pose",
                         reference[1], "--max-frames", 1, "--threads", 1)
    assert result.exit_code == 0, result.output
    assert calls == [1]
    assert run_animate(reference[0], driving, "-o", tmp_path / "u.mp4", "--threads", 0).exit_code == 2


@pytest.fixture(scope="module")
def blank_video(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("blank") / "nobody.mp4"
    ramp = np.linspace(0, 255, 64, dtype=np.uint8)
    with VideoWriter(path, 10) as writer:
        for t in range(6):
            writer.write(np.stack([np.tile(ramp, (64, 1))] * 3, axis=-1))
    return path


def bad_cases(model_dir, reference, driving, blank_video, tmp_path):
    no_person_image = tmp_path / "nobody.png"
    Image.fromarray(np.full((80, 60, 3), 200, np.uint8)).save(no_person_image)
    empty_pose = tmp_path / "empty_pose.json"
    save_poses(PoseSequence.empty(1, 96, 96), empty_pose)
    broken_model = tmp_path / "broken_model"
    (broken_model / "tokenizer").mkdir(parents=True)
    for name in ("config.json", "model.safetensors"):
        (broken_model / "tokenizer" / name).write_bytes((model_dir / "tokenizer" / name).read_bytes())
    (broken_model / "transformer").mkdir()
    (broken_model / "transformer" / "config.json").write_bytes((model_dir / "transformer" / "config.json").read_bytes())
    mismatched = tmp_path / "mismatched"
    (mismatched / "tokenizer").mkdir(parents=True)
    for name in ("config.json", "model.safetensors"):
        (mismatched / "tokenizer" / name).write_bytes((model_dir / "tokenizer" / name).read_bytes())
    LATransformer(transformer_preset("tiny", codebook_size=64, grid=(4, 4))).save_pretrained(mismatched / "transformer")
    ref, pose = reference
    model = ["--model", model_dir]
    return {
        "reference without a person": ([no_person_image, driving, *model], "no person"),
        "reference pose without a person": ([ref, driving, *model, "--reference-pose", empty_pose], "no person"),
        "driving video without a person": ([ref, blank_video, *model, "--reference-pose", pose], "no person"),
        "missing reference": ([tmp_path / "missing.png", driving, *model, "--reference-pose", pose], "missing.png"),
        "model missing a file": ([ref, driving, "--model", broken_model, "--reference-pose", pose], "model.safetensors"),
        "model with mismatched configs": ([ref, driving, "--model", mismatched, "--reference-pose", pose], "codes"),
    }


@pytest.mark.parametrize("case", [
    "reference without a person", "reference pose without a person", "driving video without a person",
    "missing reference", "model missing a file", "model with mismatched configs",
])
def test_cli_bad_input_exits_2_without_output(case, model_dir, reference, driving, blank_video, tmp_path):
    args, message = bad_cases(model_dir, reference, driving, blank_video, tmp_path)[case]
    out = tmp_path / "out.mp4"
    result = run_animate(*args, "-o", out)
    assert result.exit_code == 2, result.output
    assert message in result.output
    assert not out.exists()
    assert not [p for p in tmp_path.iterdir() if ".part" in p.name]


def test_a_photo_far_beyond_1080p_gets_a_note_on_its_cost(model_dir, tmp_path):
    """A 24 MP photo at its own size took 130 s to prepare and 7.2 s a frame (8 s and 0.54 s at
    --max-side 1920; benchmarks/results/large_photo.md): the CLI says so before it starts, with
    the --max-side that gives a 1080p-sized video; not for a photo near 1080p, a capped run, the
    square crop, or a file that is no image."""
    from PIL import Image

    from ilat_video.cli.animate import large_photo_note

    big, small, broken = tmp_path / "big.png", tmp_path / "small.png", tmp_path / "broken.png"
    Image.new("RGB", (3000, 4000), (200, 180, 160)).save(big)
    Image.new("RGB", (1920, 1080), (200, 180, 160)).save(small)
    broken.write_bytes(b"not an image")
    note = large_photo_note(big, "photo", None)
    assert note is not None and "3000x4000" in note and "6x" in note and "--max-side 1920" in note
    assert large_photo_note(big, "photo", 1280) is None
    assert large_photo_note(big, "square", None) is None
    assert large_photo_note(small, "photo", None) is None
    assert large_photo_note(broken, "photo", None) is None
    # the CLI prints it first, whatever comes after (here the driving file is missing)
    result = run_animate(big, tmp_path / "missing.mp4", "-o", tmp_path / "out.mp4", "--model", model_dir)
    assert result.exit_code == 2
    assert note in result.output


def test_cli_output_equal_to_an_input_or_in_a_missing_folder(model_dir, reference, driving, tmp_path):
    ref, pose = reference
    before = ref.read_bytes()
    result = run_animate(ref, driving, "-o", ref, "--model", model_dir, "--reference-pose", pose)
    assert result.exit_code == 2 and "also an input" in result.output
    assert ref.read_bytes() == before
    result = run_animate(ref, driving, "-o", tmp_path / "nope" / "out.mp4", "--model", model_dir, "--reference-pose", pose)
    assert result.exit_code == 2 and "does not exist" in result.output


@pytest.mark.parametrize("option", [dict(background="nowhere"), dict(decode="mean")])
def test_unknown_background_or_decoding_is_refused_before_any_output(model_dir, reference, driving, tmp_path,
                                                                     option):
    out = tmp_path / "never.mp4"
    name, value = next(iter(option.items()))
    with pytest.raises(IlatError, match=f"{name} must be one of .*got '{value}'"):
        RenderOptions(**option)
    assert run_animate(reference[0], driving, "-o", out, f"--{name}", value).exit_code == 2


def test_cli_failure_midway_leaves_the_old_output_untouched(model_dir, reference, driving, tmp_path, monkeypatch):
    out = tmp_path / "keep.mp4"
    out.write_bytes(b"the user's earlier video")
    import ilat_video.pipeline as pipeline

    def broken(self, *args, **kwargs):
        yield np.zeros((32, 32, 3), np.uint8)
        raise IlatError("simulated failure after the first frame")

    monkeypatch.setattr(pipeline.Animator, "generate", broken)
    result = run_animate(reference[0], driving, "-o", out, "--model", model_dir, "--reference-pose", reference[1])
    assert result.exit_code == 2
    assert out.read_bytes() == b"the user's earlier video"
    assert [p.name for p in tmp_path.iterdir()] == ["keep.mp4"]


def test_the_shipped_demo_model_loads_and_animates(tmp_path):
    """The embedded default: its two configs agree and it makes frames from the example inputs."""
    from ilat_video.pipeline import default_model_dir

    root = Path(__file__).resolve().parents[1]
    animator = Animator.from_pretrained(default_model_dir(), device="cpu")
    assert animator.tokenizer.config.two_stream
    frames = list(animator.animate(root / "examples" / "reference.png", root / "examples" / "driving_poses.json",
                                   reference_pose=root / "examples" / "reference_pose.json", max_frames=2,
                                   options=SQUARE))
    assert len(frames) == 2 and frames[0].shape == (animator.size, animator.size, 3)


def test_a_driving_video_under_stride_has_its_poses_found_on_the_frames_kept_only(model_dir):
    """--stride 3 --max-frames 4: the poses of frames 0, 3, 6 and 9, at a third of the video's rate,
    named by the file (its warnings say which video); MediaPipe runs on those 4 frames only (it ran
    on 12 before, three times the work, and the rest were thrown away)."""
    animator = Animator.from_pretrained(model_dir, device="cpu")
    video = DATA / "video" / "person_dribble.mp4"
    seen = []
    poses = animator.load_driving(video, max_frames=4, stride=3, progress=lambda done, total: seen.append(done))
    whole = animator.load_driving(video, max_frames=10)
    assert len(poses) == 4 and max(seen) == 4
    assert poses.source == str(video)
    assert poses.fps == pytest.approx(whole.fps / 3)
    found = poses.has_person & whole.has_person[::3]
    assert found.sum() >= 3
    assert np.abs(poses.keypoints[found, :, :2] - whole.keypoints[::3][found, :, :2]).max() < 0.1 * whole.height



def test_a_photo_cut_at_the_waist_is_said_once_in_two_lines(model_dir, tmp_path, driving, caplog):
    """`photo.jpg` cut at the waist: one warning that its lower edge cuts the person and is animated as
    framed, and one that names the joints its pose lacks and the legs not drawn (it listed each leg
    part with its joints again, four reasons in one line), and nothing about parts in later frames."""
    photo = Image.open(Path(__file__).resolve().parents[1] / "examples" / "photo.jpg")
    path = tmp_path / "waist_up.png"
    photo.crop((0, 0, photo.width, photo.height // 2)).save(path)
    animator = Animator.from_pretrained(model_dir, device="cpu")
    with caplog.at_level("WARNING"):
        frames = list(animator.animate(path, driving, max_frames=3, options=RenderOptions(max_side=160)))
    assert len(frames) == 3
    said = [r.getMessage() for r in caplog.records if r.levelname == "WARNING" and str(path) in r.getMessage()]
    cut = [m for m in said if "lower edge cuts the person" in m]
    legs = [m for m in said if "the photo's pose has no right_knee, left_knee, right_ankle, left_ankle" in m]
    assert len(cut) == 1 and len(legs) == 1 and "left_thigh" in legs[0] and "right_shank" in legs[0]
    assert len(said) == 2


@pytest.mark.parametrize("kept", [1.0, 0.5])
def test_knees_and_ankles_mediapipe_guesses_below_a_photos_edge_are_not_seen(model_dir, tmp_path, kept):
    """`photo.jpg` cut at the waist: MediaPipe places knees and ankles below the edge at visibilities
    of 0.01-0.11 (and, on a suit cut at the hem, squeezed into the photo over the jacket, where the
    warp drew legs from it). They are not seen, nor their feet's points; the whole photo's are."""
    photo = Image.open(Path(__file__).resolve().parents[1] / "examples" / "photo.jpg")
    path = tmp_path / "photo.png"
    photo.crop((0, 0, photo.width, int(kept * photo.height))).save(path)
    ref = Animator.from_pretrained(model_dir, device="cpu").load_reference(path)
    legs = [sk.R_KNEE, sk.L_KNEE, sk.R_ANKLE, sk.L_ANKLE]
    if kept == 1.0:
        assert (ref.pose[legs, 2] > LEG_GUESS).all() and (ref.extras[6:, 2] > 0).all()
    else:
        assert (ref.pose[legs, 2] == 0).all() and (ref.extras[6:, 2] == 0).all()
        assert (ref.pose[[sk.R_HIP, sk.L_HIP], 2] > 0.5).all()


def test_a_driving_video_cut_at_the_waist_stands_the_photo_on_its_own_legs(model_dir, tmp_path, caplog):
    """`examples/dance.mp4` cut just below the dancer's hips, as a webcam frames a person: MediaPipe
    guesses her knees and ankles below the frame, and the photo's legs bent and shrank with the
    guesses. They are not seen: `photo.jpg`'s own legs stand in, as the photo has them, hanging from
    its hips (at most shrunk with the figure to fit raised arms), the feet on its ground line, and
    the CLI says so once, naming the video."""
    examples = Path(__file__).resolve().parents[1] / "examples"
    video = tmp_path / "waist_up.mp4"
    with VideoWriter(video, fps=30, preset="ultrafast") as writer:
        for frame in read_frames(examples / "dance.mp4", max_frames=8):
            writer.write(np.ascontiguousarray(frame[:220]))     # hips at y 181-212 of 360, knees 242-265
    animator = Animator.from_pretrained(model_dir, device="cpu")
    reference = animator.load_reference(examples / "photo.jpg")
    with caplog.at_level("WARNING"):
        plan = animator.plan(reference, animator.load_driving(video))
    said = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert [m for m in said if m.startswith(f"{video}: the video's frame cuts the person")] == said
    assert len(said) == 1 and "right_knee, left_knee, right_ankle, left_ankle" in said[0]
    target, pose = plan.target.keypoints.astype(np.float64), reference.pose.astype(np.float64)
    ground = pose[[sk.R_ANKLE, sk.L_ANKLE], 1].max()
    assert np.abs(target[:, [sk.R_ANKLE, sk.L_ANKLE], 1].max(1) - ground).max() < 0.01 * (ground - pose[sk.HEAD, 1])
    for hip, knee, ankle in ((sk.R_HIP, sk.R_KNEE, sk.R_ANKLE), (sk.L_HIP, sk.L_KNEE, sk.L_ANKLE)):
        for joint in (knee, ankle):
            want, got = pose[joint, :2] - pose[hip, :2], target[:, joint, :2] - target[:, hip, :2]
            assert np.abs(want[0] * got[:, 1] - want[1] * got[:, 0]).max() < 1e-3 * (want @ want)
            assert (got @ want > 0.8 * (want @ want)).all()


def test_a_photo_and_a_video_both_cut_at_the_chest_keep_the_trunk(model_dir, tmp_path):
    """`photo.jpg` cut at the chest, driven by `examples/dance.mp4` cut at the chest: neither shows
    hips, so the target poses had none, the torso was not drawn and the frames showed a head turned
    on its side over the background (mean difference from the photo over the frame's lower half
    0.16). Hips placed as the standard figure has them give the trunk its place: 0.02."""
    examples = Path(__file__).resolve().parents[1] / "examples"
    photo = Image.open(examples / "photo.jpg")
    path = tmp_path / "chest_up.png"
    photo.crop((0, 0, photo.width, int(0.3 * photo.height))).save(path)
    video = tmp_path / "chest_up.mp4"
    with VideoWriter(video, fps=30, preset="ultrafast") as writer:
        for frame in read_frames(examples / "dance.mp4", max_frames=4):
            writer.write(np.ascontiguousarray(frame[:160]))      # shoulders at y ~130 of 360, hips 181-212
    animator = Animator.from_pretrained(model_dir, device="cpu")
    frames = list(animator.animate(path, video, options=RenderOptions(max_side=200)))
    height, width = frames[0].shape[:2]
    own = np.asarray(Image.open(path).convert("RGB").resize((width, height), Image.LANCZOS), np.float64) / 255
    for frame in frames:
        assert np.abs(frame / 255.0 - own)[height // 2:].mean() < 0.06


def test_a_photo_cut_down_the_middle_of_the_body_is_animated_as_framed(model_dir, tmp_path, caplog):
    """`photo.jpg` with its left 45% cut off: every joint MediaPipe finds is inside, but the person
    mask runs along the left edge for half the body's height (no whole-body development photo
    touches a side). The photo is taken as cut there: its figure keeps its size, where it shrank to
    fit the dancer's arms into the narrow photo."""
    photo = Image.open(Path(__file__).resolve().parents[1] / "examples" / "photo.jpg")
    path = tmp_path / "right_half.png"
    photo.crop((int(0.45 * photo.width), 0, photo.width, photo.height)).save(path)
    animator = Animator.from_pretrained(model_dir, device="cpu")
    whole = animator.load_reference(Path(__file__).resolve().parents[1] / "examples" / "photo.jpg")
    assert cut_sides(whole.mask, whole.pose) == set()
    reference = animator.load_reference(path)
    assert cut_sides(reference.mask, reference.pose) == {"left"}
    with caplog.at_level("WARNING"):
        plan = animator.plan(reference, animator.load_driving(Path(__file__).resolve().parents[1] / "examples"
                                                              / "dance.mp4", max_frames=30))
    assert any(f"{path}: the photo's left edge cuts the person" in r.getMessage() for r in caplog.records)
    heights = body_height(plan.target.keypoints.astype(np.float64))
    assert heights.min() > 0.85 * body_height(reference.pose.astype(np.float64))
