#!/usr/bin/env python3
"""CDK app: build the ParallelCluster API stack from the settings in the CDK context."""

import os
import sys

import aws_cdk as cdk

from constructs_lib import InvalidSettingError
from stacks import ParallelClusterApiStack

app = cdk.App()
try:
    # The CDK CLI passes the account and Region it deploys to as CDK_DEFAULT_ACCOUNT and CDK_DEFAULT_REGION.
    ParallelClusterApiStack.from_app_context(
        app, deploy_region=os.environ.get("CDK_DEFAULT_REGION"), deploy_account=os.environ.get("CDK_DEFAULT_ACCOUNT")
    )
except InvalidSettingError as error:
    sys.exit(f"error: {error}")
app.synth()
