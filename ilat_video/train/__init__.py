"""Training: the TS-VQGAN tokenizer (stages 1 and 2) and the LA transformer, on one CPU or under
torchrun with DDP. Each stage is a config dataclass plus a function; the CLI wraps them.

    from ilat_video.train import TokenizerTrainConfig, train_tokenizer
    result = train_tokenizer(TokenizerTrainConfig(data="synthetic", preset="small-64", out="runs/tok1"))

The files: `tokenizer.py` and `transformer.py` (each stage's config, step and loop),
`decoder_on_samples.py` (the tokenizer's `--sampled-from` term), `losses.py` and `discriminator.py`;
what both loops share: `run.py` (the run folder, resume, logging, checkpoints, stopping),
`data_stream.py` (the pairs and the resumable batch stream), `checkpoints.py`, `monitoring.py` (log,
grids, codebook usage), `schedules.py`, `seeding.py`, `precision.py` (bf16 autocast),
`model_configs.py` (presets and config.json files), `distributed.py` (torchrun).
"""
from .run import Progress, TrainResult
from .tokenizer import TokenizerTrainConfig, train_tokenizer
from .transformer import TransformerTrainConfig, train_transformer

__all__ = ["Progress", "TrainResult", "TokenizerTrainConfig", "train_tokenizer", "TransformerTrainConfig",
           "train_transformer"]
