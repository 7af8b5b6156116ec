"""The transformer training loop: frozen tokenizer, what the transformer is fed (condition tokens,
target tokens encoded with the region, normalised poses, token region), the LA / AR masks and
their loss regions, the schedule, sample grids, bad input. Tiny stand-ins keep it fast; the last
test runs the real networks at their small presets for a few steps."""
from __future__ import annotations

import importlib.util

import numpy as np
import pytest
import torch
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from _train_stubs import TinyPairs, TinyTransformer, seeded_tokenizer, seeded_transformer
from _train_stubs import one_torch_thread  # noqa: F401 (autouse fixture)
from ilat_video.cli import main
from ilat_video.errors import IlatError, ModelFileError
from ilat_video.conditioning import normalize_pose
from ilat_video.train.data_stream import BatchStream
from ilat_video.train.monitoring import read_log
from ilat_video.train.seeding import derive_seed
from ilat_video.train.transformer import (
    TransformerTrainConfig,
    _param_groups,
    expected_code_loss,
    tokenize_batch,
    train_transformer,
)

HAVE_NETWORKS = all(
    importlib.util.find_spec(m) is not None for m in ("ilat_video.nn.tokenizer", "ilat_video.nn.transformer")
)
HAVE_SAMPLER = importlib.util.find_spec("ilat_video.sampling") is not None


def config(out, **overrides):
    values = dict(out=str(out), steps=30, batch_size=4, lr=1e-2, warmup_steps=3, log_every=5,
                  checkpoint_every=15, sample_every=0, seed=0)
    values.update(overrides)
    return TransformerTrainConfig(**values)


class Recording(TinyTransformer):
    def __init__(self, config=None):
        super().__init__(config)
        self.calls = []
        self.loss_regions = []
        self.loss_weights = []

    def forward(self, cond_tokens, target_tokens, target_pose, region, *, reference_pose=None, mask="la"):
        if self.training:
            self.calls.append(dict(cond=cond_tokens, target=target_tokens, target_pose=target_pose, region=region,
                                   reference_pose=reference_pose, mask=mask))
        return super().forward(cond_tokens, target_tokens, target_pose, region, reference_pose=reference_pose,
                                mask=mask)

    def loss(self, logits, target_tokens, region, weights=None):
        self.loss_regions.append(region)
        self.loss_weights.append(weights)
        return super().loss(logits, target_tokens, region, weights)


def recording(seed=0):
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        return Recording()


def test_transformer_learns_on_a_frozen_tokenizer(tmp_path):
    tokenizer = seeded_tokenizer(3)
    before = {k: v.clone() for k, v in tokenizer.state_dict().items()}
    model = seeded_transformer()
    result = train_transformer(config(tmp_path / "run"), model=model, tokenizer=tokenizer, dataset=TinyPairs())
    assert result.step == 30
    records = read_log(tmp_path / "run" / "log.jsonl")
    assert records[-1]["loss"] < 0.7 * records[0]["loss"]
    assert records[-1]["token_accuracy"] > records[0]["token_accuracy"]
    assert all(0 < r["region_rate"] <= 1 and 1 <= r["target_perplexity"] <= 16 for r in records)
    assert all(torch.equal(before[k], v) for k, v in tokenizer.state_dict().items())  # frozen
    assert not any(p.requires_grad for p in tokenizer.parameters())
    loaded = TinyTransformer.from_pretrained(tmp_path / "run" / "model")
    assert all(torch.equal(loaded.state_dict()[k], v) for k, v in model.state_dict().items())


class AutocastProbe(TinyTransformer):
    """Remembers, for every training forward, whether CPU bf16 autocast was on."""

    def __init__(self, config=None):
        super().__init__(config)
        self.autocast = []

    def forward(self, *args, **kwargs):
        if self.training:
            self.autocast.append(torch.is_autocast_enabled("cpu"))
        return super().forward(*args, **kwargs)


@pytest.mark.parametrize("cpu_bf16", [False, True])
def test_cpu_bf16_autocasts_every_step_keeps_fp32_weights_and_still_learns(tmp_path, cpu_bf16):
    with torch.random.fork_rng():
        torch.manual_seed(0)
        model = AutocastProbe()
    train_transformer(config(tmp_path / "run", cpu_bf16=cpu_bf16), model=model, tokenizer=seeded_tokenizer(3),
                      dataset=TinyPairs())
    assert model.autocast == [cpu_bf16] * 30
    assert all(p.dtype == torch.float32 for p in model.parameters())
    records = read_log(tmp_path / "run" / "log.jsonl")
    assert records[-1]["loss"] < 0.7 * records[0]["loss"]


@pytest.mark.parametrize("mask, reference_pose", [("la", False), ("la", True), ("ar", False)])
def test_the_transformer_is_fed_what_the_design_says(tmp_path, mask, reference_pose):
    tokenizer = seeded_tokenizer(3)
    model = recording()
    pairs = TinyPairs()
    train_transformer(config(tmp_path / "run", steps=2, batch_size=3, mask=mask, reference_pose=reference_pose),
                      model=model, tokenizer=tokenizer, dataset=pairs)
    call = model.calls[0]
    # Recompute the inputs from the batch the loop drew (its sampler order is seeded, so redo it).
    batch = next(BatchStream(dataset=pairs, batch_size=3, seed=derive_seed(0, 3)))
    with torch.no_grad():
        _, cond, _ = tokenizer.encode(batch["reference"])
        _, target, _ = tokenizer.encode(batch["target"], batch["region"])
        _, target_plain, _ = tokenizer.encode(batch["target"])
    assert torch.equal(call["cond"], cond.flatten(1))
    assert torch.equal(call["target"], target.flatten(1))
    assert torch.equal(call["region"], tokenizer.token_region(batch["region"]))
    assert call["region"].dtype == torch.bool and call["region"].shape == (3, 4, 4)
    assert call["mask"] == mask
    pose = call["target_pose"]
    assert torch.equal(pose, normalize_pose(batch["target_pose"], 16))
    assert pose[..., :2].min() >= 0 and pose[..., :2].max() <= 1
    if reference_pose:
        assert torch.equal(call["reference_pose"], normalize_pose(batch["reference_pose"], 16))
    else:
        assert call["reference_pose"] is None
    # LA: loss on region tokens only; AR (the baseline generates every token): on all of them.
    loss_region = model.loss_regions[0]
    if mask == "la":
        assert torch.equal(loss_region, call["region"])
    else:
        assert bool(loss_region.all())


@pytest.mark.parametrize("changed_weight", [1.0, 3.0, 0.5])
def test_changed_weight_weighs_the_tokens_that_differ_from_the_reference(tmp_path, changed_weight):
    model = recording()
    train_transformer(config(tmp_path / "run", steps=3, batch_size=3, changed_weight=changed_weight),
                      model=model, tokenizer=seeded_tokenizer(3), dataset=TinyPairs())
    for call, weights in zip(model.calls, model.loss_weights):
        if changed_weight == 1.0:
            assert weights is None  # the paper's plain mean
            continue
        changed = call["target"] != call["cond"]
        assert changed.any() and (~changed).any()  # the check below sees both kinds
        assert torch.equal(weights, torch.where(changed, changed_weight, 1.0))
    records = read_log(tmp_path / "run" / "log.jsonl")
    assert records and all(0 <= r["changed_accuracy"] <= 1 for r in records)


def test_changed_accuracy_is_zero_for_a_model_that_copies_the_reference(tmp_path):
    class Copier(TinyTransformer):
        """Predicts the reference's token at every position, whatever it is taught."""

        def forward(self, cond_tokens, target_tokens, target_pose, region, *, reference_pose=None, mask="la"):
            logits = super().forward(cond_tokens, target_tokens, target_pose, region,
                                     reference_pose=reference_pose, mask=mask)
            return logits + 1e4 * torch.nn.functional.one_hot(cond_tokens, logits.shape[-1])

    with torch.random.fork_rng():
        torch.manual_seed(0)
        model = Copier()
    train_transformer(config(tmp_path / "run", steps=5, log_every=1), model=model, tokenizer=seeded_tokenizer(3),
                      dataset=TinyPairs())
    records = read_log(tmp_path / "run" / "log.jsonl")
    assert records and all(r["changed_accuracy"] == 0.0 for r in records)
    assert all(r["token_accuracy"] > 0 for r in records)  # it is right where the reference is


def test_changed_weight_must_be_positive(tmp_path):
    with pytest.raises(IlatError, match="--changed-weight"):
        train_transformer(config(tmp_path / "run", changed_weight=0.0), model=recording(),
                          tokenizer=seeded_tokenizer(3), dataset=TinyPairs())
    result = CliRunner().invoke(main, ["train-transformer", "--data", "synthetic", "--tokenizer", str(tmp_path),
                                       "--out", str(tmp_path / "cli"), "--changed-weight", "-1"])
    assert result.exit_code == 2 and "--changed-weight" in result.output
    assert not (tmp_path / "cli").exists()


def test_expected_code_loss_is_the_squared_distance_of_the_mean_code():
    g = torch.Generator().manual_seed(0)
    codebook = torch.randn(6, 3, generator=g)
    logits = torch.randn(2, 4, 6, generator=g, requires_grad=True)
    target = torch.randint(0, 6, (2, 4), generator=g)
    region = torch.tensor([[True, False, True, True], [False, False, True, False]])
    expected = torch.softmax(logits, -1) @ codebook  # (2, 4, 3)
    manual = (expected - codebook[target])[region].pow(2).mean()
    loss = expected_code_loss(logits, target, region, codebook)
    assert torch.allclose(loss, manual)
    # Sure of the target everywhere: nothing to learn; a gradient step moves the mean code closer.
    sure = torch.nn.functional.one_hot(target, 6).float() * 1e4
    assert float(expected_code_loss(sure, target, region, codebook)) < 1e-10
    loss.backward()
    stepped = (logits - 10.0 * logits.grad).detach()
    assert float(expected_code_loss(stepped, target, region, codebook)) < loss.item()
    assert logits.grad[~region].abs().max() == 0  # positions outside the region do not learn
    empty = expected_code_loss(logits, target, torch.zeros_like(region), codebook)
    assert empty.item() == 0.0 and empty.requires_grad


def test_expected_weight_adds_the_expected_code_term(tmp_path):
    train_transformer(config(tmp_path / "run", steps=4, batch_size=3, log_every=1, expected_weight=2.0),
                      model=recording(), tokenizer=seeded_tokenizer(3), dataset=TinyPairs())
    records = read_log(tmp_path / "run" / "log.jsonl")
    assert len(records) == 4
    for r in records:
        assert r["expected_loss"] > 0
        assert r["loss"] == pytest.approx(r["ce_loss"] + 2.0 * r["expected_loss"], rel=1e-5)
    train_transformer(config(tmp_path / "plain", steps=2, batch_size=3, log_every=1), model=recording(),
                      tokenizer=seeded_tokenizer(3), dataset=TinyPairs())
    assert all("expected_loss" not in r for r in read_log(tmp_path / "plain" / "log.jsonl"))  # 0: the paper's loss
    result = CliRunner().invoke(main, ["train-transformer", "--data", "synthetic", "--tokenizer", str(tmp_path),
                                       "--out", str(tmp_path / "cli"), "--expected-weight", "-1"])
    assert result.exit_code == 2 and "--expected-weight" in result.output


@pytest.mark.skipif(not HAVE_NETWORKS, reason="the networks have not landed")
def test_decoded_frame_loss_is_the_tokenizer_bound_when_the_model_is_sure(tmp_path):
    """Sure of every target token, the decoded-frame term is exactly the error `evaluate` scores for
    the tokenizer's bound with the reference kept where the target token is the reference's
    ("reconstruction-unchanged"): the same codes, the same Eq. 4 decoding, the same pasting."""
    from ilat_video import eval as ev
    from ilat_video.eval.pairs import stack_pairs
    from ilat_video.nn.tokenizer import TokenizerConfig, TSVQGAN
    from ilat_video.train.transformer import decoded_frame_loss

    torch.manual_seed(0)
    tokenizer = TSVQGAN(TokenizerConfig(resolution=32, base_channels=8, channel_mult=(1, 2, 4), codebook_size=32,
                                        code_dim=8, linear_path=True)).eval().requires_grad_(False)
    batch = stack_pairs(ev.pair_subsets("synthetic", 32, count=4, seeds=(5,))[5], torch.device("cpu"))
    inputs = tokenize_batch(tokenizer, batch, torch.device("cpu"), needs_reference_pose=False, known=True)
    codebook = tokenizer.quantizer.codes().float()
    sure = (torch.nn.functional.one_hot(inputs["target"], 32).float() * 1e4).requires_grad_(True)
    loss = decoded_frame_loss(tokenizer, sure, inputs, codebook)
    frames = ev.generate("reconstruction-unchanged", tokenizer, None, batch)
    inside = batch["region"].bool()[:, None].expand(-1, 3, -1, -1)
    want = ((frames - batch["target"]) / 2).pow(2)[inside].mean()
    assert loss.item() == pytest.approx(want.item(), rel=1e-5)

    # Unsure logits: only region positions learn, and a step along the gradient lowers the error.
    logits = torch.randn(inputs["target"].shape + (32,), requires_grad=True)
    loss = decoded_frame_loss(tokenizer, logits, inputs, codebook)
    loss.backward()
    outside = ~inputs["token_region"].flatten(1)
    assert logits.grad[outside].abs().max() == 0 and logits.grad[~outside].abs().max() > 0
    stepped = (logits - 0.5 * logits.grad / logits.grad.norm()).detach()
    assert decoded_frame_loss(tokenizer, stepped, inputs, codebook).item() < loss.item()


def test_decoded_weight_adds_the_decoded_frame_term_and_keeps_the_tokenizer(tmp_path):
    tokenizer = seeded_tokenizer(3)
    before = {k: v.clone() for k, v in tokenizer.state_dict().items()}
    train_transformer(config(tmp_path / "run", steps=4, batch_size=3, log_every=1, decoded_weight=5.0),
                      model=recording(), tokenizer=tokenizer, dataset=TinyPairs())
    records = read_log(tmp_path / "run" / "log.jsonl")
    assert len(records) == 4
    for r in records:
        assert r["decoded_loss"] > 0
        assert r["loss"] == pytest.approx(r["ce_loss"] + 5.0 * r["decoded_loss"], rel=1e-5)
    assert all(torch.equal(before[k], v) for k, v in tokenizer.state_dict().items())  # frozen
    train_transformer(config(tmp_path / "plain", steps=4, batch_size=3, log_every=1), model=recording(),
                      tokenizer=seeded_tokenizer(3), dataset=TinyPairs())
    from safetensors.torch import load_file

    weights = [load_file(str(tmp_path / name / "model" / "model.safetensors")) for name in ("run", "plain")]
    assert any(not torch.equal(weights[0][k], weights[1][k]) for k in weights[0])  # the term changes learning
    result = CliRunner().invoke(main, ["train-transformer", "--data", "synthetic", "--tokenizer", str(tmp_path),
                                       "--out", str(tmp_path / "cli"), "--decoded-weight", "-1"])
    assert result.exit_code == 2 and "--decoded-weight" in result.output
    with pytest.raises(IlatError, match="--decoded-weight"):
        config(tmp_path / "ar", mask="ar", decoded_weight=1.0).validate()


def test_tokenize_batch_uses_the_region_for_the_target_only():
    tokenizer = seeded_tokenizer(1)
    batch = {k: torch.stack([TinyPairs()[i][k] for i in range(2)]) for k in TinyPairs()[0]}
    seen = []
    original = tokenizer.encode

    def spy(image, region=None):
        seen.append(region)
        return original(image, region)

    tokenizer.encode = spy
    inputs = tokenize_batch(tokenizer, batch, torch.device("cpu"), needs_reference_pose=False)
    assert seen[0] is None and torch.equal(seen[1], batch["region"])
    assert inputs["cond"].shape == inputs["target"].shape == (2, 16)


@settings(max_examples=40, deadline=None)
@given(size=st.integers(16, 512), seed=st.integers(0, 2**31 - 1))
def test_normalize_pose_maps_the_crop_to_the_unit_square(size, seed):
    rng = np.random.default_rng(seed)
    pose = torch.from_numpy(rng.uniform(-0.2 * size, 1.2 * size, (2, 13, 3)).astype(np.float32))
    pose[..., 2] = torch.from_numpy(rng.uniform(0, 1, (2, 13)).astype(np.float32))
    out = normalize_pose(pose, size)
    assert out[..., :2].min() >= 0 and out[..., :2].max() <= 1
    assert torch.equal(out[..., 2], pose[..., 2])
    inside = (pose[..., :2] >= 0) & (pose[..., :2] <= size)
    assert torch.allclose(out[..., :2][inside], pose[..., :2][inside] / size)


def test_weight_decay_applies_to_matrices_only():
    model = seeded_transformer()
    decay, no_decay = _param_groups(model, 0.01)
    assert decay["weight_decay"] == 0.01 and no_decay["weight_decay"] == 0.0
    assert all(p.dim() >= 2 for p in decay["params"]) and all(p.dim() < 2 for p in no_decay["params"])
    assert len(decay["params"]) + len(no_decay["params"]) == len(list(model.parameters()))


def test_sample_grid_shows_reference_target_and_greedy_sample(tmp_path, monkeypatch):
    # A stand-in sampler with the sampling module's signature (the real one is tested on its own).
    def sample_local(model, cond_tokens, target_tokens, target_pose, region, *, reference_pose=None, greedy=True):
        assert greedy and not model.training  # greedy, as in the paper, in eval mode
        logits = model(cond_tokens, target_tokens, target_pose, region, reference_pose=reference_pose)
        return torch.where(region.flatten(1), logits.argmax(-1), target_tokens)

    monkeypatch.setattr("ilat_video.train.transformer.sample_local", sample_local)
    monkeypatch.setattr("ilat_video.train.transformer.sample_vanilla", None)
    train_transformer(config(tmp_path / "run", steps=4, sample_every=2, sample_count=3), model=seeded_transformer(),
                      tokenizer=seeded_tokenizer(), dataset=TinyPairs())
    grids = sorted((tmp_path / "run" / "samples").glob("*.png"))
    assert [g.name for g in grids] == ["step-00000002.png", "step-00000004.png"]
    assert Image.open(grids[0]).size == (3 * 18 + 2, 3 * 18 + 2)  # 3 columns x 3 samples of 16 px


@pytest.mark.parametrize("bad, message", [
    (dict(mask="vanilla"), "--mask"), (dict(steps=0), "--steps"), (dict(weight_decay=-1.0), "--weight-decay"),
])
def test_bad_settings_are_refused(tmp_path, bad, message):
    with pytest.raises(IlatError, match=message):
        train_transformer(config(tmp_path / "run", **bad), model=seeded_transformer(), tokenizer=seeded_tokenizer(),
                          dataset=TinyPairs())


def test_missing_tokenizer_and_bad_data_exit_2(tmp_path):
    not_a_model = tmp_path / "nothing"
    not_a_model.mkdir()
    with pytest.raises(ModelFileError, match="not a tokenizer model folder"):
        train_transformer(config(tmp_path / "run", tokenizer=str(not_a_model)), dataset=TinyPairs())
    runner = CliRunner()
    result = runner.invoke(main, ["train-transformer", "--data", "synthetic", "--tokenizer", str(not_a_model),
                                  "--out", str(tmp_path / "o")])
    assert result.exit_code == 2 and "not a tokenizer model folder" in " ".join(result.output.split())
    empty = tmp_path / "empty"
    empty.mkdir()
    result = runner.invoke(main, ["train-transformer", "--data", str(empty), "--tokenizer", str(not_a_model),
                                  "--out", str(tmp_path / "o")])
    assert result.exit_code == 2 and "empty" in result.output


@pytest.mark.skipif(not HAVE_NETWORKS, reason="the tokenizer / transformer have not landed")
def test_real_networks_train_through_the_cli(tmp_path):
    from ilat_video.nn.tokenizer import TSVQGAN, TokenizerConfig
    from ilat_video.nn.transformer import LATransformer

    torch.manual_seed(0)
    # A tiny TS-VQGAN (32x32 images, 8x8 tokens) and the "tiny" transformer keep this fast.
    TSVQGAN(TokenizerConfig(resolution=32, base_channels=8, channel_mult=(1, 2, 4), codebook_size=32,
                            code_dim=8)).save_pretrained(tmp_path / "tok")
    runner = CliRunner()
    sample_every = "2" if HAVE_SAMPLER else "0"
    for name, flags in (("la", ["--mask", "la"]), ("ar", ["--mask", "ar"]), ("ref", ["--reference-pose"]),
                        ("map", ["--pose-map"])):
        result = runner.invoke(main, [
            "train-transformer", "--data", "synthetic", "--tokenizer", str(tmp_path / "tok"), "--preset", "tiny",
            "--out", str(tmp_path / name), *flags, "--steps", "2", "--batch-size", "2", "--log-every", "1",
            "--sample-every", sample_every, "--checkpoint-every", "2", "--lr", "1e-3",
        ])
        assert result.exit_code == 0, result.output
        records = read_log(tmp_path / name / "log.jsonl")
        assert [r["step"] for r in records] == [1, 2] and all(np.isfinite(r["loss"]) for r in records)
        model = LATransformer.from_pretrained(tmp_path / name / "model")
        assert model.config.grid == (8, 8) and model.config.codebook_size == 32
        assert model.config.use_reference_pose == (name == "ref")
        assert model.config.pose_map == (name == "map")
        if name == "map":  # the projection trained away from its zero start
            assert model.pose_map.proj.weight.abs().max() > 0
        if HAVE_SAMPLER:
            assert (tmp_path / name / "samples" / "step-00000002.png").is_file()
    # Resuming with the other reference-pose setting is refused (the network would differ).
    result = runner.invoke(main, [
        "train-transformer", "--data", "synthetic", "--tokenizer", str(tmp_path / "tok"), "--preset", "tiny",
        "--out", str(tmp_path / "ref"), "--no-reference-pose", "--steps", "3", "--resume",
    ])
    assert result.exit_code == 2 and "reference_pose" in result.output
    # So is resuming with the other pose-map setting.
    result = runner.invoke(main, [
        "train-transformer", "--data", "synthetic", "--tokenizer", str(tmp_path / "tok"), "--preset", "tiny",
        "--out", str(tmp_path / "map"), "--no-pose-map", "--steps", "3", "--resume",
    ])
    assert result.exit_code == 2 and "pose_map" in result.output


@pytest.mark.skipif(not HAVE_NETWORKS, reason="the tokenizer / transformer have not landed")
def test_init_warm_starts_from_a_trained_transformer(tmp_path):
    from safetensors.torch import load_file

    from ilat_video.nn.tokenizer import TSVQGAN, TokenizerConfig
    from ilat_video.nn.transformer import LATransformer, transformer_preset

    torch.manual_seed(0)
    TSVQGAN(TokenizerConfig(resolution=32, base_channels=8, channel_mult=(1, 2, 4), codebook_size=32,
                            code_dim=8)).save_pretrained(tmp_path / "tok")
    torch.manual_seed(1)
    trained = LATransformer(transformer_preset("tiny", codebook_size=32, grid=(8, 8)))
    trained.save_pretrained(tmp_path / "trained" / "model")  # a run folder's layout
    runner = CliRunner()

    def train(out, *flags):
        return runner.invoke(main, [
            "train-transformer", "--data", "synthetic", "--tokenizer", str(tmp_path / "tok"), "--preset", "tiny",
            "--out", str(tmp_path / out), "--steps", "1", "--batch-size", "2", "--sample-every", "0",
            "--lr", "1e-9", "--warmup-steps", "0", *flags,
        ])

    result = train("warm", "--init", str(tmp_path / "trained"))
    assert result.exit_code == 0, result.output
    before = trained.state_dict()
    after = load_file(str(tmp_path / "warm" / "model" / "model.safetensors"))
    assert after.keys() == before.keys()
    assert all(torch.allclose(after[k], before[k], atol=1e-6) for k in after)  # a step of lr 1e-9 from init
    # --pose-map grows pose maps on the trained model: every weight kept, the new projection at zero,
    # so the grown model starts out computing what the trained one did.
    result = train("grown", "--init", str(tmp_path / "trained"), "--pose-map")
    assert result.exit_code == 0, result.output
    grown = load_file(str(tmp_path / "grown" / "model" / "model.safetensors"))
    assert set(grown) - set(before) == {"pose_map.proj.weight"}
    assert all(torch.allclose(grown[k], before[k], atol=1e-6) for k in before)
    assert grown["pose_map.proj.weight"].abs().max() < 1e-6
    # A model with pose maps trains on only with them.
    result = train("shrunk", "--init", str(tmp_path / "grown"))
    assert result.exit_code == 2 and "--pose-map" in result.output
    result = train("cold")  # the preset's own initialisation is another network
    assert result.exit_code == 0, result.output
    cold = load_file(str(tmp_path / "cold" / "model" / "model.safetensors"))
    assert not all(torch.allclose(cold[k], before[k], atol=1e-3) for k in cold)

    # A transformer that does not fit the tokenizer, or the run's reference-pose setting, is refused.
    LATransformer(transformer_preset("tiny", codebook_size=16, grid=(8, 8))).save_pretrained(tmp_path / "k16")
    result = train("bad", "--init", str(tmp_path / "k16"))
    assert result.exit_code == 2 and "codebook_size 16" in result.output and not (tmp_path / "bad" / "model").exists()
    result = train("bad", "--init", str(tmp_path / "trained"), "--reference-pose")
    assert result.exit_code == 2 and "use_reference_pose" in result.output
    empty = tmp_path / "empty"
    empty.mkdir()
    result = train("bad", "--init", str(empty))
    assert result.exit_code == 2 and "--init needs a transformer model folder" in " ".join(result.output.split())
