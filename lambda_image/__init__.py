"""The ParallelCluster API function's image: this directory's ``Dockerfile`` and ``locks/``.

``locks/<version>.txt`` is the image's Python environment for one ParallelCluster version, made
from ``requirements.in`` by ``make lock``. A package only so that the wheel ships the Dockerfile
and the locks and ``importlib.resources.files("lambda_image")`` finds them in a checkout and in an
installed copy alike; nothing here is imported at run time of the image. The directory is also the
Docker build context of ``LambdaImageSource=asset``.
"""
