"""The demo workspace: a fictional payments platform's topics, answer library, articles and cases.

`generate(seed)` returns a `DemoData`; the lead's loader puts it into the store. Stdlib only.
"""

from supportcue.demo.generator import case_values, fill_placeholders, generate, placeholders
from supportcue.demo.model import Agent, Answer, Article, DemoCase, DemoData, DemoLabel, Topic

__all__ = [
    "Agent",
    "Answer",
    "Article",
    "DemoCase",
    "DemoData",
    "DemoLabel",
    "Topic",
    "case_values",
    "fill_placeholders",
    "generate",
    "placeholders",
]
