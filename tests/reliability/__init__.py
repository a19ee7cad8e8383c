"""Reliability suite: outages, slow answers, a large filtered fleet, restarts."""
