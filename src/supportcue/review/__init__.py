"""Label quality and the review program: label issues (confident learning), annotator agreement
(Cohen's kappa, Krippendorff's alpha), label counts vs target; the review queue (`queue.py`: active
learning beside a random sample), reviews as `sme` labels (`record.py`) and the online precision
estimate (`stats.py`)."""

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
