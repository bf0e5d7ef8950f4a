"""Shared test configuration: deterministic hypothesis runs (no example database, fixed seed)."""

from hypothesis import HealthCheck, settings

settings.register_profile(
    "imurehab",
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.load_profile("imurehab")
