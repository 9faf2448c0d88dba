"""Services: what a request can be about, made of the agency's departments and the four kinds of message.

The mapping (documented in docs/open311.md):

* ``help``, ``consultation``, ``complaint``, ``suggestion`` — the four kinds a citizen writes (求助, 咨询,
  投诉, 建议) to the agency as a whole, in the group ``综合 General``; triage routes them.
* ``{department_id}-{kind}``, e.g. ``12-complaint`` — the same kinds addressed to one department, in a
  group named after the department.

Codes are stable: a department's id never changes when it is renamed. Every service is ``realtime`` (the
reference is returned at once) and has no extra attributes (``metadata`` false).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from wenzheng.agencies.models import Department
from wenzheng.channels.open311.errors import bad_request, not_found
from wenzheng.channels.open311.jurisdictions import Jurisdiction


@dataclass(frozen=True)
class Kind:
    code: str
    name: str
    description: str
    keywords: tuple[str, ...]


KINDS = (
    Kind(
        "help", "求助 Help", "需要帮助，包括紧急求助。Asking for help, emergencies included.", ("求助", "救援", "help")
    ),
    Kind(
        "consultation",
        "咨询 Consultation",
        "询问政策或办事方法。A question about a policy or procedure.",
        ("咨询", "question"),
    ),
    Kind(
        "complaint",
        "投诉 Complaint",
        "反映问题或投诉。Reporting a problem or complaining.",
        ("投诉", "问题", "complaint"),
    ),
    Kind("suggestion", "建议 Suggestion", "意见和建议。An idea or a suggestion.", ("建议", "suggestion")),
)
KIND_BY_CODE = {kind.code: kind for kind in KINDS}
GENERAL_GROUP = "综合 General"


@dataclass(frozen=True)
class Service:
    kind: Kind
    department: Department | None = None

    @property
    def code(self) -> str:
        return service_code(self.department.id if self.department else None, self.kind.code) or ""

    @property
    def name(self) -> str:
        return f"{self.department.name} · {self.kind.name}" if self.department else self.kind.name

    @property
    def department_id(self) -> int | None:
        return self.department.id if self.department else None

    def fields(self) -> dict[str, object]:
        """The service as GET services lists it."""
        department = self.department
        return {
            "service_code": self.code,
            "service_name": self.name,
            "description": (department.description if department else "") or self.kind.description,
            "metadata": False,
            "type": "realtime",
            "keywords": ",".join((*self.kind.keywords, *([department.name] if department else []))),
            "group": department.name if department else GENERAL_GROUP,
        }

    def definition(self) -> dict[str, object]:
        """The service definition: no attributes beyond the standard fields."""
        return {"service_code": self.code, "attributes": []}


def service_code(department_id: int | None, kind: str | None) -> str | None:
    """The code of a request's service, from where it is routed and what kind it is (None if no kind)."""
    if kind not in KIND_BY_CODE:
        return None
    return f"{department_id}-{kind}" if department_id is not None else kind


def services_of(session: Session, jurisdiction: Jurisdiction) -> list[Service]:
    """The general services first, then each department's, departments in name order."""
    general = [Service(kind) for kind in KINDS]
    return general + [Service(kind, department) for department in _departments(session, jurisdiction) for kind in KINDS]


def service_by_code(session: Session, jurisdiction: Jurisdiction, code: str | None) -> Service:
    """The service a code names in this jurisdiction: 400 when none is given, 404 when unknown."""
    if not code:
        raise bad_request("service_code is required; GET services lists them.")
    department_part, _, kind_code = code.strip().rpartition("-")
    kind = KIND_BY_CODE.get(kind_code)
    if kind is None or (department_part and not department_part.isdigit()):
        raise not_found(f"No service {code!r} in {jurisdiction.id}; GET services lists them.")
    if not department_part:
        return Service(kind)
    department = session.get(Department, int(department_part))
    if department is None or department.agency_id != jurisdiction.agency.id:
        raise not_found(f"No service {code!r} in {jurisdiction.id}; GET services lists them.")
    return Service(kind, department)


def departments_by_id(session: Session, jurisdiction: Jurisdiction) -> dict[int, Department]:
    return {department.id: department for department in _departments(session, jurisdiction)}


def _departments(session: Session, jurisdiction: Jurisdiction) -> list[Department]:
    query = select(Department).where(Department.agency_id == jurisdiction.agency.id)
    return list(session.execute(query.order_by(Department.name, Department.id)).scalars())
