"""What needs the signed-in person (issue 23): the home page's "attention items".

The console's home page (`/`) lists what it knows itself (requests to review, the person's own
open requests, failing webhook endpoints, tenants not converged) and then asks every installed
app through `attention_items`, a signal any app may answer from its `receivers.connect()`:

    def rollouts_attention(sender, *, principal, **kwargs) -> list[AttentionItem]: ...
    attention_items.connect(rollouts_attention)

Each answer is a list of `AttentionItem`s the principal may see (the receiver scopes them with
its own selectors); the page groups them by `section`, in the order the receivers run (the
apps' layer order)."""

from dataclasses import dataclass

from django.dispatch import Signal

from onboarding.principal import Principal

# send(sender=None, principal=Principal) -> [(receiver, list[AttentionItem]), ...]
attention_items = Signal()


@dataclass(frozen=True)
class AttentionItem:
    section: str  # the heading it is listed under, e.g. "Rollouts running or halted"
    title: str  # what it is, in words
    href: str  # the page that shows it (a local path)
    detail: str = ""  # one line more: state, who, since when
    level: str = "info"  # info | warn | bad: how loud its badge is


def collect(principal: Principal) -> list[AttentionItem]:
    """Every item the installed apps answer for `principal`, in receiver order."""
    items: list[AttentionItem] = []
    for _receiver, answer in attention_items.send(sender=None, principal=principal):
        items.extend(item for item in answer or () if isinstance(item, AttentionItem))
    return items
