"""Pages of a long text for the CodeViewer (issue 23): a 4 MB pack shown whole is megabytes of
HTML; shown a page at a time (whole lines, at most PAGE_CHARS characters of text each) its page
stays small and fast, and the line numbers stay those of the whole document."""

from dataclasses import dataclass

PAGE_CHARS = 60_000


@dataclass(frozen=True)
class CodePage:
    text: str
    number: int  # 1-based
    count: int
    first_line: int
    last_line: int
    total_lines: int

    @property
    def paged(self) -> bool:
        return self.count > 1

    @property
    def previous(self) -> int | None:
        return self.number - 1 if self.number > 1 else None

    @property
    def next(self) -> int | None:
        return self.number + 1 if self.number < self.count else None


def code_page(text: str, raw_number: str | None, *, page_chars: int = PAGE_CHARS) -> CodePage:
    """Page `raw_number` (a query parameter; anything unreadable or out of range is the nearest
    page) of `text`, cut at line ends."""
    lines = text.split("\n")
    if len(text) <= page_chars:
        return CodePage(text, 1, 1, 1, len(lines), len(lines))
    starts = [0]  # index of the first line of each page
    size = 0
    for index, line in enumerate(lines):
        if size and size + len(line) + 1 > page_chars:
            starts.append(index)
            size = 0
        size += len(line) + 1
    try:
        number = int(raw_number or 1)
    except ValueError:
        number = 1
    number = min(max(number, 1), len(starts))
    first = starts[number - 1]
    last = starts[number] if number < len(starts) else len(lines)
    return CodePage("\n".join(lines[first:last]), number, len(starts), first + 1, last, len(lines))
