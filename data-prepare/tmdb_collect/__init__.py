"""The TMDB collector: one logical date of Discover results, enriched, typed and stored.

Modules, one job each: ``tmdb_client`` (HTTP, auth, retries), ``rate_budget``
(the request rate, shared by every collector of a host), ``windows`` (which
release-date windows a logical date collects), ``fetch`` (windows -> raw
responses), ``process`` (raw -> validated rows), ``collect`` (one date end to
end), ``cli`` (the typer commands) and ``sandbox`` (an offline server speaking
the same API).
"""

# Recorded in every manifest; bump when the processed output of the same source changes.
COLLECTOR_VERSION = "2.0.0"  # 2.0: writers, production companies, certification
