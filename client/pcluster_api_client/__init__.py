"""Signed client of the AWS ParallelCluster API that this project deploys: the ``pcluster-api`` command.

It needs boto3 only and imports nothing of the CDK, so it installs and runs without Node.js:
``pip install <this repository>`` installs it alone; the constructs need the ``cdk`` extra
(``pip install "<this repository>[cdk]"``).
``python -m pcluster_api_client`` is the same command as ``pcluster-api``; see
:mod:`pcluster_api_client.cli`.
"""
