"""Training: the TS-VQGAN tokenizer (stages 1 and 2) and the LA transformer, on one CPU or under
torchrun with DDP. Each stage is a config dataclass plus a function; the CLI wraps them.

    from ilat_video.train import TokenizerTrainConfig, train_tokenizer
    result = train_tokenizer(TokenizerTrainConfig(data="synthetic", preset="small-64", out="runs/tok1"))
"""
from .common import Progress, TrainResult
from .tokenizer import TokenizerTrainConfig, train_tokenizer
from .transformer import TransformerTrainConfig, train_transformer

__all__ = ["Progress", "TrainResult", "TokenizerTrainConfig", "train_tokenizer", "TransformerTrainConfig",
           "train_transformer"]
