"""Constants for the Nezha integration."""

import logging
from typing import Final

DOMAIN: Final = "nezha"
LOGGER = logging.getLogger(__package__)

CONF_API_GENERATION: Final = "api_generation"
CONF_SCAN_INTERVAL: Final = "scan_interval"
CONF_OFFLINE_THRESHOLD: Final = "offline_threshold"
CONF_PING_INTERVAL: Final = "ping_interval"
CONF_SERVER_GROUP: Final = "server_group"

DEFAULT_SCAN_INTERVAL: Final = 30
MIN_SCAN_INTERVAL: Final = 10
MAX_SCAN_INTERVAL: Final = 3600
DEFAULT_OFFLINE_THRESHOLD: Final = 60
MIN_OFFLINE_THRESHOLD: Final = 10
MAX_OFFLINE_THRESHOLD: Final = 3600
# /monitor/{id} returns 24 h of points per call while Nezha adds about one point a
# minute, so polling it faster than every few minutes costs bandwidth for nothing.
DEFAULT_PING_INTERVAL: Final = 300
MIN_PING_INTERVAL: Final = 60
MAX_PING_INTERVAL: Final = 3600
# Each request gives up after 10 s; these bound a whole sequence of them. An
# update (setup's first one included) makes one request on v0 and two on v1;
# validating the form makes up to four.
UPDATE_DEADLINE: Final = 15.0
VALIDATE_DEADLINE: Final = 20.0
# A temperature sensor an online agent has not reported for this long (while it
# reports others) loses its entity; it is created again if it comes back.
TEMPERATURE_GRACE: Final = 24 * 3600
# At most this many ping-history requests are in flight at once.
PING_CONCURRENCY: Final = 2

# Passed to the reauth flow (never stored) when the failure has its own message.
REAUTH_REASON: Final = "reauth_reason"

ALL_GROUPS: Final = "all"
GROUP_PREFIX: Final = "tag:"

MANUFACTURER: Final = "Nezha"

# Alerts pushed by the dashboard to a Home Assistant webhook (entry options).
CONF_ALERTS_WEBHOOK: Final = "alerts_webhook"
CONF_WEBHOOK_ID: Final = "webhook_id"
CONF_WEBHOOK_LOCAL_ONLY: Final = "webhook_local_only"
