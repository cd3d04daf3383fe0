"""Weak supervision: labeling functions, the applier, label models, LF analysis, embedding-based labeling."""

from supportcue.weak.analysis import LFAnalysis, LFStats, analyze_lfs, conflict_matrix, render_analysis
from supportcue.weak.apply import ABSTAIN_INDEX, ApplyResult, apply_lfs
from supportcue.weak.label_model import (
    MIN_LFS_FOR_LABEL_MODEL,
    LabelModel,
    LabelModelChoice,
    MajorityVoter,
    choose_label_model,
    majority_only_reason,
)
from supportcue.weak.lf import (
    ABSTAIN,
    LabelingFunction,
    LFInput,
    answer_match_lf,
    keyword_lf,
    labeling_function,
    load_lfs_from_modules,
    regex_lf,
    similarity_lf,
    token_ratio,
)
from supportcue.weak.propagation import fit_with_unlabeled, propagate

__all__ = [
    "ABSTAIN",
    "ABSTAIN_INDEX",
    "MIN_LFS_FOR_LABEL_MODEL",
    "ApplyResult",
    "LFAnalysis",
    "LFInput",
    "LFStats",
    "LabelModel",
    "LabelModelChoice",
    "LabelingFunction",
    "MajorityVoter",
    "analyze_lfs",
    "answer_match_lf",
    "apply_lfs",
    "choose_label_model",
    "conflict_matrix",
    "fit_with_unlabeled",
    "keyword_lf",
    "labeling_function",
    "load_lfs_from_modules",
    "majority_only_reason",
    "propagate",
    "regex_lf",
    "render_analysis",
    "similarity_lf",
    "token_ratio",
]
