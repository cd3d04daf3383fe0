"""Training, the model registry, backtests (time-ordered when the history allows it) and the gate."""

from supportcue.training.trainer import Trainer, build_stage

__all__ = ["Trainer", "build_stage"]
