"""Who a username names (issue 13, item 10): one identity per name as people read it.

Rules, checked when a user is created or renamed, whatever the path (issue_token, seed_demo,
Django's admin, createsuperuser, a shell):
- no leading or trailing whitespace, and no whitespace, control, format (zero-width, bidi),
  private-use, unassigned or surrogate character anywhere;
- 1 to 150 characters, also after NFKC normalisation;
- no mixed-script confusable: a name mixing scripts where one letter can pass for a letter of
  another script (Latin "admin" with a Cyrillic a, U+0430) is refused. Detection uses the
  `confusable-homoglyphs` library (Unicode confusables.txt and script data) rather than a
  hand-kept table;
- one identity per look (DESIGN §15): the key of a name is its Unicode TR39 confusable
  skeleton taken after NFKC + casefold, so "ADMIN", fullwidth "admin", "adm\u0131n" (dotless
  i), "\u0251dmin" (Latin alpha), a whole-script Cyrillic "\u0430dmin" and "admin" are one
  identity. The skeleton is computed from Unicode's confusables.txt (`tenants/skeleton.py`);
  before it, Latin small capitals (U+1D00 block, e.g. "aᴅmin") are read as the letter they
  show: TR39 keeps them as prototypes of their own, people do not. The database holds that key
  with a unique constraint (table `username_keys`), so two concurrent creations
  cannot both succeed."""

import re
import unicodedata
from functools import cache

from confusable_homoglyphs import confusables

from onboarding.errors import Conflict, InvalidInput, finding
from tenants.models import UsernameKey
from tenants.skeleton import skeleton

MAX_LENGTH = 150
_REFUSED_CATEGORIES = {"Cc", "Cf", "Co", "Cn", "Cs", "Zs", "Zl", "Zp"}


class InvalidUsername(InvalidInput):
    code = "invalid_username"


class UsernameTaken(Conflict):
    code = "username_taken"


_SMALL_CAPITAL = re.compile(r"LATIN LETTER SMALL CAPITAL ([A-Z])")


def folded(username: str) -> str:
    """NFKC, casefolded, NFKC again (casefolding can leave a string that is not in NFKC)."""
    return unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", username).casefold())


@cache
def _small_capital(char: str) -> str:
    match = _SMALL_CAPITAL.fullmatch(unicodedata.name(char, ""))
    return match.group(1).lower() if match else char


def username_key(username: str) -> str:
    """The identity a name stands for: the TR39 skeleton of its folded form (module doc)."""
    text = "".join(_small_capital(char) for char in folded(username))
    return skeleton(text)


def same_identity(first: str, second: str) -> bool:
    return username_key(first or "") == username_key(second or "")


def check_username(username: str) -> str:
    """Refuse a name that breaks the rules above; return its identity key."""
    problem = _problem(username)
    if problem:
        raise InvalidUsername(
            f"Username {username!r} is not allowed: {problem}.",
            errors=[finding("invalid_username", "/username", problem)],
        )
    return username_key(username)


def _problem(username: str) -> str:
    if not isinstance(username, str) or not username:
        return "it is empty"
    if username != username.strip():
        return "it starts or ends with whitespace"
    for char in username:
        if unicodedata.category(char) in _REFUSED_CATEGORIES:
            return f"it contains U+{ord(char):04X} ({unicodedata.name(char, 'unnamed')})"
    if len(username) > MAX_LENGTH or len(folded(username)) > MAX_LENGTH:
        return f"it is longer than {MAX_LENGTH} characters"
    if confusables.is_dangerous(username):
        return "it mixes scripts with look-alike letters"
    return ""


def username_taken(username: str, existing: str) -> UsernameTaken:
    return UsernameTaken(
        f"Username {username!r} is the same identity as the existing user {existing!r} "
        "(usernames are compared by their look: TR39 skeleton after NFKC and case folding).",
        errors=[finding("username_taken", "/username", f"User {existing!r} exists.")],
        extra={"existing_username": existing},
    )


def existing_identity(username: str, *, exclude_pk=None) -> str | None:
    """The username of another user with the same identity as `username`, if any."""

    rows = UsernameKey.objects.filter(key=username_key(username))
    if exclude_pk is not None:
        rows = rows.exclude(user_id=exclude_pk)
    return rows.values_list("user__username", flat=True).first()
