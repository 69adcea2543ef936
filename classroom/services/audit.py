"""The audit log: every score change, override, release and enrolment change."""
from __future__ import annotations

from typing import Optional

from sqlmodel import Session, select

from ..models import AuditLog, User


def record(db: Session, actor: Optional[User], course_id: Optional[int], action: str, target: str,
           details: dict) -> None:
    """Adds an entry to the caller's transaction, so it commits or rolls back with the change."""
    db.add(AuditLog(course_id=course_id, actor_id=actor.id if actor else None, action=action,
                    target=target[:200], details=details))


def entries(db: Session, course_id: int, limit: int = 200) -> list[AuditLog]:
    q = select(AuditLog).where(AuditLog.course_id == course_id).order_by(AuditLog.id.desc()).limit(limit)
    return list(db.exec(q))
