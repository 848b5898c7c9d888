"""Real peer processes the tests start on 127.0.0.1: the OpenID Connect provider (oidc.py) and
the time-stamping authority (tsa.py)."""
