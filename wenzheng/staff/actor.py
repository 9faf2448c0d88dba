"""Who is acting: a logged-in staff user, an API token, or the system itself (CLI, demo, worker)."""

from __future__ import annotations

from dataclasses import dataclass, field

from wenzheng.errors import Forbidden, NotFound
from wenzheng.staff.roles import Role


@dataclass(frozen=True)
class Actor:
    user_id: int | None = None
    token_id: int | None = None
    username: str = ""
    display_name: str = ""
    is_platform_admin: bool = False
    roles: dict[int, Role] = field(default_factory=dict)
    ip: str = ""
    is_system: bool = False

    @classmethod
    def system(cls, label: str = "system") -> Actor:
        """The actor for the CLI, the demo seeder and the worker: trusted, and audited as such."""
        return cls(username=label, display_name=label, is_platform_admin=True, is_system=True)

    def role_in(self, agency_id: int) -> Role | None:
        if self.is_platform_admin:
            return Role.ADMIN
        return self.roles.get(agency_id)

    def can_see(self, agency_id: int) -> bool:
        return self.role_in(agency_id) is not None

    def require_role(self, agency_id: int, minimum: Role) -> Role:
        """The actor's role in the agency; 404 when they are not in it, 403 when their role is too low."""
        role = self.role_in(agency_id)
        if role is None:
            raise NotFound("No such agency, or you are not a member of it.")
        if not role.at_least(minimum):
            raise Forbidden(
                f"This needs the {minimum.value} role in this agency; yours is {role.value}. "
                "Ask an agency admin to change your role.",
                code="role_required",
            )
        return role

    def require_platform_admin(self) -> None:
        if not self.is_platform_admin:
            raise Forbidden("Only a platform admin can do this.", code="platform_admin_required")
