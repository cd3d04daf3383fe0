"""`supportcue eval ...`: measure the stages on labeled files (see DESIGN.md, evaluation contract)."""

from supportcue.eval.classify import run_classify
from supportcue.eval.oos import oos_metrics, run_oos

__all__ = ["oos_metrics", "run_classify", "run_oos"]
