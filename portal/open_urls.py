"""The one list of URL names open to everyone whatever else holds a request back.

Neither a maintenance interruption of sign-in (outages.middleware) nor an unfinished first
sign-in (accounts.middleware) stops these: the status page and its feeds say what is going on,
and anyone can still sign out, change language, and be probed for health. Every other URL
declares the gate feature it belongs to (tests/test_architecture.py checks this).
"""

ALWAYS_OPEN_URL_NAMES = frozenset(
    {
        "account_logout",
        "set_language",
        "healthz",
        "healthz_live",
        "healthz_ready",
        "metrics",  # a scraper has no session; the view itself answers 404 to anyone else
        "outages:status",
        "outages:archive",
        "outages:ical",
        "outages:atom",
        "outages:json",
        # The carrier's signed tracking endpoint: during a tracking-ingestion window events are
        # still stored (applied when it ends), and it has no session to stop at sign-in.
        "returns:tracking_events",
        "returns:unsubscribe",  # a recipient's one-click unsubscribe (RFC 8058) never waits
    }
)
