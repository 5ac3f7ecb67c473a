"""Credentials to sign with: the caller's own, or a session of the API user role named after the caller.

API Gateway's access log records ``$context.identity.userArn``; for a role session that is
``arn:<partition>:sts::<account>:assumed-role/<role>/<session name>``, so a session name per
caller is what tells the users of the one API user role apart.
"""

from __future__ import annotations

import re
from typing import Any

import boto3
from botocore.credentials import Credentials, RefreshableCredentials
from botocore.exceptions import NoCredentialsError

# STS AssumeRole's RoleSessionName: 2 to 64 characters matching [\w+=,.@-]; STS's \w is ASCII
# (letters, digits, underscore), unlike Python's.
SESSION_NAME_CHARACTERS = "A-Za-z0-9_+=,.@-"
SESSION_NAME = re.compile(f"[{SESSION_NAME_CHARACTERS}]{{2,64}}")
SESSION_NAME_FORM = "2 to 64 characters among letters, digits and _+=,.@-"
#: The session name when the caller's name gives none (fewer than 2 usable characters).
FALLBACK_SESSION_NAME = "pcluster-api"


def session_name_for(caller_arn: str) -> str:
    """The role session name for the caller ``caller_arn`` (an STS GetCallerIdentity ``Arn``).

    The last part of the ARN's resource names the caller: ``user/<path>/<name>`` gives the IAM
    user name, ``assumed-role/<role>/<session>`` the caller's own session name (an IAM Identity
    Center user's name, an instance id...), ``federated-user/<name>`` the name, ``root``
    itself. Characters STS refuses become ``-``; the name is cut to 64 characters.
    """
    resource = caller_arn.split(":", 5)[-1]
    name = resource.rsplit("/", 1)[-1]
    cleaned = re.sub(f"[^{SESSION_NAME_CHARACTERS}]", "-", name)[:64]
    return cleaned if SESSION_NAME.fullmatch(cleaned) else FALLBACK_SESSION_NAME


def caller_session_name(sts: Any) -> str:
    """The role session name for the caller of ``sts`` (a boto3 client); GetCallerIdentity needs no permission."""
    return session_name_for(sts.get_caller_identity()["Arn"])


def assume_role(sts: Any, role_arn: str, session_name: str) -> Credentials:
    """Temporary credentials of ``role_arn`` (STS AssumeRole; ``sts``: a boto3 client).

    They assume the role again shortly before they expire (botocore's refresh windows), so that a
    ``--wait`` longer than the role's session lasts keeps signing with valid credentials.
    """

    def fetch() -> dict[str, Any]:
        credentials = sts.assume_role(RoleArn=role_arn, RoleSessionName=session_name)["Credentials"]
        return {
            "access_key": credentials["AccessKeyId"],
            "secret_key": credentials["SecretAccessKey"],
            "token": credentials["SessionToken"],
            "expiry_time": credentials["Expiration"].isoformat(),
        }

    return RefreshableCredentials.create_from_metadata(fetch(), fetch, "sts-assume-role")


def caller_credentials(session: boto3.session.Session) -> Credentials:
    """The credentials the boto3 session resolved for the caller (they refresh themselves where their source can)."""
    credentials = session.get_credentials()
    if credentials is None:
        raise NoCredentialsError()
    return credentials
