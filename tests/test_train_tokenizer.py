"""The tokenizer training loop: stages 1 and 2, GAN schedule and weights, regions, sample grids,
codebook usage, init from stage 1, bad input. Tiny stand-ins keep it fast (tests/_train_stubs.py);
the last tests run the real TS-VQGAN at its small preset for a few steps."""
from __future__ import annotations

import dataclasses
import importlib.util
import json

import numpy as np
import pytest
import torch
from click.testing import CliRunner
from PIL import Image
from safetensors.torch import load_file, save_file

from _train_stubs import TinyPairs, TinyTokenizer, TinyTokenizerConfig, seeded_tokenizer
from _train_stubs import one_torch_thread  # noqa: F401 (autouse fixture)
from ilat_video.cli import main
from ilat_video.errors import DatasetError, IlatError
from ilat_video.train.monitoring import read_log
from ilat_video.train.losses import VGG16Features
from ilat_video.train.tokenizer import TokenizerTrainConfig, images_and_regions, train_tokenizer

HAVE_TOKENIZER = importlib.util.find_spec("ilat_video.nn.tokenizer") is not None


def config(out, **overrides):
    values = dict(out=str(out), steps=40, batch_size=4, lr=1e-2, lr_decay_every=1000, log_every=8,
                  checkpoint_every=20, sample_every=20, sample_count=3, gan_start=1000, disc_channels=8,
                  disc_layers=2, seed=0)
    values.update(overrides)
    return TokenizerTrainConfig(**values)


class Recording(TinyTokenizer):
    """Remembers the regions it was called with. Initial weights seeded (tests must not depend on
    the global RNG)."""

    def __init__(self, config=None, seed=0):
        with torch.random.fork_rng():
            torch.manual_seed(seed)
            super().__init__(config)
        self.regions = []

    def forward(self, image, region=None):
        if self.training:
            self.regions.append(None if region is None else region.clone())
        return super().forward(image, region)


def test_stage_1_learns_and_writes_log_grids_and_model(tmp_path):
    out = tmp_path / "run"
    model = Recording(TinyTokenizerConfig(codebook_size=64, factor=2))  # 8x8 tokens, 64 codes
    result = train_tokenizer(config(out), model=model, dataset=TinyPairs())
    assert result.step == 40 and result.stopped_by == "steps"
    assert all(r is None for r in model.regions)  # stage 1: no regions
    records = read_log(out / "log.jsonl")
    assert [r["step"] for r in records] == [8, 16, 24, 32, 40]
    assert records[-1]["l1"] < 0.85 * records[0]["l1"]
    assert records[-1]["psnr"] > records[0]["psnr"] + 1.0
    for r in records:
        assert 1.0 <= r["perplexity"] <= 64 and 0 <= r["dead_codes"] < 64
        assert r["lr"] == 1e-2 and r["steps_per_s"] > 0 and r["images_per_s"] == pytest.approx(4 * r["steps_per_s"])
        assert "g_loss" not in r and "d_loss" not in r  # the GAN has not started
    # Sample grids: 3 rows (sample_count) x 2 columns (input | reconstruction), 16 px + 2 px padding.
    grids = sorted((out / "samples").glob("*.png"))
    assert [g.name for g in grids] == ["step-00000020.png", "step-00000040.png"]
    assert Image.open(grids[0]).size == (2 * 18 + 2, 3 * 18 + 2)
    # The model folder holds the final weights and loads on its own.
    loaded = TinyTokenizer.from_pretrained(out / "model")
    assert loaded.config == model.config
    for key, value in model.state_dict().items():
        assert torch.equal(loaded.state_dict()[key], value), key
    saved = json.loads((out / "train_config.json").read_text())
    assert saved["kind"] == "tokenizer" and saved["steps"] == 40


class AutocastProbe(Recording):
    """Remembers, for every training forward, whether CPU bf16 autocast was on."""

    def __init__(self, config=None, seed=0):
        super().__init__(config, seed)
        self.autocast = []

    def forward(self, image, region=None):
        if self.training:
            self.autocast.append(torch.is_autocast_enabled("cpu"))
        return super().forward(image, region)


@pytest.mark.parametrize("cpu_bf16", [False, True])
def test_cpu_bf16_autocasts_every_step_keeps_fp32_weights_and_still_learns(tmp_path, cpu_bf16):
    out = tmp_path / "run"
    model = AutocastProbe(TinyTokenizerConfig(codebook_size=64, factor=2))
    train_tokenizer(config(out, cpu_bf16=cpu_bf16, gan_start=30, sample_every=0), model=model, dataset=TinyPairs())
    assert model.autocast == [cpu_bf16] * 40
    assert all(p.dtype == torch.float32 for p in model.parameters())
    records = read_log(out / "log.jsonl")
    assert records[-1]["psnr"] > records[0]["psnr"] + 1.0
    assert np.isfinite(records[-1]["d_loss"])  # the discriminator's step ran under it too
    assert json.loads((out / "train_config.json").read_text())["cpu_bf16"] is cpu_bf16


def test_gan_starts_at_its_step_with_a_fixed_or_adaptive_weight(tmp_path):
    fixed = train_tokenizer(config(tmp_path / "fixed", steps=16, log_every=4, gan_start=8, gan_weight=0.1),
                            model=seeded_tokenizer(), dataset=TinyPairs())
    records = read_log(fixed.out / "log.jsonl")
    assert ["g_loss" in r for r in records] == [False, False, True, True]
    assert all(r["gan_weight"] == pytest.approx(0.1) for r in records[2:])
    assert all(np.isfinite(r["d_loss"]) and r["d_loss"] >= 0 for r in records[2:])
    adaptive = train_tokenizer(config(tmp_path / "adaptive", steps=16, log_every=4, gan_start=8),
                               model=seeded_tokenizer(), dataset=TinyPairs())
    weights = [r["gan_weight"] for r in read_log(adaptive.out / "log.jsonl")[2:]]
    assert all(0 < w < 1e4 for w in weights) and weights != [pytest.approx(0.1)] * 2
    # The discriminator was trained and saved beside the model.
    assert set(load_file(str(adaptive.out / "checkpoints" / "step-00000016" / "discriminator.safetensors")))


def test_stage_2_mixes_pose_regions_and_free_form_masks():
    batch = {k: torch.stack([v[k] for v in (TinyPairs()[i] for i in range(8))]) for k in TinyPairs()[0]}
    rng = np.random.default_rng(0)
    images, regions = images_and_regions(batch, 16, 2, 1.0, rng)
    # Pairs are interleaved (reference 0, target 0, ...) and both use the pair's union region.
    assert torch.equal(images[0], batch["reference"][0]) and torch.equal(images[1], batch["target"][0])
    assert torch.equal(regions[0], batch["region"][0]) and torch.equal(regions[1], batch["region"][0])
    _, free = images_and_regions(batch, 16, 2, 0.0, np.random.default_rng(0))
    assert free.dtype == torch.bool and free.shape == (16, 16, 16)
    assert not any(torch.equal(free[i], batch["region"][i // 2]) for i in range(16))
    _, mixed = images_and_regions(batch, 16, 2, 0.5, np.random.default_rng(0))
    from_pose = sum(torch.equal(mixed[i], batch["region"][i // 2]) for i in range(16))
    assert 0 < from_pose < 16
    # Same generator state, same regions; stage 1 has none; a smaller batch is trimmed.
    _, again = images_and_regions(batch, 16, 2, 0.5, np.random.default_rng(0))
    assert torch.equal(mixed, again)
    images1, none = images_and_regions(batch, 5, 1, 0.5, rng)
    assert none is None and images1.shape == (5, 3, 16, 16)


def test_stage_2_trains_with_regions_from_init(tmp_path):
    stage1 = train_tokenizer(config(tmp_path / "s1", steps=8, gan_start=4), model=seeded_tokenizer(),
                             dataset=TinyPairs())
    model = Recording()
    from ilat_video.train.tokenizer import resolve_init

    model_dir, disc = resolve_init(stage1.out)
    assert model_dir == stage1.out / "model" and disc.name == "discriminator.safetensors"
    # init is applied by the builder; with an explicit model the caller loads the weights.
    from ilat_video.nn.pretrained import load_weights

    load_weights(model, model_dir / "model.safetensors")
    train_tokenizer(config(tmp_path / "s2", stage=2, steps=8, region_mix=0.5, gan_start=0), model=model,
                    dataset=TinyPairs())
    assert len(model.regions) == 8
    assert all(r is not None and r.shape == (4, 16, 16) and r.dtype == torch.bool for r in model.regions)
    assert all(r.any() for r in model.regions)
    grid = Image.open(tmp_path / "s2" / "samples" / "step-00000008.png")
    assert grid.size == (38, 56)


def test_perceptual_loss_from_a_local_vgg_file(tmp_path):
    torch.manual_seed(0)
    path = tmp_path / "vgg16.safetensors"
    save_file({k: v.contiguous() for k, v in VGG16Features().state_dict().items()}, str(path))
    result = train_tokenizer(config(tmp_path / "run", steps=2, log_every=1, sample_every=0, vgg_weights=str(path)),
                             model=seeded_tokenizer(), dataset=TinyPairs())
    records = read_log(result.out / "log.jsonl")
    assert all(r["perceptual"] > 0 for r in records)


@pytest.mark.parametrize("bad, message", [
    (dict(stage=3), "--stage"), (dict(steps=0), "--steps"), (dict(region_mix=1.5), "--region-mix"),
    (dict(batch_size=-1), "--batch-size"), (dict(beta2=1.0), "betas"),
    (dict(norm_group_channels=0), "--norm-group-channels"),
    (dict(decoder_res_blocks=3), "needs --init"), (dict(decoder_channels=0, init="x"), "--decoder-channels"),
])
def test_bad_settings_are_refused(tmp_path, bad, message):
    with pytest.raises(IlatError, match=message):
        train_tokenizer(config(tmp_path / "run", **bad), model=seeded_tokenizer(), dataset=TinyPairs())


def test_bad_data_folders_raise_dataset_errors(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(DatasetError, match="empty"):
        train_tokenizer(config(tmp_path / "run", data=str(empty)), model=seeded_tokenizer())
    with pytest.raises(DatasetError, match="no such data folder"):
        train_tokenizer(config(tmp_path / "run", data=str(tmp_path / "missing")), model=seeded_tokenizer())
    half = tmp_path / "half"
    (half / "frames" / "0001").mkdir(parents=True)  # Penn Action frames without labels
    with pytest.raises(DatasetError, match="labels"):
        train_tokenizer(config(tmp_path / "run", data=str(half)), model=seeded_tokenizer())


def test_cli_exits_2_with_a_clear_message_on_bad_data(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    runner = CliRunner()
    for data, message in ((empty, "empty"), (tmp_path / "missing", "no such data folder")):
        result = runner.invoke(main, ["train-tokenizer", "--data", str(data), "--out", str(tmp_path / "o")])
        assert result.exit_code == 2, result.output
        text = " ".join(result.output.split())  # rich wraps long lines
        assert message in text and "Traceback" not in text
    result = runner.invoke(main, ["train-tokenizer", "--data", "synthetic", "--out", str(tmp_path / "o"),
                                  "--gan-weight", "lots"])
    assert result.exit_code == 2 and "adaptive" in result.output


# -- the real TS-VQGAN ------------------------------------------------------------------------


@pytest.mark.skipif(not HAVE_TOKENIZER, reason="ilat_video.nn.tokenizer has not landed")
def test_real_tokenizer_trains_both_stages_through_the_cli(tmp_path):
    from ilat_video.nn.pretrained import save_config
    from ilat_video.nn.tokenizer import TokenizerConfig

    # --preset also takes a config.json: a tiny TS-VQGAN keeps this test fast.
    tiny = tmp_path / "tiny.json"
    save_config(TokenizerConfig(resolution=32, base_channels=8, channel_mult=(1, 2), codebook_size=32,
                                code_dim=8), tiny)
    runner = CliRunner()
    common = ["--data", "synthetic", "--preset", str(tiny), "--steps", "3", "--batch-size", "2",
              "--log-every", "1", "--checkpoint-every", "2", "--sample-every", "3", "--gan-start", "1"]
    s1 = runner.invoke(main, ["train-tokenizer", *common, "--out", str(tmp_path / "s1"), "--stage", "1"])
    assert s1.exit_code == 0, s1.output
    s2 = runner.invoke(main, ["train-tokenizer", *common, "--out", str(tmp_path / "s2"), "--stage", "2",
                              "--init", str(tmp_path / "s1"), "--cpu-bf16"])
    assert s2.exit_code == 0, s2.output
    for run, cpu_bf16 in (("s1", False), ("s2", True)):
        assert json.loads((tmp_path / run / "train_config.json").read_text())["cpu_bf16"] is cpu_bf16
    from ilat_video.nn.tokenizer import TSVQGAN

    model = TSVQGAN.from_pretrained(tmp_path / "s2" / "model")
    assert model.config == TSVQGAN.from_pretrained(tmp_path / "s1" / "model").config
    assert [r["step"] for r in read_log(tmp_path / "s2" / "log.jsonl")] == [1, 2, 3]
    assert (tmp_path / "s2" / "samples" / "step-00000003.png").is_file()


@pytest.mark.skipif(not HAVE_TOKENIZER, reason="ilat_video.nn.tokenizer has not landed")
def test_decoder_only_keeps_every_token_and_trains_the_decoder_with_new_norm_groups(tmp_path):
    """--decoder-only --norm-group-channels: a trained tokenizer gets a retrained decoder under another
    GroupNorm rule while its encoder and codebook, and so every image's tokens, stay exactly as they were."""
    from ilat_video.nn.tokenizer import TSVQGAN, TokenizerConfig

    torch.manual_seed(0)
    TSVQGAN(TokenizerConfig(resolution=32, base_channels=8, channel_mult=(1, 2, 4), codebook_size=32, code_dim=8,
                            restart_dead_codes=True)).save_pretrained(tmp_path / "init")
    before = TSVQGAN.from_pretrained(tmp_path / "init")
    result = CliRunner().invoke(main, [
        "train-tokenizer", "--data", "synthetic", "--out", str(tmp_path / "run"), "--stage", "2",
        "--init", str(tmp_path / "init"), "--decoder-only", "--norm-group-channels", "4", "--steps", "4",
        "--batch-size", "4", "--lr", "1e-3", "--gan-start", "1000", "--sample-every", "0", "--log-every", "1",
    ])
    assert result.exit_code == 0, result.output
    after = TSVQGAN.from_pretrained(tmp_path / "run" / "model")
    assert after.config.norm_group_channels == 4 and after.decoder.norm_out.num_groups == 2
    old, new = before.state_dict(), after.state_dict()
    for key in old:
        if key.startswith("decoder."):
            continue
        assert torch.equal(old[key], new[key]), f"{key} changed"  # codebook and usage too: no restarts
    assert any(not torch.equal(old[k], new[k]) for k in old if k.startswith("decoder.") and k.endswith("weight"))
    image = torch.rand(3, 3, 32, 32) * 2 - 1
    with torch.no_grad():
        assert torch.equal(before.encode(image)[1], after.encode(image)[1])


@pytest.mark.skipif(not HAVE_TOKENIZER, reason="ilat_video.nn.tokenizer has not landed")
def test_a_deeper_decoder_trains_on_from_init_keeps_the_tokens_and_resumes(tmp_path):
    """--decoder-res-blocks with --decoder-only: the added blocks train, every token stays as it was,
    and a stopped run resumes into the same deeper model."""
    from ilat_video.nn.tokenizer import TSVQGAN, TokenizerConfig

    torch.manual_seed(0)
    TSVQGAN(TokenizerConfig(resolution=32, base_channels=8, channel_mult=(1, 2, 4), codebook_size=32, code_dim=8,
                            linear_path=True, norm_group_channels=2)).save_pretrained(tmp_path / "init")
    before = TSVQGAN.from_pretrained(tmp_path / "init")
    command = ["train-tokenizer", "--data", "synthetic", "--out", str(tmp_path / "run"), "--stage", "2",
               "--init", str(tmp_path / "init"), "--decoder-only", "--decoder-res-blocks", "3", "--steps", "4",
               "--batch-size", "4", "--lr", "1e-3", "--gan-start", "1000", "--sample-every", "0",
               "--log-every", "1", "--checkpoint-every", "2"]
    first = CliRunner().invoke(main, [*command, "--stop-at", "2"])
    assert first.exit_code == 0, first.output
    resumed = CliRunner().invoke(main, [*command, "--resume"])
    assert resumed.exit_code == 0, resumed.output
    assert [r["step"] for r in read_log(tmp_path / "run" / "log.jsonl")] == [1, 2, 3, 4]
    after = TSVQGAN.from_pretrained(tmp_path / "run" / "model")
    assert after.config == dataclasses.replace(before.config, decoder_channels=8, decoder_res_blocks=3)
    assert all(level[2].conv2.weight.detach().abs().sum() > 0 for level in after.decoder.levels)  # learned
    old, new = before.state_dict(), after.state_dict()
    for key in old:
        if not key.startswith("decoder."):
            assert torch.equal(old[key], new[key]), f"{key} changed"
    image = torch.rand(3, 3, 32, 32) * 2 - 1
    with torch.no_grad():
        assert torch.equal(before.encode(image)[1], after.encode(image)[1])


@pytest.mark.skipif(not HAVE_TOKENIZER, reason="ilat_video.nn.tokenizer has not landed")
def test_cli_wrong_layout_and_bad_labels_exit_2(tmp_path):
    from ilat_video.data.synth import write_penn_dataset
    from ilat_video.nn.pretrained import save_config
    from ilat_video.nn.tokenizer import TokenizerConfig

    tiny = tmp_path / "tiny.json"
    save_config(TokenizerConfig(resolution=32, base_channels=8, channel_mult=(1, 2), codebook_size=32, code_dim=8), tiny)
    half = tmp_path / "half"
    (half / "frames" / "0001").mkdir(parents=True)
    penn = tmp_path / "penn"
    write_penn_dataset(penn, videos=2, frames=4, size=32, seed=0)
    next((penn / "frames" / "0001").glob("*.jpg")).unlink()  # labels now promise a frame that is gone
    runner = CliRunner()
    for data, message in ((half, "labels"), (penn, "0001")):
        result = runner.invoke(main, ["train-tokenizer", "--data", str(data), "--preset", str(tiny),
                                      "--out", str(tmp_path / "o"), "--steps", "1"])
        text = " ".join(result.output.split())
        assert result.exit_code == 2, result.output
        assert message in text and "Traceback" not in text


# --------------------------------------------------------------------------------------------
# --sampled-from: the decoder trained on what the transformer samples
# --------------------------------------------------------------------------------------------


def sampled_models(tmp_path, pose_map=True):
    """A tiny TS-VQGAN (32x32, 8x8 tokens) and tiny LA transformer, saved; pose maps made to matter."""
    from ilat_video.nn.tokenizer import TSVQGAN, TokenizerConfig
    from ilat_video.nn.transformer import LATransformer, transformer_preset

    torch.manual_seed(0)
    tokenizer = TSVQGAN(TokenizerConfig(resolution=32, base_channels=8, channel_mult=(1, 2, 4), codebook_size=32,
                                        code_dim=8, linear_path=True)).eval()
    transformer = LATransformer(transformer_preset("tiny", codebook_size=32, grid=(8, 8), pose_map=pose_map)).eval()
    if pose_map:
        torch.nn.init.normal_(transformer.pose_map.proj.weight)
    tokenizer.save_pretrained(tmp_path / "tok")
    transformer.save_pretrained(tmp_path / "tr")
    return tokenizer, transformer


@pytest.mark.skipif(not HAVE_TOKENIZER, reason="ilat_video.nn.tokenizer has not landed")
@pytest.mark.parametrize("pose_map", [False, True])
def test_sampled_loss_is_the_error_evaluate_measures_on_the_pipelines_frames(tmp_path, pose_map):
    """What --sampled-from trains is exactly what `evaluate` scores: the squared error inside the
    region of the ilat-expected and ilat-unchanged frames (the Animator's), pooled over the batch."""
    from ilat_video import eval as ev
    from ilat_video.eval.pairs import stack_pairs
    from ilat_video.train.decoder_on_samples import sample_for_decoder, sampled_loss

    tokenizer, transformer = sampled_models(tmp_path, pose_map)
    pairs = ev.pair_subsets("synthetic", 32, count=4, seeds=(3,))[3]
    batch = stack_pairs(pairs, torch.device("cpu"))
    with torch.no_grad():
        sampled = sample_for_decoder(tokenizer, transformer, batch, torch.device("cpu"))
        losses = sampled_loss(tokenizer, sampled)
    inside = batch["region"].bool()[:, None].expand(-1, 3, -1, -1)
    for name, method in (("expected", "ilat-expected"), ("tokens", "ilat-unchanged")):
        frames = ev.generate(method, tokenizer, transformer, batch)
        want = ((frames - batch["target"]) / 2).pow(2)[inside].mean()
        assert losses[name].item() == pytest.approx(want.item(), rel=1e-5), name
    assert sampled["changed"].le(sampled["region"]).all()  # the model changes nothing outside the region
    assert not torch.equal(sampled["codes"]["expected"], sampled["codes"]["tokens"])


@pytest.mark.skipif(not HAVE_TOKENIZER, reason="ilat_video.nn.tokenizer has not landed")
def test_sampled_from_trains_the_decoder_only_and_its_term_counts(tmp_path):
    """--sampled-from: every token stays as it was (the transformer stays valid), both terms are
    logged, and the term changes what the decoder learns (weight 0 vs 1000, same seed)."""
    from ilat_video.nn.tokenizer import TSVQGAN

    sampled_models(tmp_path)
    before = TSVQGAN.from_pretrained(tmp_path / "tok")

    def run(name, weight):
        result = CliRunner().invoke(main, [
            "train-tokenizer", "--data", "synthetic", "--out", str(tmp_path / name), "--stage", "2",
            "--init", str(tmp_path / "tok"), "--decoder-only", "--sampled-from", str(tmp_path / "tr"),
            "--sampled-weight", str(weight), "--steps", "3", "--batch-size", "4", "--lr", "1e-3",
            "--gan-start", "1000", "--sample-every", "0", "--log-every", "1",
        ])
        assert result.exit_code == 0, result.output
        return TSVQGAN.from_pretrained(tmp_path / name / "model").state_dict()

    new, without = run("run", 1000), run("zero", 0)
    records = read_log(tmp_path / "run" / "log.jsonl")
    assert [r["step"] for r in records] == [1, 2, 3]
    assert all(0 < r["sampled_expected_psnr"] < 100 and 0 < r["sampled_tokens_psnr"] < 100 for r in records)
    old = before.state_dict()
    for key in old:
        if not key.startswith("decoder."):
            assert torch.equal(old[key], new[key]), f"{key} changed"
    decoder = [k for k in old if k.startswith("decoder.") and k.endswith("weight")]
    assert any(not torch.equal(old[k], new[k]) for k in decoder)
    assert any(not torch.equal(without[k], new[k]) for k in decoder)


def test_sampled_from_needs_a_decoder_only_stage_2_run(tmp_path):
    for bad in (dict(sampled_from="x"), dict(sampled_from="x", decoder_only=True),
                dict(sampled_from="x", stage=2)):
        with pytest.raises(IlatError, match="--sampled-from"):
            train_tokenizer(config(tmp_path / "run", **bad), model=seeded_tokenizer(), dataset=TinyPairs())
    with pytest.raises(IlatError, match="--sampled-weight"):
        train_tokenizer(config(tmp_path / "run", sampled_weight=-1.0), model=seeded_tokenizer(), dataset=TinyPairs())


@pytest.mark.skipif(not HAVE_TOKENIZER, reason="ilat_video.nn.tokenizer has not landed")
def test_sampled_from_a_folder_without_a_transformer_exits_2(tmp_path):
    sampled_models(tmp_path)
    result = CliRunner().invoke(main, [
        "train-tokenizer", "--data", "synthetic", "--out", str(tmp_path / "run"), "--stage", "2",
        "--init", str(tmp_path / "tok"), "--decoder-only", "--sampled-from", str(tmp_path / "tok"), "--steps", "1",
        "--batch-size", "2", "--gan-start", "1000", "--sample-every", "0",
    ])
    assert result.exit_code == 2, result.output
    assert "no transformer" in result.output
    assert not (tmp_path / "run" / "model").exists()
