"""Roles: who holds which, granting and revoking them, and what a person may do (checked when it runs)."""

from __future__ import annotations

from bot.domain import ALLOWED, Action, Actor, Rights, Role, RoleBinding
from bot.errors import PermissionDenied, RoleFromSettings, UnknownRole, UnknownUser
from bot.kernel import Kernel
from storage.uow import IntegrityError


def parse_role(word: str) -> Role:
    """A role as people write it: `billing`, `Billing_Admin` and `billing-admin` are one role."""
    name = (word or "").strip().lower().replace("_", "-").replace(" ", "-")
    for candidate in (name, f"{name}-admin"):
        if candidate in Role._value2member_map_:
            return Role(candidate)
    raise UnknownRole(str(word)[:40])


class RoleService:
    def __init__(self, kernel: Kernel) -> None:
        self.k = kernel

    def of(self, user_id: str) -> frozenset[Role]:
        with self.k.uow(lone_read=True) as uow:
            return self.k.roles(uow, Actor(user_id))

    def require(self, actor: Actor, action: Action) -> None:
        """The refusal a door gives before it opens a form; proves nothing about the later change, which
        checks again inside its own transaction."""
        if not self.of_actor(actor) & ALLOWED[action]:
            raise PermissionDenied(action, ALLOWED[action])

    def may(self, actor: Actor, action: Action) -> bool:
        return bool(self.of_actor(actor) & ALLOWED[action])

    def of_actor(self, actor: Actor) -> frozenset[Role]:
        with self.k.uow(lone_read=True) as uow:
            return self.k.roles(uow, actor)

    def rights(self, user_id: str, app_query: str) -> Rights:
        """What this person may do with this app."""
        with self.k.uow() as uow:
            row = self.k.resolve(uow, app_query)
            return Rights(self.k.roles(uow, Actor(user_id)), uow.licenses.has_seat(row.id, user_id))

    def grant(self, actor: Actor, user_id: str, role: str | Role, *, known_only: bool = False) -> bool:
        """False when the user already had the role (nothing changes, nothing is audited).

        known_only: refuse an id the directory does not know (or a deleted account) with UnknownUser.
        The door that has the workspace's directory (Slack) asks for it; the CLI has none and grants the
        id as given (it says so)."""
        role_ = role if isinstance(role, Role) else parse_role(role)
        user_id = self.k.user_id(user_id)
        if known_only:
            user = self.k.directory.user(user_id)
            if user is None or user.deleted:
                raise UnknownUser(user_id)
        with self.k.uow(write=True) as uow:
            self.k.require(uow, actor, Action.GRANT_ROLES)
            if role_.value in uow.roles.roles_of(user_id):
                return False
            try:
                uow.roles.add(user_id, role_.value, actor.user_id, self.k.now())
            except IntegrityError:  # a twin grant committed first (PostgreSQL lets both read "not held")
                return False
            self.k.audit(uow, actor, "role.grant", None, [user_id], {"role": role_.value})
            uow.commit()
            return True

    def revoke(self, actor: Actor, user_id: str, role: str | Role) -> bool:
        role_ = role if isinstance(role, Role) else parse_role(role)
        user_id = self.k.user_id(user_id)
        with self.k.uow(write=True) as uow:
            self.k.require(uow, actor, Action.REVOKE_ROLES)
            if not uow.roles.remove(user_id, role_.value):
                if role_ is Role.GLOBAL_ADMIN and user_id in self.k.env_global_admins:
                    raise RoleFromSettings(user_id)
                return False
            self.k.audit(uow, actor, "role.revoke", None, [user_id], {"role": role_.value})
            uow.commit()
            return True

    def bindings(self, actor: Actor) -> list[RoleBinding]:
        with self.k.uow() as uow:
            self.k.require(uow, actor, Action.LIST_ROLES)
            bindings = [RoleBinding(r.user_id, r.role, r.granted_by, r.granted_at) for r in uow.roles.all()]
        held = {(b.user_id, b.role) for b in bindings}
        for user_id in sorted(self.k.env_global_admins):
            if (user_id, Role.GLOBAL_ADMIN.value) not in held:
                bindings.append(RoleBinding(user_id, Role.GLOBAL_ADMIN.value, "LICENSEBOT_GLOBAL_ADMINS", None))
        return sorted(bindings, key=lambda b: (list(Role).index(Role(b.role)), b.user_id))

    def approvers(self) -> list[str]:
        """Everyone who may approve a request: license, user and global admins."""
        with self.k.uow() as uow:
            return self.k.approvers(uow)
