"""The scenarios of issue #3, each a module with NAME, TITLE, STACKS and `measure()`."""

from bench.scenarios import capacity, fanout, memory, million, storm, targeted

SCENARIOS = {m.NAME: m for m in (memory, fanout, targeted, storm, million, capacity)}
