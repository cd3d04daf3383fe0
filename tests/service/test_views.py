"""The pages' views as plain data: chart geometry, the histogram and the findings, on hand-made numbers."""

from __future__ import annotations

from typing import Any

from supportcue.service.views import findings, histogram, line_chart


def day(key: str, rate: float | None, num: int, den: int) -> dict[str, Any]:
    return {"key": key, "adoption": rate, "inserted": num, "shown": den}


def test_line_chart_places_rates_on_a_0_to_100_scale_over_their_denominator() -> None:
    days = [day("2026-10-01", 1.0, 4, 4), day("2026-10-02", None, 0, 0), day("2026-10-03", 0.5, 1, 2)]
    chart = line_chart(days, "adoption", "inserted", "shown", "Adoption", "shown")
    top, base = chart["grid"][2]["y"], chart["base"]  # the 100% and 0% lines
    assert [d["y"] for d in chart["dots"]] == [top, (top + base) / 2]  # no dot for a day with no rate
    assert chart["dots"][0]["tip"] == "2026-10-01: 100% (4 / 4 shown)"
    assert [b["h"] for b in chart["bars"]][1] == 0 and chart["bars"][0]["h"] == 2 * chart["bars"][2]["h"]
    assert [t["label"] for t in chart["ticks"]] == ["10-01", "10-02", "10-03"]
    assert chart["label"] == "Adoption per day; latest 2026-10-03: 50%"
    assert (
        line_chart([], "adoption", "inserted", "shown", "Adoption", "shown")["label"] == "Adoption: no data"
    )


def test_histogram_is_relative_to_the_tallest_bucket() -> None:
    bars = histogram({"buckets": ["0-0.5", "0.5-1"], "histogram": [1, 4]})
    assert [(b["bucket"], b["n"], b["pct"]) for b in bars] == [("0-0.5", 1, 25.0), ("0.5-1", 4, 100.0)]
    assert [b["pct"] for b in histogram({"buckets": ["a"], "histogram": [0]})] == [0.0]


def test_findings_name_adoption_match_the_least_used_topic_and_the_stage_that_stops_most() -> None:
    report = {
        "adoption": 0.25,
        "shown": 40,
        "match_rate": 0.5,
        "sent_pairs": 12,
        "by_topic": [
            {"key": "payouts", "shown": 30, "adoption": 0.3, "dismiss_reasons": {"outdated": 5, "tone": 1}},
            {
                "key": "refunds",
                "shown": 10,
                "adoption": 0.1,
                "dismiss_reasons": {"wrong_topic": 4, "outdated": 2, "tone": 1},
            },
            {"key": "rare", "shown": 2, "adoption": 0.0, "dismiss_reasons": {}},
        ],
        "funnel": [
            {"stage": "validation", "entered": 50, "stopped": 3},
            {"stage": "topic", "entered": 47, "stopped": 7},
        ],
    }
    assert findings(report) == [
        "Agents inserted 25% of the 40 suggestions shown to them.",
        "50% of suggestions matched the reply the agent sent (12 replies).",
        "Least used topic: refunds (10% adoption; dismissed as wrong topic 4, outdated 2).",
        "Most abstentions at the topic stage (7 of 47).",
    ]
    empty = {"adoption": None, "match_rate": None, "by_topic": [], "funnel": []}
    assert findings(empty) == []
