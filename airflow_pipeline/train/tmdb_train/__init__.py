"""The training image's package: data, split, train, evaluate, promote, and the CLI.

Each stage is a module of plain functions; ``run.train`` chains them and
``cli`` wraps it for ``tmdb-mlops train`` and ``tmdb-mlops models``.
"""
