"""Who includes whom: `agent` < `reviewer` < `admin`, each including the ones before; `integration`
and `metrics` are narrow roles that include only themselves (and `admin` includes every role)."""

from __future__ import annotations

from supportcue.vocab import Role

LADDER = (Role.AGENT, Role.REVIEWER, Role.ADMIN)
ROLES = tuple(Role)


def includes(have: Role, need: Role) -> bool:
    """Whether a caller with role `have` may do what `need` may."""
    if have == need or have == Role.ADMIN:
        return True
    if have in LADDER and need in LADDER:
        return LADDER.index(have) >= LADDER.index(need)
    return False


def allows(have: Role, needs: tuple[Role, ...]) -> bool:
    """Whether `have` includes any of `needs` (a route names the least role of each kind it serves)."""
    return any(includes(have, need) for need in needs)


def parse_role(value: str) -> Role:
    """The role named `value`; a ValueError naming the allowed roles otherwise."""
    try:
        return Role(value)
    except ValueError:
        raise ValueError(f"unknown role {value!r}; allowed: {', '.join(ROLES)}") from None


def describe(needs: tuple[Role, ...]) -> str:
    """'the reviewer role (or a role that includes it)' for messages."""
    names = " or ".join(needs)
    return f"the {names} role" + (" (or admin)" if Role.ADMIN not in needs else "")
