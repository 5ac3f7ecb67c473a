"""API Gateway REST API proxy events, as API Gateway sends them to the API function."""

from __future__ import annotations

import json
import uuid
from typing import Any

REGION = "us-east-1"
ACCOUNT = "123456789012"
API_ID = "abc123defg"
HOST = f"{API_ID}.execute-api.{REGION}.amazonaws.com"
IN_REGION = {"region": REGION}


def rest_event(
    method: str,
    path: str,
    query: dict[str, str | list[str]] | None = None,
    *,
    resource: str | None = None,
    path_parameters: dict[str, str] | None = None,
    body: Any = None,
) -> dict[str, Any]:
    """An API Gateway REST API (payload format 1.0) Lambda proxy event, stage prod.

    `path` is what API Gateway puts there: the resource path, without the stage.
    `resource` is the API resource template when it has path parameters.
    """
    multi_query = {k: v if isinstance(v, list) else [v] for k, v in (query or {}).items()} or None
    headers = {
        "Accept": "application/json",
        "Host": HOST,  # an amazonaws.com Host makes the WSGI adapter put /prod in SCRIPT_NAME
        "User-Agent": "pytest",
        "X-Amz-Date": "20260101T000000Z",
        "X-Amzn-Trace-Id": "Root=1-00000000-000000000000000000000000",
        "X-Forwarded-For": "198.51.100.7",
        "X-Forwarded-Port": "443",
        "X-Forwarded-Proto": "https",
    }
    if body is not None:
        headers["Content-Type"] = "application/json"
    caller = f"arn:aws:sts::{ACCOUNT}:assumed-role/ParallelClusterApiUserRole/pytest"
    return {
        "resource": resource or path,
        "path": path,
        "httpMethod": method,
        "headers": headers,
        "multiValueHeaders": {k: [v] for k, v in headers.items()},
        "queryStringParameters": {k: v[-1] for k, v in multi_query.items()} if multi_query else None,
        "multiValueQueryStringParameters": multi_query,
        "pathParameters": path_parameters,
        "stageVariables": None,
        "requestContext": {
            "resourceId": "a1b2c3",
            "resourcePath": resource or path,
            "httpMethod": method,
            "extendedRequestId": "AbCdEfGhIjKlMnO=",
            "requestTime": "01/Jan/2026:00:00:00 +0000",
            "path": f"/prod{path}",
            "accountId": ACCOUNT,
            "protocol": "HTTP/1.1",
            "stage": "prod",
            "domainPrefix": API_ID,
            "requestTimeEpoch": 1767225600000,
            # The same request id for the same request, so that a batch of events is the same every time.
            "requestId": str(uuid.uuid5(uuid.NAMESPACE_URL, f"{method} {path} {query} {body}")),
            "identity": {
                "cognitoIdentityPoolId": None,
                "accountId": ACCOUNT,
                "cognitoIdentityId": None,
                "caller": "AROAEXAMPLEROLEID:pytest",
                "sourceIp": "198.51.100.7",
                "principalOrgId": None,
                "accessKey": "ASIAEXAMPLEACCESSKEY",
                "cognitoAuthenticationType": None,
                "cognitoAuthenticationProvider": None,
                "userArn": caller,
                "userAgent": "pytest",
                "user": "AROAEXAMPLEROLEID:pytest",
            },
            "domainName": HOST,
            "apiId": API_ID,
        },
        "body": None if body is None else body if isinstance(body, str) else json.dumps(body),
        "isBase64Encoded": False,
    }


def cluster_event(method: str, name: str, suffix: str = "", query=None, body: Any = None) -> dict[str, Any]:
    return rest_event(
        method, f"/v3/clusters/{name}{suffix}", query, body=body,
        resource=f"/v3/clusters/{{clusterName}}{suffix}", path_parameters={"clusterName": name},
    )


def image_event(method: str, image_id: str, suffix: str = "", query=None) -> dict[str, Any]:
    return rest_event(
        method, f"/v3/images/custom/{image_id}{suffix}", query,
        resource=f"/v3/images/custom/{{imageId}}{suffix}", path_parameters={"imageId": image_id},
    )
