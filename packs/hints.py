"""Closest-name hints for findings ("did you mean …"), with a bounded cost per report.

A hint compares one name with every candidate (tools, exception types, keys). difflib did that
in time quadratic in the names' length and, over a pack's findings, in the number of names: 150
near-miss tool names of 196 characters took 21 s (issue 13). rapidfuzz's indel ratio (the
normalised edit similarity; the same 0.75 cutoff) is bit-parallel C++, about a microsecond for
a pair of 196-character names, and each report may spend at most HINT_BUDGET of it: past the
budget, findings come without a hint. Real packs use a few hundred candidates for a few
findings, a fraction of a percent of the budget.
"""

from collections.abc import Collection

from rapidfuzz import fuzz, process

CUTOFF = 75.0
MAX_NAME = 256
MAX_SEARCHES = 200
# Candidate comparisons, each counted once per 64 characters of the name (the bit-parallel
# word size): about 0.1-0.3 s at worst on this machine.
HINT_BUDGET = 1_000_000


class Hints:
    """The hint search of one report."""

    def __init__(self) -> None:
        self.searches = 0
        self.spent = 0
        self._choices: dict[int, tuple[Collection[str], list[str]]] = {}

    def closest(self, name: object, candidates: Collection[str]) -> str | None:
        if not isinstance(name, str) or not candidates or len(name) > MAX_NAME:
            return None
        choices = self._sorted(candidates)
        cost = len(choices) * (1 + len(name) // 64)
        if self.searches >= MAX_SEARCHES or self.spent + cost > HINT_BUDGET:
            return None
        self.searches += 1
        self.spent += cost
        best = process.extractOne(
            name, choices, scorer=fuzz.ratio, score_cutoff=CUTOFF, processor=None
        )
        return best[0] if best else None

    def _sorted(self, candidates: Collection[str]) -> list[str]:
        """Candidates in a fixed order (ties go to the first), built once per collection.
        Keyed by identity and holding the collection, so the key cannot be reused."""
        cached = self._choices.get(id(candidates))
        if cached is None or cached[0] is not candidates:
            choices = sorted(name for name in candidates if len(name) <= MAX_NAME)
            cached = (candidates, choices)
            self._choices[id(candidates)] = cached
        return cached[1]
