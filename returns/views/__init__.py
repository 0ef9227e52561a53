"""Returns' pages: policies (signed in), the direct return link (public), the tracking endpoint
(signed by the carrier), forecast and report, notification settings."""
