"""``python -m pcluster_api_client``: the ``pcluster-api`` command."""

import sys

from pcluster_api_client.cli import main

sys.exit(main())
