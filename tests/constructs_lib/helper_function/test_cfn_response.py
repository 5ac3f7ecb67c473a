"""cfn_response: every reply fits CloudFormation's 4,096-byte limit on the encoded body, whatever its text.

CloudFormation refuses a larger reply (custom resource response objects documentation), and every
retry of the request then fails the same way: a Delete would stay in DELETE_FAILED. ``json.dumps``
writes each character outside ASCII as ``\\uXXXX`` (6 bytes; 12 for a character outside the Basic
Multilingual Plane), so the bytes are what is measured, not the characters.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.constructs_lib.helper_function.runtime_support import (
    ACCOUNT,
    REGION,
    ResponseRecorder,
    custom_resource_request,
    load_runtime,
    response_url,  # noqa: F401 - the fixture
)

module = load_runtime("helper_function", "cfn_response")

LIMIT = 4096
TRUNCATED = "... (truncated)"
# The longest fields CloudFormation can send: a stack name of 128 characters, a logical id of 255,
# a physical id of 1 KB (custom resource response objects documentation: "must not exceed 1 KB").
LONGEST_STACK_ID = f"arn:aws-us-gov:cloudformation:{REGION}:{ACCOUNT}:stack/{'S' * 128}/8131d980-7fb5-11ee-9589-0a6424944f95"
LONGEST_LOGICAL_ID = "L" * 255
LONGEST_PHYSICAL_ID = "p" * 1024
REASONS = {
    "ascii": "x" * 20_000,
    # The case: REST APIs with Japanese names, 6 bytes per character once encoded.
    "japanese": "他のAPIがこのロールでログを書いています: " + "、".join(f"並列計算クラスター管理API第{n}号" for n in range(400)),
    # Outside the Basic Multilingual Plane: a surrogate pair, 12 bytes per character.
    "emoji": "🚀" * 3_000,
    "mixed": ("é" + "x" + "日" + "🚀") * 2_000,
    "control characters": "\n\t\x00" * 3_000,
}


def longest_event(url: str) -> dict[str, Any]:
    event = custom_resource_request(
        "Delete",
        url,
        service_token=f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{'F' * 64}",
        resource_type="Custom::" + "T" * 60,
        logical_id=LONGEST_LOGICAL_ID,
        request_id="5f1c3c0e-2d2b-4c8e-9a51-8d2b7c6e4f10",
        properties={},
        physical_id=LONGEST_PHYSICAL_ID,
    )
    event["StackId"] = LONGEST_STACK_ID
    return event


@pytest.mark.parametrize("text", sorted(REASONS))
def test_a_long_reason_is_shortened_until_the_encoded_body_fits(response_url: ResponseRecorder, text: str) -> None:
    reason = REASONS[text]
    data = {"RoleArn": f"arn:aws:iam::{ACCOUNT}:role/{'r' * 64}", "SetByThisStack": "false"}

    body = module.send_response(longest_event(response_url.url), "SUCCESS", reason, LONGEST_PHYSICAL_ID, data)

    sent = response_url.only["body"].encode()
    assert len(sent) <= LIMIT
    received = json.loads(sent)
    assert received == body
    assert (received["PhysicalResourceId"], received["LogicalResourceId"], received["Data"]) == (
        LONGEST_PHYSICAL_ID, LONGEST_LOGICAL_ID, data
    )
    kept = received["Reason"]
    assert kept.endswith(TRUNCATED)
    prefix = kept[: -len(TRUNCATED)]
    assert reason.startswith(prefix)
    # As much of the reason as fits: one more character would not.
    longer = {**received, "Reason": reason[: len(prefix) + 1] + TRUNCATED}
    assert len(json.dumps(longer).encode()) > LIMIT


def test_a_reason_that_fits_is_sent_whole(response_url: ResponseRecorder) -> None:
    reason = "日本語の理由、" * 50  # 350 characters, 2,100 bytes once escaped: fits beside the longest fields

    module.send_response(longest_event(response_url.url), "SUCCESS", reason, LONGEST_PHYSICAL_ID)

    assert response_url.body()["Reason"] == reason
    assert len(response_url.only["body"].encode()) <= LIMIT


@pytest.mark.parametrize(("request_type", "status"), [("Delete", "SUCCESS"), ("Create", "FAILED")])
def test_oversized_data_is_dropped_rather_than_the_reply(
    response_url: ResponseRecorder, request_type: str, status: str
) -> None:
    """No handler returns such Data; if one did, CloudFormation still gets a reply it accepts.

    Without its Data a Create or Update is of no use (Fn::GetAtt would fail later, less clearly): it
    fails; a Delete keeps its status, which is all CloudFormation reads of it.
    """
    data = {f"Key{index}": "v" * 200 for index in range(30)}
    event = {**longest_event(response_url.url), "RequestType": request_type}

    module.send_response(event, "SUCCESS", "done", LONGEST_PHYSICAL_ID, data)

    sent = response_url.only["body"].encode()
    assert len(sent) <= LIMIT
    received = json.loads(sent)
    assert (received["Status"], received["Data"]) == (status, {})
    assert received["Reason"].startswith("The reply's Data (")
    assert received["Reason"].endswith("; done")
