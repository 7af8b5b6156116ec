"""Interrupted training resumes exactly: step counter, learning rate, optimizer, RNG, data position
and the loss curve continue where they were. Uses the tiny stand-ins of tests/_train_stubs.py."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from _train_stubs import TinyPairs, TinyPairStream, one_torch_thread  # noqa: F401 (autouse fixture)
from _train_stubs import seeded_tokenizer as TinyTokenizer
from _train_stubs import seeded_transformer as TinyTransformer
from ilat_video.errors import IlatError
from ilat_video.train.checkpoints import latest_checkpoint
from ilat_video.train.data_stream import BatchStream, ShardedInfiniteSampler
from ilat_video.train.monitoring import read_log
from ilat_video.train.schedules import StepDecay, WarmupLinearDecay
from ilat_video.train.tokenizer import TokenizerTrainConfig, train_tokenizer
from ilat_video.train.transformer import TransformerTrainConfig, train_transformer

TESTS = Path(__file__).parent
TIMING = {"steps_per_s", "images_per_s", "elapsed_s"}


class Crash(RuntimeError):
    pass


def crash_at(step):
    def callback(progress):
        if progress.step == step:
            raise Crash(f"simulated crash after step {step}")

    return callback


def tok_config(out, **overrides):
    values = dict(out=str(out), stage=2, steps=12, batch_size=4, lr=2e-3, lr_decay_every=5, log_every=1,
                  checkpoint_every=4, sample_every=0, gan_start=3, disc_channels=8, disc_layers=2, seed=3)
    values.update(overrides)
    return TokenizerTrainConfig(**values)


def tf_config(out, **overrides):
    values = dict(out=str(out), steps=12, batch_size=4, lr=3e-3, warmup_steps=3, log_every=1,
                  checkpoint_every=4, sample_every=0, seed=5)
    values.update(overrides)
    return TransformerTrainConfig(**values)


def curve(out):
    return [{k: v for k, v in rec.items() if k not in TIMING} for rec in read_log(Path(out) / "log.jsonl")]


def weights(out):
    return load_file(str(Path(out) / "model" / "model.safetensors"))


def assert_same_weights(a, b):
    wa, wb = weights(a), weights(b)
    assert wa.keys() == wb.keys()
    for key in wa:
        assert torch.equal(wa[key], wb[key]), key


# -- schedules ---------------------------------------------------------------------------------


def test_step_decay_halves_every_interval():
    schedule = StepDecay(8e-5, every=50, factor=0.5)
    assert [schedule(s) for s in (0, 49, 50, 99, 100, 150)] == [8e-5, 8e-5, 4e-5, 4e-5, 2e-5, 1e-5]


def test_warmup_then_linear_decay_to_zero():
    schedule = WarmupLinearDecay(1e-3, warmup=10, total=100)
    lrs = [schedule(s) for s in range(101)]
    assert lrs[9] == pytest.approx(1e-3) and lrs[0] == pytest.approx(1e-4)
    assert all(a < b for a, b in zip(lrs[:10], lrs[1:10]))  # rising during warmup
    assert all(a > b for a, b in zip(lrs[10:100], lrs[11:101]))  # then falling
    assert lrs[100] == 0.0 and schedule(150) == 0.0
    assert lrs[55] == pytest.approx(1e-3 * 45 / 90)  # linear in between


# -- the data stream ---------------------------------------------------------------------------


def test_sampler_started_at_an_offset_continues_the_same_sequence():
    full = ShardedInfiniteSampler(10, seed=1)
    it = iter(full)
    first = [next(it) for _ in range(27)]
    later = iter(ShardedInfiniteSampler(10, seed=1, start=13))
    assert [next(later) for _ in range(14)] == first[13:]
    assert sorted(first[:10]) == list(range(10)) and sorted(first[10:20]) == list(range(10))  # epochs


def test_sampler_shards_are_disjoint_and_cover_the_epoch():
    shards = []
    for rank in range(3):
        it = iter(ShardedInfiniteSampler(10, seed=2, rank=rank, world_size=3))
        shards.append([next(it) for _ in range(4)])  # ceil(10 / 3) = 4 per rank, padded
    drawn = sum(shards, [])
    assert len(drawn) == 12 and set(drawn) == set(range(10))  # 2 indices repeated as padding


@pytest.mark.parametrize("kind", ["map", "iterable"])
def test_batch_stream_resumed_at_any_batch_gives_the_same_batches(kind):
    def stream(start):
        if kind == "map":
            return BatchStream(dataset=TinyPairs(8, length=10), batch_size=3, seed=4, start_batch=start)
        return BatchStream(make_iterable=lambda seg: TinyPairStream(8, seed=100 + seg), batch_size=3, seed=4,
                           segment_batches=4, start_batch=start)

    s = stream(0)
    full = [next(s)["target"] for _ in range(10)]
    for start in (3, 4, 7):
        resumed = stream(start)
        for i in range(start, 10):
            assert torch.equal(next(resumed)["target"], full[i]), (start, i)
        assert resumed.batch == 10


class EpochRecorder(torch.utils.data.Dataset):
    """Returns (epoch, index) so a test can see which epoch each sample was drawn in."""

    def __init__(self, length=5):
        self.length, self.epoch = length, 0

    def __len__(self):
        return self.length

    def set_epoch(self, epoch):
        self.epoch = epoch

    def __getitem__(self, index):
        return torch.tensor([self.epoch, index])


@pytest.mark.parametrize("workers", [0, 1])
def test_datasets_with_epochs_get_theirs_in_workers_and_after_resume(workers):
    def drawn(start, count):
        stream = BatchStream(dataset=EpochRecorder(), batch_size=2, seed=0, start_batch=start, num_workers=workers)
        out = torch.cat([next(stream) for _ in range(count)]).tolist()
        stream.close()
        return out

    full = drawn(0, 8)  # 16 samples = 3 epochs of 5 and one more
    assert [e for e, _ in full] == [0] * 5 + [1] * 5 + [2] * 5 + [3]
    for epoch in range(3):
        assert sorted(i for e, i in full if e == epoch) == list(range(5))
    assert drawn(3, 5) == full[6:]


# -- resume after a crash (in process) ---------------------------------------------------------


def test_penn_action_run_resumes_exactly(tmp_path):
    from ilat_video.data.synth import write_penn_dataset

    write_penn_dataset(tmp_path / "penn", videos=5, frames=6, size=32, seed=0)
    cfg = dict(data=str(tmp_path / "penn"), steps=8, sample_every=0, checkpoint_every=3)
    train_tokenizer(tok_config(tmp_path / "reference", **cfg), model=TinyTokenizer())
    with pytest.raises(Crash):
        train_tokenizer(tok_config(tmp_path / "crashed", **cfg), model=TinyTokenizer(), callback=crash_at(5))
    train_tokenizer(tok_config(tmp_path / "crashed", resume=True, **cfg), model=TinyTokenizer())
    assert curve(tmp_path / "crashed") == curve(tmp_path / "reference")
    assert_same_weights(tmp_path / "crashed", tmp_path / "reference")


def test_tokenizer_run_resumes_exactly_after_a_crash(tmp_path):
    reference = tmp_path / "reference"
    train_tokenizer(tok_config(reference), model=TinyTokenizer(), dataset=TinyPairs())

    crashed = tmp_path / "crashed"
    with pytest.raises(Crash):
        train_tokenizer(tok_config(crashed), model=TinyTokenizer(), dataset=TinyPairs(), callback=crash_at(6))
    assert latest_checkpoint(crashed).name == "step-00000004"
    assert [r["step"] for r in read_log(crashed / "log.jsonl")] == [1, 2, 3, 4, 5, 6]

    result = train_tokenizer(tok_config(crashed, resume=True), model=TinyTokenizer(), dataset=TinyPairs())
    assert result.step == 12 and result.stopped_by == "steps"
    # The curve continues from step 4: steps 5 and 6 of the crashed run are replaced, not repeated,
    # and every value (losses, learning rate, GAN weight, codebook usage) matches the uninterrupted run.
    assert curve(crashed) == curve(reference)
    assert [r["step"] for r in curve(crashed)] == list(range(1, 13))
    assert_same_weights(crashed, reference)


@pytest.mark.parametrize("data", ["map", "stream"])
def test_transformer_run_resumes_exactly_after_a_crash(tmp_path, data):
    tokenizer = TinyTokenizer()
    make = (lambda: TinyPairs()) if data == "map" else (lambda: (lambda seg: TinyPairStream(seed=seg)))
    extra = {} if data == "map" else {"data_segment_steps": 5}  # the crash lands inside segment 2

    reference = tmp_path / "reference"
    train_transformer(tf_config(reference, **extra), model=TinyTransformer(), tokenizer=tokenizer, dataset=make())
    crashed = tmp_path / "crashed"
    with pytest.raises(Crash):
        train_transformer(tf_config(crashed, **extra), model=TinyTransformer(), tokenizer=tokenizer,
                          dataset=make(), callback=crash_at(7))
    train_transformer(tf_config(crashed, resume=True, **extra), model=TinyTransformer(), tokenizer=tokenizer,
                      dataset=make())
    got, want = curve(crashed), curve(reference)
    assert got == want
    # Warmup then decay, continuing across the resume.
    assert [r["lr"] for r in got] == pytest.approx([1e-3, 2e-3, 3e-3] + [3e-3 * k / 9 for k in range(9, 0, -1)])
    assert_same_weights(crashed, reference)


def test_a_run_folder_is_not_overwritten_without_resume(tmp_path):
    out = tmp_path / "run"
    train_tokenizer(tok_config(out, steps=4), model=TinyTokenizer(), dataset=TinyPairs())
    with pytest.raises(IlatError, match="--resume"):
        train_tokenizer(tok_config(out, steps=4), model=TinyTokenizer(), dataset=TinyPairs())
    with pytest.raises(IlatError, match="transformer run|tokenizer run"):
        train_transformer(tf_config(out, resume=True), model=TinyTransformer(), tokenizer=TinyTokenizer(),
                          dataset=TinyPairs())


def test_resume_without_a_checkpoint_starts_fresh_and_a_finished_run_stays_finished(tmp_path):
    out = tmp_path / "run"
    result = train_tokenizer(tok_config(out, steps=4, resume=True), model=TinyTokenizer(), dataset=TinyPairs())
    assert result.step == 4
    before = weights(out)
    again = train_tokenizer(tok_config(out, steps=4, resume=True), model=TinyTokenizer(), dataset=TinyPairs())
    assert again.step == 4 and again.stopped_by == "steps"
    assert all(torch.equal(before[k], v) for k, v in weights(out).items())
    # More steps on resume: the run continues from 4 to 6.
    longer = train_tokenizer(tok_config(out, steps=6, resume=True), model=TinyTokenizer(), dataset=TinyPairs())
    assert [r["step"] for r in read_log(out / "log.jsonl")] == [1, 2, 3, 4, 5, 6] and longer.step == 6


def test_time_budget_checkpoints_and_stops(tmp_path):
    out = tmp_path / "run"
    result = train_tokenizer(tok_config(out, steps=10_000, max_minutes=1e-9, checkpoint_every=1000),
                             model=TinyTokenizer(), dataset=TinyPairs())
    assert result.stopped_by == "time" and result.step == 1
    assert latest_checkpoint(out).name == "step-00000001"
    assert (out / "model" / "model.safetensors").is_file()


@pytest.mark.parametrize("kind", ["tokenizer", "transformer"])
def test_stop_at_is_an_exact_prefix_of_the_full_schedule(tmp_path, kind):
    # An ablation gets a time-limited run's exact step budget: stop at step 7 of a 12-step schedule,
    # with the learning rate of the 12-step run (not a schedule squeezed into 7 steps).
    def run(out, **overrides):
        if kind == "tokenizer":
            return train_tokenizer(tok_config(out, **overrides), model=TinyTokenizer(), dataset=TinyPairs())
        return train_transformer(tf_config(out, **overrides), model=TinyTransformer(), tokenizer=TinyTokenizer(),
                                 dataset=TinyPairs())

    run(tmp_path / "full")
    result = run(tmp_path / "stopped", stop_at=7)
    assert result.step == 7 and result.stopped_by == "steps"
    assert latest_checkpoint(tmp_path / "stopped").name == "step-00000007"
    assert curve(tmp_path / "stopped") == curve(tmp_path / "full")[:7]
    # Resumed without stop_at, it continues to the full run's curve and weights.
    run(tmp_path / "stopped", resume=True)
    assert curve(tmp_path / "stopped") == curve(tmp_path / "full")
    assert_same_weights(tmp_path / "stopped", tmp_path / "full")


def test_latest_checkpoint_ignores_partial_folders(tmp_path):
    out = tmp_path / "run"
    train_tokenizer(tok_config(out, steps=8, keep_checkpoints=3), model=TinyTokenizer(), dataset=TinyPairs())
    root = out / "checkpoints"
    assert sorted(p.name for p in root.glob("step-*")) == ["step-00000004", "step-00000008"]
    (root / ".tmp-step-00000012-xyz").mkdir()  # a save killed halfway
    assert latest_checkpoint(out).name == "step-00000008"
    (root / "latest").write_text("step-00000012\n")  # pointer to a folder that never appeared
    assert latest_checkpoint(out).name == "step-00000008"
    # The published model folder is the newest checkpoint's weights.
    assert load_file(str(out / "model" / "model.safetensors")).keys() == \
        load_file(str(root / "step-00000008" / "model.safetensors")).keys()
    state = torch.load(root / "step-00000008" / "state.pt", weights_only=True)
    assert state["step"] == 8 and set(state["optimizers"]) == {"generator", "discriminator"}


# -- resume after a real signal (subprocess) ---------------------------------------------------

SCRIPT = textwrap.dedent(
    """
    import sys
    sys.path.insert(0, {tests!r})
    from _train_stubs import TinyPairs, seeded_tokenizer as TinyTokenizer
    from ilat_video.train.tokenizer import TokenizerTrainConfig, train_tokenizer
    config = TokenizerTrainConfig(**{config!r})
    result = train_tokenizer(config, model=TinyTokenizer(), dataset=TinyPairs())
    print("RESULT", result.stopped_by, result.step, flush=True)
    """
)


def _launch(config: dict) -> subprocess.Popen:
    code = SCRIPT.format(tests=str(TESTS), config=config)
    env = dict(os.environ, OMP_NUM_THREADS="1")
    # Its own process group, so a signal can go to the whole group as Ctrl-C in a terminal does.
    return subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env=env, start_new_session=True)


def _wait_for(predicate, proc, timeout=60.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        if proc.poll() is not None:
            raise AssertionError(f"the training process ended early: {proc.communicate()}")
        time.sleep(0.05)
    proc.kill()
    raise AssertionError("timed out waiting for the training process")


def _config_dict(out, **overrides):
    values = dict(out=str(out), stage=2, steps=100_000, batch_size=4, lr=2e-3, lr_decay_every=7, log_every=1,
                  checkpoint_every=5, sample_every=0, gan_start=2, disc_channels=8, disc_layers=2, seed=3)
    values.update(overrides)
    return values


def _logged_steps(out):
    path = Path(out) / "log.jsonl"
    try:
        return [json.loads(line)["step"] for line in path.read_text().splitlines() if line.strip()]
    except (FileNotFoundError, json.JSONDecodeError):
        return []


@pytest.mark.slow
@pytest.mark.parametrize("how", ["sigterm-process", "sigint-group-with-workers", "sigterm-group-with-workers"])
def test_a_signal_checkpoints_the_current_step_and_resume_continues(tmp_path, how):
    out = tmp_path / "run"
    workers = 1 if how.endswith("workers") else 0
    proc = _launch(_config_dict(out, num_workers=workers))
    _wait_for(lambda: len(_logged_steps(out)) >= 7, proc)
    if how == "sigterm-process":
        proc.send_signal(signal.SIGTERM)
    else:  # Ctrl-C, or a scheduler stopping the job: the loader's worker gets the signal too and
        # must not die before the main process has checkpointed.
        os.killpg(proc.pid, signal.SIGINT if how.startswith("sigint") else signal.SIGTERM)
    stdout, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 0, stderr
    stopped = int(stdout.split("RESULT signal ")[1].split()[0])
    assert stopped >= 7
    assert latest_checkpoint(out).name == f"step-{stopped:08d}"  # the step it stopped at, not the last periodic one
    total = stopped + 4
    result = train_tokenizer(TokenizerTrainConfig(**_config_dict(out, steps=total, resume=True, num_workers=workers)),
                             model=TinyTokenizer(), dataset=TinyPairs())
    assert result.step == total
    records = read_log(out / "log.jsonl")
    assert [r["step"] for r in records] == list(range(1, total + 1))
    lrs = [r["lr"] for r in records]
    assert lrs == [StepDecay(2e-3, 7)(s - 1) for s in range(1, total + 1)]  # the schedule carries on


@pytest.mark.slow
def test_sigkill_after_a_checkpoint_resumes_to_the_uninterrupted_curve(tmp_path):
    killed = tmp_path / "killed"
    proc = _launch(_config_dict(killed))
    _wait_for(lambda: latest_checkpoint(killed) is not None and len(_logged_steps(killed)) >= 8, proc)
    proc.kill()  # SIGKILL: no handler, no final checkpoint
    proc.communicate(timeout=60)
    saved = int(latest_checkpoint(killed).name.split("-")[1])
    assert saved % 5 == 0 and saved >= 5
    total = saved + 6
    train_tokenizer(TokenizerTrainConfig(**_config_dict(killed, steps=total, resume=True, lr_decay_every=7)),
                    model=TinyTokenizer(), dataset=TinyPairs())
    reference = tmp_path / "reference"
    train_tokenizer(TokenizerTrainConfig(**_config_dict(reference, steps=total)), model=TinyTokenizer(),
                    dataset=TinyPairs())
    # The killed process ran with 1 thread, the reference and the resumed part with the default:
    # equal to float rounding, same steps and learning rates exactly.
    got, want = curve(killed), curve(reference)
    assert [r["step"] for r in got] == [r["step"] for r in want] == list(range(1, total + 1))
    assert [r["lr"] for r in got] == [r["lr"] for r in want]
    for a, b in zip(got, want):
        assert a.keys() == b.keys()
        for key in a:
            assert a[key] == pytest.approx(b[key], rel=1e-4, abs=1e-5), (a["step"], key)
