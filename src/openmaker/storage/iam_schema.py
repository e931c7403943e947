"""Tables of IAM and STS: users, roles, their policies, and every kind of access key.

Names are unique per account *without regard to case* (IAM's rule), so each named row carries a
lower-cased ``name_key`` with the unique constraint while ``name`` keeps the spelling the user chose.
Access keys of users, the account root and AssumeRole sessions share one table because the server
looks every one of them up the same way on every request.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from openmaker.storage.db import Base, binary_string


class IamUser(Base):
    __tablename__ = "iam_users"
    __table_args__ = (UniqueConstraint("account_id", "name_key", name="uq_iam_users_name"),)

    user_id: Mapped[str] = mapped_column(String(32), primary_key=True)  # AIDA...
    account_id: Mapped[str] = mapped_column(String(12))
    name: Mapped[str] = mapped_column(String(64))
    name_key: Mapped[str] = mapped_column(binary_string(64))
    path: Mapped[str] = mapped_column(String(512), default="/")
    arn: Mapped[str] = mapped_column(String(1024))
    create_date: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class IamRole(Base):
    __tablename__ = "iam_roles"
    __table_args__ = (UniqueConstraint("account_id", "name_key", name="uq_iam_roles_name"),)

    role_id: Mapped[str] = mapped_column(String(32), primary_key=True)  # AROA...
    account_id: Mapped[str] = mapped_column(String(12))
    name: Mapped[str] = mapped_column(String(64))
    name_key: Mapped[str] = mapped_column(binary_string(64))
    path: Mapped[str] = mapped_column(String(512), default="/")
    arn: Mapped[str] = mapped_column(String(1024))
    assume_role_policy: Mapped[str] = mapped_column(Text)  # verbatim, as the client sent it
    description: Mapped[str | None] = mapped_column(String(1000), nullable=True)
    max_session_duration: Mapped[int] = mapped_column(Integer, default=3600)
    create_date: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class IamRolePolicyAttachment(Base):
    """A managed policy (by ARN) attached to a role."""

    __tablename__ = "iam_role_policy_attachments"

    role_id: Mapped[str] = mapped_column(
        String(32), ForeignKey("iam_roles.role_id", ondelete="CASCADE"), primary_key=True
    )
    policy_arn: Mapped[str] = mapped_column(binary_string(2048), primary_key=True)
    attached_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class IamRoleInlinePolicy(Base):
    """An inline policy of a role: a name and a document stored verbatim."""

    __tablename__ = "iam_role_inline_policies"

    role_id: Mapped[str] = mapped_column(
        String(32), ForeignKey("iam_roles.role_id", ondelete="CASCADE"), primary_key=True
    )
    name: Mapped[str] = mapped_column(binary_string(128), primary_key=True)
    document: Mapped[str] = mapped_column(Text)


class IamAccessKey(Base):
    """One signing key: a user's (AKIA), the root's (AKIA, no user row) or a session's (ASIA).

    ``principal_arn`` and ``principal_id`` are what GetCallerIdentity answers for the key.
    """

    __tablename__ = "iam_access_keys"
    __table_args__ = (Index("ix_iam_access_keys_user", "user_id"),)

    access_key_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    secret_access_key: Mapped[str] = mapped_column(String(64))
    account_id: Mapped[str] = mapped_column(String(12))
    kind: Mapped[str] = mapped_column(String(16))  # "user" | "root" | "session"
    status: Mapped[str] = mapped_column(String(16), default="Active")
    user_id: Mapped[str | None] = mapped_column(
        String(32), ForeignKey("iam_users.user_id", ondelete="CASCADE"), nullable=True
    )
    role_id: Mapped[str | None] = mapped_column(
        String(32), ForeignKey("iam_roles.role_id", ondelete="CASCADE"), nullable=True
    )
    principal_arn: Mapped[str] = mapped_column(String(2048))
    principal_id: Mapped[str] = mapped_column(String(128))
    session_token: Mapped[str | None] = mapped_column(Text, nullable=True)
    expiration: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    create_date: Mapped[datetime] = mapped_column(DateTime(timezone=True))
