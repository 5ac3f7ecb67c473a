"""Names of the stack outputs users query with `describe-stacks` (the official template's names).

Kept free of CDK imports: the API client reads them without starting the jsii runtime.
"""

INVOKE_URL = "ParallelClusterApiInvokeUrl"
USER_ROLE = "ParallelClusterApiUserRole"
LAMBDA_ARN = "ParallelClusterLambdaArn"
LAMBDA_LOG_GROUP = "ParallelClusterLambdaLogGroup"
IMAGE_PIPELINE = "ParallelClusterDockerUpdateImagePipeline"
IMAGE_URI = "UriOfCopyOfPublicEcrImage"
DOMAIN_TARGET = "ParallelClusterApiDomainTarget"
