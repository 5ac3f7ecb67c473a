"""Role session names derived from the caller, checked against STS's own model of the parameter; role credentials."""

from __future__ import annotations

import datetime
import re
from typing import Any

import botocore.session
import pytest
from botocore.stub import Stubber

from pcluster_api_client.identity import FALLBACK_SESSION_NAME, SESSION_NAME, assume_role, session_name_for

ROLE_ARN = "arn:aws:iam::123456789012:role/ParallelClusterApi-UserRole"


def sts_session_name_rule() -> tuple[re.Pattern[str], int, int]:
    """STS AssumeRole's RoleSessionName constraints, from botocore's service model."""
    model = botocore.session.get_session().get_service_model("sts")
    metadata = model.operation_model("AssumeRole").input_shape.members["RoleSessionName"].metadata
    # The model's \w is the service's (Java) one: ASCII letters, digits and underscore.
    return re.compile(metadata["pattern"], re.ASCII), metadata["min"], metadata["max"]


@pytest.mark.parametrize(
    ("caller_arn", "session_name"),
    [
        ("arn:aws:iam::123456789012:user/alice", "alice"),
        ("arn:aws:iam::123456789012:user/division/team/dana+ops@example.com", "dana+ops@example.com"),
        ("arn:aws:sts::123456789012:assumed-role/AWSReservedSSO_Admin_0123/jane.doe@example.com", "jane.doe@example.com"),
        ("arn:aws:sts::123456789012:assumed-role/hpc-portal/i-0123456789abcdef0", "i-0123456789abcdef0"),
        ("arn:aws-cn:sts::123456789012:federated-user/bob", "bob"),
        ("arn:aws:iam::123456789012:root", "root"),
        # Characters STS refuses become "-", and the name is cut to 64 characters.
        ("arn:aws:sts::123456789012:federated-user/Jane Doe (ops)", "Jane-Doe--ops-"),
        ("arn:aws:sts::123456789012:assumed-role/r/" + "s" * 70, "s" * 64),
        ("arn:aws:sts::123456789012:federated-user/ÉmiLe", "-miLe"),
        # Nothing usable: the fixed name.
        ("arn:aws:sts::123456789012:federated-user/x", FALLBACK_SESSION_NAME),
        ("arn:aws:sts::123456789012:assumed-role/r/", FALLBACK_SESSION_NAME),
    ],
)
def test_session_name_for_the_caller(caller_arn: str, session_name: str) -> None:
    assert session_name_for(caller_arn) == session_name


@pytest.mark.parametrize(
    "name", ["alice", "dana+ops@example.com", "Jane Doe (ops)", "s" * 70, "ÉmiLe", "é", "a/b:c", "ab", "__"]
)
def test_every_derived_name_is_one_sts_accepts(name: str) -> None:
    pattern, shortest, longest = sts_session_name_rule()

    derived = session_name_for(f"arn:aws:sts::123456789012:federated-user/{name}")

    assert pattern.fullmatch(derived) and shortest <= len(derived) <= longest


@pytest.mark.parametrize("name", ["ab", "a" * 64, "x_y+z=1,2.3@4-5", "a b", "a", "a" * 65, "é1", "a/b"])
def test_the_session_name_check_is_stss(name: str) -> None:
    pattern, shortest, longest = sts_session_name_rule()
    sts_accepts = bool(pattern.fullmatch(name)) and shortest <= len(name) <= longest

    assert bool(SESSION_NAME.fullmatch(name)) == sts_accepts


def _credentials(key: str, minutes_left: int) -> dict[str, Any]:
    expiration = datetime.datetime.now(datetime.UTC) + datetime.timedelta(minutes=minutes_left)
    return {"AccessKeyId": key, "SecretAccessKey": "secret", "SessionToken": "token", "Expiration": expiration}


@pytest.mark.parametrize(("minutes_left", "keys"), [(60, ["ASIAFIRSTEXAMPLE01"]), (5, ["ASIAFIRSTEXAMPLE01", "ASIASECONDEXAMPLE2"])])
def test_role_credentials_are_renewed_before_they_expire(minutes_left: int, keys: list[str]) -> None:
    """A long --wait outlives the role session (an hour by default): the credentials assume the role again."""
    sts = botocore.session.get_session().create_client(
        "sts", region_name="eu-west-1", aws_access_key_id="a", aws_secret_access_key="b"
    )
    expected = {"RoleArn": ROLE_ARN, "RoleSessionName": "ci"}
    with Stubber(sts) as stubber:
        stubber.add_response("assume_role", {"Credentials": _credentials("ASIAFIRSTEXAMPLE01", minutes_left)}, expected)
        if len(keys) > 1:
            stubber.add_response("assume_role", {"Credentials": _credentials("ASIASECONDEXAMPLE2", 60)}, expected)

        credentials = assume_role(sts, ROLE_ARN, "ci")
        signed_with = [credentials.get_frozen_credentials().access_key for _ in range(3)]

        stubber.assert_no_pending_responses()
    assert signed_with == [keys[-1]] * 3
