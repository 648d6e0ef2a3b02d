"""An offline server speaking the subset of TMDB API v3 the collector uses.

``dataset`` turns the CC0 films of ``bokeh-sampledata`` (or a JSON-lines file of
TMDB movie-details objects) into TMDB-shaped records; ``catalogue`` indexes them
for fast filtering; ``server`` is the FastAPI app with TMDB's paging, errors and
authentication plus fault injection for tests and benchmarks.
"""
