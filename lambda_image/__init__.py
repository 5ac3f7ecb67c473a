"""The ParallelCluster API function's image: this directory's ``Dockerfile`` and ``requirements.txt``.

A package only so that the wheel ships both files and ``importlib.resources.files("lambda_image")``
finds them in a checkout and in an installed copy alike; nothing here is imported at run time
of the image. The directory is also the Docker build context of ``LambdaImageSource=asset``.
"""
