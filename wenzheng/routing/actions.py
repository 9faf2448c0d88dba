"""Managing routing rules (agency admins), and handing them to the triage library as plain data."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from wenzheng.agencies.models import Department
from wenzheng.audit.actions import record_audit
from wenzheng.errors import InvalidInput, NotFound
from wenzheng.routing.models import RoutingRule
from wenzheng.staff.actor import Actor
from wenzheng.staff.roles import Role
from wenzheng.triage import RoutingRule as TriageRule
from wenzheng.validation import clean_text

MAX_TERMS = 50


def split_terms(text: str) -> list[str]:
    """'救援, 被困 ；坍塌' → ['救援', '被困', '坍塌'] (commas, semicolons, spaces and newlines separate)."""
    for separator in "，,；;、\n\t":
        text = text.replace(separator, " ")
    terms = [term.strip() for term in text.split(" ") if term.strip()]
    if len(terms) > MAX_TERMS or any(len(term) > 40 for term in terms):
        raise InvalidInput(f"At most {MAX_TERMS} terms of up to 40 characters each.", code="too_many_terms")
    return list(dict.fromkeys(terms))


def do_create_routing_rule(
    session: Session,
    actor: Actor,
    department: Department,
    *,
    name: str = "",
    keywords: str = "",
    categories: str = "",
    regions: str = "",
    priority: int = 0,
) -> RoutingRule:
    actor.require_role(department.agency_id, Role.ADMIN)
    rule = RoutingRule(
        agency_id=department.agency_id,
        department_id=department.id,
        name=clean_text(name, field="name", max_length=100, required=False),
        keywords=split_terms(keywords),
        categories=split_terms(categories),
        regions=split_terms(regions),
        priority=priority,
    )
    if not (rule.keywords or rule.categories or rule.regions):
        raise InvalidInput("Give at least one keyword, category or region.", code="empty_rule")
    session.add(rule)
    session.flush()
    record_audit(
        session,
        actor,
        "console:routing_rule:create",
        agency_id=department.agency_id,
        subject_type="routing_rule",
        subject_id=rule.id,
        data={"department_id": department.id},
    )
    session.commit()
    return rule


def do_delete_routing_rule(session: Session, actor: Actor, rule: RoutingRule) -> None:
    actor.require_role(rule.agency_id, Role.ADMIN)
    record_audit(
        session,
        actor,
        "console:routing_rule:delete",
        agency_id=rule.agency_id,
        subject_type="routing_rule",
        subject_id=rule.id,
    )
    session.delete(rule)
    session.commit()


def access_routing_rule_by_id(session: Session, actor: Actor, agency_id: int, rule_id: int) -> RoutingRule:
    actor.require_role(agency_id, Role.ADMIN)
    rule = session.execute(
        select(RoutingRule).where(RoutingRule.agency_id == agency_id, RoutingRule.id == rule_id)
    ).scalar_one_or_none()
    if rule is None:
        raise NotFound("No such routing rule in this agency.")
    return rule


def rules_of_agency(session: Session, agency_id: int) -> list[RoutingRule]:
    return list(
        session.execute(
            select(RoutingRule)
            .where(RoutingRule.agency_id == agency_id)
            .order_by(RoutingRule.priority.desc(), RoutingRule.id)
        ).scalars()
    )


def triage_rules(session: Session, agency_id: int) -> list[TriageRule]:
    """The agency's rules as the triage library takes them; the department is named by its name."""
    rows = session.execute(select(Department.id, Department.name).where(Department.agency_id == agency_id)).all()
    names = {department_id: name for department_id, name in rows}
    return [
        TriageRule(
            department=names[rule.department_id],
            keywords=tuple(rule.keywords),
            categories=tuple(rule.categories),
            regions=tuple(rule.regions),
            priority=rule.priority,
            name=rule.name,
        )
        for rule in rules_of_agency(session, agency_id)
        if rule.department_id in names
    ]
