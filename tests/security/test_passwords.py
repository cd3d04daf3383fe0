"""The product hashes passwords with argon2id at RFC 9106's low-memory profile. The other tests hash
at a cheaper cost (`tests/conftest.py`), so the product's own parameters are checked here."""

from __future__ import annotations

from tests.conftest import FAST_HASHER, PRODUCT_HASHER

from supportcue.data.store import Store
from supportcue.security import users


def test_the_product_hashes_with_argon2id_at_rfc_9106s_low_memory_profile() -> None:
    digest = PRODUCT_HASHER().hash("correct horse battery")
    assert digest.startswith("$argon2id$v=19$m=65536,t=3,p=4$")
    assert PRODUCT_HASHER().verify(digest, "correct horse battery")


def test_a_hash_is_checked_with_the_parameters_it_records(store: Store) -> None:
    """A user stored at one cost logs in under a hasher of another (costs can be raised later)."""
    assert FAST_HASHER.time_cost != PRODUCT_HASHER().time_cost
    store.callers.add_user("ana", "agent", PRODUCT_HASHER().hash("correct horse battery"))
    user = users.authenticate(store, "ana", "correct horse battery")
    assert user is not None and user.name == "ana"
    assert users.authenticate(store, "ana", "wrong horse battery") is None
