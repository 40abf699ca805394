"""Planning users: e-mail, then name within the customer, else create at their site."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from rmmbridge.connectors.records import RemoteUser
from rmmbridge.sync.matching import normalise_name
from rmmbridge.sync.plan import Op, OpKind, Snapshot, SyncSettings
from rmmbridge.sync.planner.core import Resolution, TempIds, fingerprint


@dataclass
class UserIndex:
    """Users per customer by e-mail and normalised name (local and pending), for matching and device links."""

    by_email: dict[tuple[int, str], int] = field(default_factory=dict)
    by_name: dict[tuple[int, str], int] = field(default_factory=dict)

    def add(self, customer_id: int, user_id: int, name: str, email: str) -> None:
        if email:
            self.by_email.setdefault((customer_id, email.strip().lower()), user_id)
        if name:
            self.by_name.setdefault((customer_id, normalise_name(name)), user_id)

    def find(self, customer_id: int, text: str) -> tuple[int | None, str]:
        """A user of the customer by e-mail, by name, or by a DOMAIN\\login's login part."""
        raw = text.strip()
        if not raw:
            return None, ""
        lowered = raw.lower()
        if (customer_id, lowered) in self.by_email:
            return self.by_email[(customer_id, lowered)], "e-mail"
        login = lowered.split("\\")[-1]
        if (customer_id, normalise_name(login)) in self.by_name:
            return self.by_name[(customer_id, normalise_name(login))], "name"
        for (cid, email), uid in self.by_email.items():
            if cid == customer_id and email.split("@")[0] == login:
                return uid, "login"
        return None, ""


def user_index(snap: Snapshot) -> UserIndex:
    index = UserIndex()
    for user in snap.users.values():
        index.add(user.customer_id, user.id, user.name, user.email)
    return index


def plan_users(users: Sequence[RemoteUser], snap: Snapshot, cfg: SyncSettings, res: Resolution, temp_ids: TempIds,
               index: UserIndex) -> list[Op]:
    """Match users by e-mail, then by name within the customer; create the rest at their site."""
    ops: list[Op] = []
    for remote in users:
        email = (remote.email or "").strip()
        wanted = {"name": remote.name.strip(), "email": email}
        fp = fingerprint(wanted)
        ref = snap.ref("end_user", remote.external_id)
        if ref is not None and ref.object_id in snap.users:
            local = snap.users[ref.object_id]
            changes = {k: [getattr(local, k), v] for k, v in wanted.items() if v and getattr(local, k) != v}
            kind = OpKind.UPDATE if changes else OpKind.UNCHANGED
            ops.append(Op("users", kind, remote.external_id, remote.name, "linked by an earlier import",
                          target_id=local.id, changes=changes, fingerprint=fp))
            continue
        placement = res.place(remote.site_external_id, remote.customer_external_id)
        if placement is None:
            ops.append(Op("users", OpKind.SKIP, remote.external_id, remote.name,
                          "its customer is not mapped or imported: import or map the customer first"))
            continue
        found: int | None = None
        reason = ""
        if cfg.match_users:
            if email and (placement.customer_id, email.lower()) in index.by_email:
                found, reason = index.by_email[(placement.customer_id, email.lower())], f"matched by e-mail '{email}'"
            elif (placement.customer_id, normalise_name(remote.name)) in index.by_name:
                found = index.by_name[(placement.customer_id, normalise_name(remote.name))]
                reason = f"matched by name '{remote.name}' within the customer"
        if found is not None and found > 0:
            ops.append(Op("users", OpKind.LINK, remote.external_id, remote.name, reason, target_id=found,
                          fingerprint=fp))
            continue
        temp = temp_ids.new()
        index.add(placement.customer_id, temp, remote.name, email)
        ops.append(Op("users", OpKind.CREATE, remote.external_id, remote.name, "no user with this e-mail or name",
                      target_id=temp, fingerprint=fp,
                      data={"temp_id": temp, "site_id": placement.site_id, "name": remote.name, "email": email}))
    return ops
