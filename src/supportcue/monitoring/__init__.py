"""Monitoring: the match-rate definition (`match`), and the figures dashboards show."""

from supportcue.monitoring.match import (
    MatchDistribution,
    MatchResult,
    distribution,
    is_match,
    normalise,
    similarity,
)

__all__ = ["MatchDistribution", "MatchResult", "distribution", "is_match", "normalise", "similarity"]
