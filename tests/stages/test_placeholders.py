"""Placeholders: keys, filling from the case and the workspace, and the customer's name that is never
missing (the greeting without a name, the name left out with its comma)."""

from __future__ import annotations

import pytest

from supportcue.stages.placeholders import case_values, fill, fill_answer, find_placeholders


def test_keys_and_fill_report_what_is_missing() -> None:
    text = "Order {{Order Number}} for {order_number} and {Order-Number}, ref {ref}."
    assert find_placeholders(text) == ["order_number", "ref"]
    filled = fill(text, {"order_number": "A-1"})
    assert filled.text == "Order A-1 for A-1 and A-1, ref {ref}." and filled.missing == ("ref",)
    assert not filled.complete


def test_case_values_give_the_first_name_and_leave_blanks_out() -> None:
    values = case_values("Ana Lee", " ", {"Order ID": "B-7", "empty": " "})
    assert values == {"order_id": "B-7", "customer_name": "Ana Lee", "first_name": "Ana"}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Hi {customer_name},\n\nYour payout is on its way.", "Hi there,\n\nYour payout is on its way."),
        ("Dear {{Customer Name}}!\nYour payout is on its way.", "Hi there,\n\nYour payout is on its way."),
        ("Hi {customer_name}, your payout is on its way.", "Hi, your payout is on its way."),
        ("Thanks, {first_name}! It is on its way.", "Thanks! It is on its way."),
        ("Thanks, {customer_name}, for waiting.", "Thanks for waiting."),
        ("Thanks {customer_name}!\nIt is on its way.", "Thanks!\nIt is on its way."),
        ("{customer_name},\n\nIt is on its way.", "Hi there,\n\nIt is on its way."),
        ("Done.\n{customer_name}, your payout is on its way.", "Done.\nYour payout is on its way."),
    ],
)
def test_without_a_name_the_greeting_has_none_and_nothing_is_missing(text: str, expected: str) -> None:
    filled = fill_answer(text, {})
    assert filled.text == expected and filled.complete


def test_with_a_name_the_greeting_uses_the_first_name() -> None:
    values = case_values("Ana Lee")
    filled = fill_answer("Good morning {customer_name},\n\nThanks, {customer_name}.", values)
    assert filled.text == "Good morning Ana,\n\nThanks, Ana Lee."
    assert fill_answer("Hi {customer_name},\n\nDone.", {}, nameless_greeting="").text == "Done."


def test_a_fact_placeholder_is_still_missing() -> None:
    filled = fill_answer(
        "Hi {customer_name},\n\nOrder {order_id} ships on {ship_date}.", {"ship_date": "May 3"}
    )
    assert filled.text == "Hi there,\n\nOrder {order_id} ships on May 3." and filled.missing == ("order_id",)
