"""Names of the API stack's outputs that ``pcluster-api`` reads (the official template's names).

The stack declares them in the construct library (``stacks/outputs.py``), a distribution this
client does not depend on: it needs boto3 alone. ``tests/pcluster_api_client/test_outputs.py``
checks that both say the same.
"""

INVOKE_URL = "ParallelClusterApiInvokeUrl"
USER_ROLE = "ParallelClusterApiUserRole"
