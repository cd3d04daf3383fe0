"""Training, the model registry, time-ordered backtests and the promotion gate."""

from supportcue.training.trainer import Trainer, build_stage

__all__ = ["Trainer", "build_stage"]
