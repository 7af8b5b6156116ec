"""`ilat-video train-tokenizer`, `train-transformer` and `synth`: training and its data."""
from __future__ import annotations

import sys

import click

from .common import SectionedCommand, console, experimental, set_threads, user_errors

# --- training ---


def _train_with_progress(train, config, label: str) -> None:
    """Run a training function with a rich progress bar (loss, speed) and report how it ended."""
    import signal

    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    columns = (
        TextColumn(f"[bold]{label}[/]"), BarColumn(), MofNCompleteColumn(),
        TextColumn("loss {task.fields[loss]}"), TextColumn("{task.fields[speed]}"),
        TimeElapsedColumn(), TimeRemainingColumn(),
    )
    bar = Progress(*columns, console=console, transient=False)
    task = None

    def on_step(p) -> None:
        nonlocal task
        if task is None:
            bar.start()
            task = bar.add_task(label, total=p.total_steps, completed=p.step - 1, loss="-", speed="")
        loss = "-" if p.loss is None else f"{p.loss:.4f}"
        speed = f"{p.steps_per_s:.2f} it/s {p.images_per_s:.1f} img/s" if p.steps_per_s else ""
        bar.update(task, completed=p.step, loss=loss, speed=speed)

    try:
        result = train(config, callback=on_step)
    finally:
        bar.stop()
    if result.model_dir is None:  # ranks other than 0 under torchrun stay quiet
        return
    if result.stopped_by == "signal":
        console.print(f"stopped at step {result.step} by a signal; checkpoint written to {result.out}. "
                      "Continue with the same command and --resume.")
        sys.exit(128 + (result.signum or signal.SIGINT))
    how = "time budget spent" if result.stopped_by == "time" else "done"
    console.print(f"{how} at step {result.step}; weights in {result.model_dir}, log in {result.out / 'log.jsonl'}")


def _common_training_options(func):
    options = [
        click.option("--data", required=True, help="'synthetic', a Penn Action folder, or a folder of videos."),
        click.option("--out", required=True, type=click.Path(file_okay=False), help="Run folder (log, samples, checkpoints, model/)."),
        click.option("--steps", type=int, default=10_000, show_default=True),
        click.option("--batch-size", type=int, default=16, show_default=True, help="Per process."),
        click.option("--grad-clip", type=float, default=1.0, show_default=True, help="Max gradient norm (0: off)."),
        click.option("--resume", is_flag=True, help="Continue the run in --out from its latest checkpoint."),
        click.option("--seed", type=int, default=0, show_default=True),
        click.option("--workers", "num_workers", type=int, default=0, show_default=True, help="DataLoader worker processes."),
        click.option("--log-every", type=int, default=10, show_default=True),
        click.option("--checkpoint-every", type=int, default=500, show_default=True),
        click.option("--sample-every", type=int, default=500, show_default=True, help="Sample grid PNG interval (0: none)."),
        click.option("--max-minutes", type=float, default=None, help="Wall-clock budget: checkpoint and stop when spent."),
        click.option("--stop-at", type=click.IntRange(min=1), default=None,
                     help="Stop (with a checkpoint) after this step while the LR schedule still runs to --steps: "
                          "gives an ablation the exact step budget of a time-limited run."),
        click.option("--device", default=None, help="cpu, cuda, cuda:1 ... (default: CUDA if available)."),
        click.option("--bf16/--no-bf16", default=True, show_default=True, help="bf16 autocast on CUDA."),
        click.option("--cpu-bf16", is_flag=True,
                     help="bf16 autocast on the CPU too: 1.5-1.8x faster steps where the CPU has native bf16 "
                          "(AVX512-BF16 or AMX), slower elsewhere."),
        click.option("--threads", type=click.IntRange(min=1), default=None,
                     help="CPU threads for torch (1 is fastest when the cores are shared; default: torch's)."),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def _gan_weight(ctx, param, value):
    if value is None or value == "adaptive":
        return None
    try:
        return float(value)
    except ValueError:
        raise click.BadParameter("'adaptive' or a number (the paper fixes 0.1)") from None


@click.command("train-tokenizer", cls=SectionedCommand)
@_common_training_options
@click.option("--preset", default="small-64", show_default=True, help="Tokenizer preset or config.json.")
@click.option("--stage", type=click.Choice(["1", "2"]), default="1", show_default=True,
              help="1: plain VQGAN; 2: with pose regions + free-form masks (Eq. 4).")
@click.option("--init", type=click.Path(exists=True, file_okay=False), default=None,
              help="Start from these weights (stage 2: the stage-1 run or its model/ folder).")
@click.option("--lr", type=float, default=8e-5, show_default=True)
@click.option("--lr-decay-every", type=int, default=None, help="Halve the LR every N steps (default: steps/3).")
@click.option("--gan-weight", callback=_gan_weight, default="adaptive", show_default=True,
              help="'adaptive' (taming) or a fixed weight.")
@click.option("--gan-start", type=int, default=None, help="Step the GAN loss starts (default: steps/5, 0 with --init).")
@click.option("--vgg-weights", type=click.Path(exists=True, dir_okay=False), default=None,
              help="Local VGG16 .safetensors for the perceptual loss (none: no perceptual loss).")
@click.option("--perceptual-weight", type=float, default=1.0, show_default=True)
@click.option("--region-mix", type=float, default=0.5, show_default=True,
              help="Stage 2: share of pose regions (the rest free-form masks).")
@click.option("--norm-group-channels", type=click.IntRange(min=1), default=None,
              help="Fewest channels per decoder GroupNorm group (1: VQGAN's 32 groups; 4 keeps an image's "
                   "overall colour in a small decoder). Overrides the preset's or --init's; weights load either way.")
@experimental("--decoder-only", is_flag=True,
              help="Train the decoder only: encoder and codebook stay fixed, so tokens (and a transformer "
                   "trained on them) stay valid.")
@experimental("--decoder-channels", type=click.IntRange(min=1), default=None,
              help="With --init: a decoder this wide (channels at full resolution); its deep part starts afresh.")
@experimental("--decoder-res-blocks", type=click.IntRange(min=1), default=None,
              help="With --init: this many residual blocks per decoder level; added ones start as the "
                   "identity, so the decoder trains on from --init's.")
@experimental("--sampled-from", type=click.Path(exists=True, file_okay=False), default=None,
              help="With --decoder-only: also train the decoder on the frames this LA transformer (model folder "
                   "or run) makes for each batch's pairs, greedy, from its expected codes and its tokens, against "
                   "the targets (not in the paper).")
@experimental("--sampled-weight", type=click.FloatRange(min=0), default=100.0, show_default=True,
              help="Weight of each --sampled-from term: the squared error inside the region, images in [0, 1].")
@user_errors
def train_tokenizer_command(stage, threads, **options) -> None:
    """Train the TS-VQGAN tokenizer (stage 1, then stage 2 with --init)."""
    from ..train.tokenizer import TokenizerTrainConfig, train_tokenizer

    set_threads(threads)
    config = TokenizerTrainConfig(stage=int(stage), **options)
    _train_with_progress(train_tokenizer, config, f"tokenizer stage {stage}")


@click.command("train-transformer", cls=SectionedCommand)
@_common_training_options
@click.option("--tokenizer", required=True, type=click.Path(exists=True, file_okay=False),
              help="The trained tokenizer's model folder (or its run folder).")
@click.option("--preset", default="small", show_default=True, help="Transformer preset or config.json.")
@click.option("--mask", type=click.Choice(["la", "ar"]), default="la", show_default=True,
              help="la: iLAT's local AR mask; ar: the vanilla AR baseline.")
@click.option("--reference-pose/--no-reference-pose", default=False, show_default=True,
              help="Also feed the reference pose as condition tokens.")
@experimental("--pose-map/--no-pose-map", default=False, show_default=True,
              help="Add both poses drawn onto the token grid to the token embeddings (not in the paper); "
                   "with --init from a model without them, they are added, starting at zero.")
@experimental("--changed-weight", type=click.FloatRange(min=0, min_open=True), default=1.0, show_default=True,
              help="Loss weight of the region tokens whose target differs from the reference's token there "
                   "(the ones copying gets wrong); 1: the paper's plain mean.")
@experimental("--expected-weight", type=click.FloatRange(min=0), default=0.0, show_default=True,
              help="Also train the expected code that `animate --decode expected` renders: this weight times "
                   "its squared distance from the target token's code (not in the paper); 0: cross-entropy only.")
@experimental("--decoded-weight", type=click.FloatRange(min=0), default=0.0, show_default=True,
              help="Also train the frame `animate --decode expected` shows: this weight times the squared error "
                   "inside the region of the expected codes decoded by the tokenizer (images in [0, 1]; not in the "
                   "paper); 0: off.")
@click.option("--init", type=click.Path(exists=True, file_okay=False), default=None,
              help="Start from this transformer's weights (its model/ folder or run folder) instead of the "
                   "preset, e.g. after training the tokenizer further.")
@click.option("--lr", type=float, default=5e-5, show_default=True)
@click.option("--warmup-steps", type=int, default=None, help="Linear warmup (default: steps/30), then linear decay to 0.")
@click.option("--weight-decay", type=float, default=0.01, show_default=True)
@user_errors
def train_transformer_command(threads, **options) -> None:
    """Train the LA transformer on a frozen tokenizer."""
    from ..train.transformer import TransformerTrainConfig, train_transformer

    set_threads(threads)
    config = TransformerTrainConfig(**options)
    _train_with_progress(train_transformer, config, f"transformer ({options['mask']})")


# --- training data (synthetic people) ---
@click.command("synth")
@click.argument("out", type=click.Path(file_okay=False))
@click.option("--videos", type=click.IntRange(min=0), default=16, show_default=True, help="Clips of --split.")
@click.option("--frames", type=click.IntRange(min=2), default=32, show_default=True, help="Frames per clip.")
@click.option("--size", type=click.IntRange(min=16), default=128, show_default=True, help="Frame side in pixels.")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--split", type=click.Choice(["train", "test"]), default="train", show_default=True,
              help="The split of the clips (their identities and backgrounds never meet the other split's).")
@click.option("--test-videos", type=click.IntRange(min=0), default=0, show_default=True,
              help="Also write this many test-split clips after them, in the same folder.")
@user_errors
def synth_command(out, videos, frames, size, seed, split, test_videos) -> None:
    """Render synthetic people in the Penn Action layout (OUT/frames, OUT/labels)."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    from ..data.synth import write_penn_dataset

    with Progress(TextColumn("synth"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                  console=console, transient=True) as bar:
        task = bar.add_task("frames", total=(videos + test_videos) * frames)
        written = write_penn_dataset(out, videos=videos, frames=frames, size=size, seed=seed, split=split,
                                     test_videos=test_videos,
                                     progress=lambda done, total: bar.update(task, completed=done))
    click.echo(f"wrote {len(written)} videos ({(videos + test_videos) * frames} frames of {size}x{size}) to {out}")
