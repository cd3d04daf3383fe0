"""Label quality: label issues (confident learning), annotator agreement, label counts vs target."""

from supportcue.review.agreement import (
    AgreementReport,
    LabelCount,
    PairAgreement,
    cohen_kappa,
    label_counts_vs_target,
    pairwise_agreement,
)
from supportcue.review.label_issues import LabelIssues, find_label_issues, out_of_sample_probs

__all__ = [
    "AgreementReport",
    "LabelCount",
    "LabelIssues",
    "PairAgreement",
    "cohen_kappa",
    "find_label_issues",
    "label_counts_vs_target",
    "out_of_sample_probs",
    "pairwise_agreement",
]
