"""Names of the stack outputs users query with ``describe-stacks`` (the official template's names).

The stack (:func:`stacks.parallelcluster_api_stack.declare_outputs`) creates its outputs under
them. The API client, a distribution of its own, reads two of them by the same names
(``pcluster_api_client/outputs.py``; ``tests/pcluster_api_client/test_outputs.py`` checks they agree).
"""

INVOKE_URL = "ParallelClusterApiInvokeUrl"
USER_ROLE = "ParallelClusterApiUserRole"
LAMBDA_ARN = "ParallelClusterLambdaArn"
LAMBDA_LOG_GROUP = "ParallelClusterLambdaLogGroup"
IMAGE_PIPELINE = "ParallelClusterDockerUpdateImagePipeline"
IMAGE_URI = "UriOfCopyOfPublicEcrImage"
DOMAIN_TARGET = "ParallelClusterApiDomainTarget"
