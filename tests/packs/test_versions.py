import random

import pytest
from hypothesis import given
from hypothesis import strategies as st
from packaging.version import Version

from onboarding.errors import InvalidInput
from packs.models import DomainPack
from packs.selectors import domain_pack_latest_version
from packs.services import domain_pack_create
from packs.versions import next_version, parse_version, version_key

numbers = st.integers(min_value=0, max_value=10_000)
pre = st.one_of(st.none(), st.tuples(st.sampled_from(["a", "b", "rc"]), numbers))
releases = st.lists(numbers, min_size=1, max_size=4)


@st.composite
def versions(draw) -> str:
    text = ".".join(str(n) for n in draw(releases))
    if draw(st.booleans()):
        text = "v" + text
    if (p := draw(pre)) is not None:
        text += f"-{p[0]}{p[1]}"
    if draw(st.booleans()):
        text += f".post{draw(numbers)}"
    if draw(st.booleans()):
        text += f".dev{draw(numbers)}"
    return text


@given(versions(), versions())
def test_version_key__any_two_versions__orders_like_packaging(a, b):
    va, vb = Version(a), Version(b)
    ka, kb = version_key(a), version_key(b)
    assert (ka < kb) == (va < vb)
    assert (ka == kb) == (va == vb)


@given(versions())
def test_version_key__any_version__uses_only_digits(v):
    assert version_key(v).isdigit()


@pytest.mark.parametrize(
    ("lower", "higher"),
    [
        ("v1.9", "v1.10"),
        ("2.0.0-rc1", "2.0.0"),
        ("1.0.dev0", "1.0a1"),
        ("1.0", "1.0.post1"),
        ("v1.2", "1.2.1"),
        ("0.9", "1!0.1"),
    ],
)
def test_version_key__known_pairs__ordered(lower, higher):
    assert version_key(lower) < version_key(higher)


def test_version_key__equal_by_parse__same_key():
    assert version_key("v1.0") == version_key("1.0.0") == version_key("V1")


@pytest.mark.parametrize(
    "bad", ["", " ", "../x", "latest", "1.0+local", "x" * 51, "1" * 10, " v1.0", None, 3]
)
def test_parse_version__unparseable__invalid_version(bad):
    with pytest.raises(InvalidInput) as err:
        parse_version(bad)
    assert err.value.code == "invalid_version"


@pytest.mark.parametrize(
    ("latest", "expected"),
    [(None, "v1.0"), ("v1.4", "v1.5"), ("1.9", "1.10"), ("v2", "v3.0"), ("2.0.0-rc1", "2.0.1")],
)
def test_next_version__after_latest__bumps_last_number(latest, expected):
    assert next_version(latest) == expected


def test_get_latest_version__thousand_mixed_versions__database_order_matches_parse(admin):
    rng = random.Random(7)
    spelled = set()
    while len(spelled) < 1000:
        parts = [rng.randint(0, 30) for _ in range(rng.randint(1, 3))]
        text = ("v" if rng.random() < 0.5 else "") + ".".join(map(str, parts))
        if rng.random() < 0.2:
            text += f"rc{rng.randint(0, 3)}"
        spelled.add(text)
    by_key = {}
    for text in spelled:
        by_key.setdefault(version_key(text), text)  # one spelling per parsed version
    DomainPack.objects.bulk_create(
        DomainPack(
            domain="D",
            version=text,
            version_key=key,
            content_json={},
            checksum="0" * 64,
            size_bytes=2,
            created_by="t",
        )
        for key, text in by_key.items()
    )
    expected = max(by_key.values(), key=Version)
    assert domain_pack_latest_version(principal=admin.principal, domain="D") == expected
    newest_first = list(
        DomainPack.objects.order_by("-version_key").values_list("version", flat=True)
    )
    assert newest_first == sorted(by_key.values(), key=Version, reverse=True)


def test_domain_pack_create__same_version_other_spelling__version_exists(admin):
    domain_pack_create(principal=admin.principal, domain="D", version="v1.0", content={"a": 1})
    with pytest.raises(Exception) as err:
        domain_pack_create(principal=admin.principal, domain="D", version="1.0.0", content={"a": 2})
    assert err.value.code == "version_exists"
    assert DomainPack.objects.count() == 1
