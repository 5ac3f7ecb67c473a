"""The client reads the stack's outputs by the names the stack declares them under.

Two distributions, neither depending on the other: the construct library declares the outputs
(``stacks/outputs.py``) and the client, which needs boto3 alone, keeps the names it reads.
"""

from __future__ import annotations

import pcluster_api_client.outputs as client_names
import stacks.outputs as stack_names


def public_names(module: object) -> dict[str, str]:
    return {name: value for name, value in vars(module).items() if name.isupper()}


def test_every_output_the_client_reads_is_one_the_stack_declares() -> None:
    read = public_names(client_names)

    assert read == {"INVOKE_URL": "ParallelClusterApiInvokeUrl", "USER_ROLE": "ParallelClusterApiUserRole"}
    assert read.items() <= public_names(stack_names).items()
