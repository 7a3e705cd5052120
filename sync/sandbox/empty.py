"""The "empty" seed: a fresh Autotask tenant and a fresh QBO company, connected to nothing."""

from __future__ import annotations

from .autotask.seed import empty_autotask_seed
from .oauth import empty_oauth_seed
from .qbo.seed import empty_qbo_seed
from .seed_data import SeedData


def empty_seed() -> SeedData:
    qbo = empty_qbo_seed()
    return SeedData(name="empty", autotask=empty_autotask_seed(), oauth=empty_oauth_seed(qbo.realm_id), qbo=qbo)
