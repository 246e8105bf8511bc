"""Management commands act as real people (DESIGN §15): `--actor` names an active user holding
the role the action needs, and every audit row a command writes records where it came from
(`details.via = {command, os_user, host}`)."""

import getpass
import os
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import CommandError

from onboarding.principal import Principal, principal_for_user
from onboarding.request_context import bind_via, unbind_via


def command_via(command: str) -> dict[str, Any]:
    try:
        os_user = getpass.getuser()
    except (KeyError, OSError):  # no passwd entry for the uid (a container)
        os_user = str(os.getuid()) if hasattr(os, "getuid") else ""
    return {"command": command, "os_user": os_user, "host": socket.gethostname()}


def command_actor(
    username: str | None, *, tenant_id: str | None = None, write: bool = True
) -> Principal:
    """The principal of `--actor`: an existing, active user with ADMIN (write) or any role
    (read) on `tenant_id` (None: platform-wide ADMIN). CommandError (exit 1) otherwise, before
    anything is written."""
    if not username:
        raise CommandError("--actor is required: the username of the person running this.")
    user = get_user_model().objects.filter(username=username).first()
    if user is None:
        raise CommandError(f"--actor {username!r}: no such user.")
    if not user.is_active:
        raise CommandError(f"--actor {username!r} is deactivated.")
    principal = principal_for_user(user)
    if tenant_id is None:
        allowed = principal.is_platform_admin if write else principal.is_platform
        need = "a platform-wide ADMIN role" if write else "a platform-wide role"
    else:
        allowed = (
            principal.can_write_tenant(tenant_id) if write else principal.can_read_tenant(tenant_id)
        )
        need = f"{'ADMIN' if write else 'a role'} on tenant {tenant_id!r}"
    if not allowed:
        raise CommandError(f"--actor {username!r} does not hold {need}.")
    return principal


@contextmanager
def acting_from(command: str) -> Iterator[dict[str, Any]]:
    """Every audit row written inside records `details.via` of this command."""
    via = command_via(command)
    token = bind_via(via)
    try:
        yield via
    finally:
        unbind_via(token)
