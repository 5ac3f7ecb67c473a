"""Names of the stack outputs users query with ``describe-stacks`` (the official template's names).

The one source of these names: the stack (``stacks``) creates its outputs under them and
``pcluster-api`` reads them, so this module imports nothing of the CDK.
"""

INVOKE_URL = "ParallelClusterApiInvokeUrl"
USER_ROLE = "ParallelClusterApiUserRole"
LAMBDA_ARN = "ParallelClusterLambdaArn"
LAMBDA_LOG_GROUP = "ParallelClusterLambdaLogGroup"
IMAGE_PIPELINE = "ParallelClusterDockerUpdateImagePipeline"
IMAGE_URI = "UriOfCopyOfPublicEcrImage"
DOMAIN_TARGET = "ParallelClusterApiDomainTarget"
