"""Config, reauth, reconfigure and options flows for Nezha."""

import asyncio
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from homeassistant.components import webhook
from homeassistant.config_entries import (
    ConfigFlow,
    ConfigFlowResult,
    OptionsFlowWithReload,
)
from homeassistant.const import CONF_API_TOKEN, CONF_URL, CONF_VERIFY_SSL
from homeassistant.core import callback
from homeassistant.helpers.selector import (
    NumberSelector,
    NumberSelectorConfig,
    NumberSelectorMode,
    SelectOptionDict,
    SelectSelector,
    SelectSelectorConfig,
    SelectSelectorMode,
    TextSelector,
    TextSelectorConfig,
    TextSelectorType,
)

from .client import ApiGeneration, NezhaError, NezhaRedirectError, NezhaScopeError
from .client.alerts import ALERT_TEMPLATE
from .client.cron import SCOPE_CRON_EXEC, SCOPE_CRON_READ
from .client.v1 import REQUIRED_SCOPES
from .const import (
    ALL_GROUPS,
    CONF_ALERTS_WEBHOOK,
    CONF_API_GENERATION,
    CONF_OFFLINE_THRESHOLD,
    CONF_PING_INTERVAL,
    CONF_SCAN_INTERVAL,
    CONF_SERVER_GROUP,
    CONF_WEBHOOK_ID,
    CONF_WEBHOOK_LOCAL_ONLY,
    DEFAULT_OFFLINE_THRESHOLD,
    DEFAULT_PING_INTERVAL,
    DEFAULT_SCAN_INTERVAL,
    DOMAIN,
    GROUP_PREFIX,
    LOGGER,
    MAX_OFFLINE_THRESHOLD,
    MAX_PING_INTERVAL,
    MAX_SCAN_INTERVAL,
    MIN_OFFLINE_THRESHOLD,
    MIN_PING_INTERVAL,
    MIN_SCAN_INTERVAL,
    REAUTH_REASON,
    VALIDATE_DEADLINE,
)
from .validation import (
    InvalidUrlError,
    TokenMismatchError,
    error_key,
    normalize_url,
    normalized_or_raw,
    title_for,
    validate,
)
from .webhook import webhook_id_of, webhook_url

if TYPE_CHECKING:
    # Home Assistant 2026.10 types its flows with probatio, which it also installs
    # as the runtime ``voluptuous``; older releases only have voluptuous.
    import probatio as vol

    from .coordinator import NezhaConfigEntry
else:
    import voluptuous as vol

URL_SELECTOR = TextSelector(TextSelectorConfig(type=TextSelectorType.URL))
TOKEN_SELECTOR = TextSelector(TextSelectorConfig(type=TextSelectorType.PASSWORD))
EXAMPLE_URL = "https://nezha.example.com"
PLACEHOLDERS = {
    "example_url": EXAMPLE_URL,
    "scopes": ", ".join(REQUIRED_SCOPES),
    "cron_scopes": f"{SCOPE_CRON_READ}, {SCOPE_CRON_EXEC}",
}


def _connection_schema(*, reconfigure: bool) -> vol.Schema:
    """URL, token and TLS verification, for the user or the reconfigure step.

    Reconfiguring, an empty token keeps the stored one, and TLS verification
    shows the entry's value (a suggested value), so it needs no default.
    """
    token: vol.Marker = vol.Required(CONF_API_TOKEN)
    verify_ssl: vol.Marker = vol.Required(CONF_VERIFY_SSL, default=True)
    if reconfigure:
        token = vol.Optional(CONF_API_TOKEN)
        verify_ssl = vol.Required(CONF_VERIFY_SSL)
    return vol.Schema(
        {vol.Required(CONF_URL): URL_SELECTOR, token: TOKEN_SELECTOR, verify_ssl: bool}
    )


USER_SCHEMA = _connection_schema(reconfigure=False)
RECONFIGURE_SCHEMA = _connection_schema(reconfigure=True)


class NezhaConfigFlow(ConfigFlow, domain=DOMAIN):
    """Add a Nezha dashboard with its URL and API token."""

    VERSION = 1
    _generation = ApiGeneration.V0
    _reauth_reason: str | None = None

    @staticmethod
    @callback
    def async_get_options_flow(config_entry: NezhaConfigEntry) -> NezhaOptionsFlow:
        """Return the options flow."""
        return NezhaOptionsFlow()

    async def _async_check(
        self, user_input: dict[str, Any], token: str
    ) -> tuple[str | None, dict[str, str], dict[str, str]]:
        """Validate input; return the normalised URL and form errors/placeholders.

        The detected generation is kept in ``self._generation``.
        """
        placeholders = dict(PLACEHOLDERS)
        try:
            url = normalize_url(user_input[CONF_URL])
            async with asyncio.timeout(VALIDATE_DEADLINE):
                self._generation = await validate(
                    self.hass, url, token, user_input[CONF_VERIFY_SSL]
                )
        except TimeoutError:
            # Every request stayed within its own timeout, but not all of them
            # together within the deadline.
            return None, {"base": "timeout"}, placeholders
        except (InvalidUrlError, TokenMismatchError, NezhaError) as err:
            if isinstance(err, NezhaRedirectError):
                placeholders["location"] = err.location
            if isinstance(err, NezhaScopeError):
                placeholders["scope"] = err.scope or ", ".join(REQUIRED_SCOPES)
            return None, {"base": error_key(err)}, placeholders
        except Exception as err:  # noqa: BLE001 - shown to the user as "unknown"
            return None, {"base": error_key(err)}, placeholders
        return url, {}, placeholders

    async def async_step_user(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Ask for URL, token and TLS verification, and test them."""
        errors: dict[str, str] = {}
        placeholders = dict(PLACEHOLDERS)
        if user_input is not None:
            self._async_abort_entries_match(
                {CONF_URL: normalized_or_raw(user_input[CONF_URL])}
            )
            token = user_input[CONF_API_TOKEN].strip()
            url, errors, placeholders = await self._async_check(user_input, token)
            if url is not None:
                return self.async_create_entry(
                    title=title_for(url),
                    data=self._entry_data(url, token, user_input[CONF_VERIFY_SSL]),
                )
        return self._async_show_connection_form(
            "user", USER_SCHEMA, user_input, errors, placeholders
        )

    async def async_step_reauth(
        self, entry_data: Mapping[str, Any]
    ) -> ConfigFlowResult:
        """Start reauth after the dashboard rejected the token (or banned us)."""
        self._reauth_reason = entry_data.get(REAUTH_REASON)
        return await self.async_step_reauth_confirm()

    async def async_step_reauth_confirm(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Ask only for a new token and verify it against the stored URL."""
        entry = self._get_reauth_entry()
        # Opened because of a WAF ban: explain it before anything is entered.
        errors = {"base": self._reauth_reason} if self._reauth_reason else {}
        placeholders = dict(PLACEHOLDERS)
        if user_input is not None:
            token = user_input[CONF_API_TOKEN].strip()
            _, errors, placeholders = await self._async_check({**entry.data}, token)
            if not errors:
                return self.async_update_reload_and_abort(
                    entry, data_updates={CONF_API_TOKEN: token}
                )
        return self.async_show_form(
            step_id="reauth_confirm",
            data_schema=vol.Schema({vol.Required(CONF_API_TOKEN): TOKEN_SELECTOR}),
            errors=errors,
            description_placeholders={**placeholders, "name": entry.title},
        )

    async def async_step_reconfigure(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Change URL, token or TLS verification; entities and history stay."""
        entry = self._get_reconfigure_entry()
        errors: dict[str, str] = {}
        placeholders = dict(PLACEHOLDERS)
        if user_input is not None:
            new_url = normalized_or_raw(user_input[CONF_URL])
            if new_url != entry.data[CONF_URL]:
                self._async_abort_entries_match({CONF_URL: new_url})
            # Left empty, the token field keeps the stored token.
            new_token = (user_input.get(CONF_API_TOKEN) or "").strip()
            token = new_token or entry.data[CONF_API_TOKEN]
            url, errors, placeholders = await self._async_check(user_input, token)
            if url is not None:
                # Follow the new host in the title unless the user renamed the entry.
                renamed = entry.title != title_for(entry.data[CONF_URL])
                return self.async_update_reload_and_abort(
                    entry,
                    title=entry.title if renamed else title_for(url),
                    data_updates=self._entry_data(
                        url, token, user_input[CONF_VERIFY_SSL]
                    ),
                )
        return self._async_show_connection_form(
            "reconfigure",
            RECONFIGURE_SCHEMA,
            user_input or entry.data,
            errors,
            placeholders,
        )

    def _entry_data(self, url: str, token: str, verify_ssl: bool) -> dict[str, Any]:
        """What a checked connection stores in the entry."""
        return {
            CONF_URL: url,
            CONF_API_TOKEN: token,
            CONF_VERIFY_SSL: verify_ssl,
            CONF_API_GENERATION: self._generation.value,
        }

    def _async_show_connection_form(
        self,
        step_id: str,
        schema: vol.Schema,
        values: Mapping[str, Any] | None,
        errors: dict[str, str],
        placeholders: dict[str, str],
    ) -> ConfigFlowResult:
        """Show URL, token and TLS verification; the token is never filled back in."""
        return self.async_show_form(
            step_id=step_id,
            data_schema=self.add_suggested_values_to_schema(
                schema, _without_token(values)
            ),
            errors=errors,
            description_placeholders=placeholders,
        )


def _without_token(values: Mapping[str, Any] | None) -> dict[str, Any]:
    return {k: v for k, v in (values or {}).items() if k != CONF_API_TOKEN}


def _seconds(minimum: int, maximum: int, step: int) -> NumberSelector:
    return NumberSelector(
        NumberSelectorConfig(
            min=minimum,
            max=maximum,
            step=step,
            mode=NumberSelectorMode.BOX,
            unit_of_measurement="s",
        )
    )


class NezhaOptionsFlow(OptionsFlowWithReload):
    """Polling, offline threshold, ping interval, server group and the alerts webhook."""

    _options: dict[str, Any]
    _webhook_id: str | None = None

    async def async_step_init(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Show the options; the entry reloads when they change."""
        if user_input is not None:
            self._options = {
                CONF_SCAN_INTERVAL: int(user_input[CONF_SCAN_INTERVAL]),
                CONF_OFFLINE_THRESHOLD: int(user_input[CONF_OFFLINE_THRESHOLD]),
                CONF_PING_INTERVAL: int(user_input[CONF_PING_INTERVAL]),
                CONF_SERVER_GROUP: user_input[CONF_SERVER_GROUP],
            }
            if user_input[CONF_ALERTS_WEBHOOK]:
                return await self.async_step_alerts()
            return self.async_create_entry(data=self._options)
        options = self.config_entry.options
        current_group = options.get(CONF_SERVER_GROUP, ALL_GROUPS)
        groups = await self._async_groups()
        choices = [SelectOptionDict(value=ALL_GROUPS, label="All servers")]
        values = {ALL_GROUPS}
        for value in (*(GROUP_PREFIX + tag for tag in groups), current_group):
            if value not in values:
                values.add(value)
                choices.append(
                    SelectOptionDict(
                        value=value, label=value.removeprefix(GROUP_PREFIX)
                    )
                )
        schema = vol.Schema(
            {
                vol.Required(
                    CONF_SCAN_INTERVAL,
                    default=options.get(CONF_SCAN_INTERVAL, DEFAULT_SCAN_INTERVAL),
                ): _seconds(MIN_SCAN_INTERVAL, MAX_SCAN_INTERVAL, 1),
                vol.Required(
                    CONF_OFFLINE_THRESHOLD,
                    default=options.get(
                        CONF_OFFLINE_THRESHOLD, DEFAULT_OFFLINE_THRESHOLD
                    ),
                ): _seconds(MIN_OFFLINE_THRESHOLD, MAX_OFFLINE_THRESHOLD, 1),
                vol.Required(
                    CONF_PING_INTERVAL,
                    default=options.get(CONF_PING_INTERVAL, DEFAULT_PING_INTERVAL),
                ): _seconds(MIN_PING_INTERVAL, MAX_PING_INTERVAL, 1),
                vol.Required(CONF_SERVER_GROUP, default=current_group): SelectSelector(
                    SelectSelectorConfig(
                        options=choices,
                        mode=SelectSelectorMode.DROPDOWN,
                        translation_key=CONF_SERVER_GROUP,
                    )
                ),
                vol.Required(
                    CONF_ALERTS_WEBHOOK,
                    default=webhook_id_of(self.config_entry) is not None,
                ): bool,
            }
        )
        return self.async_show_form(step_id="init", data_schema=schema)

    async def async_step_alerts(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Show the webhook URL and the body template to paste into Nezha.

        The webhook id is kept while alerts stay enabled; turning them off and on
        again makes a new one (the old URL then stops working).
        """
        if self._webhook_id is None:
            self._webhook_id = (
                webhook_id_of(self.config_entry) or webhook.async_generate_id()
            )
        if user_input is not None:
            return self.async_create_entry(
                data={
                    **self._options,
                    CONF_ALERTS_WEBHOOK: True,
                    CONF_WEBHOOK_ID: self._webhook_id,
                    CONF_WEBHOOK_LOCAL_ONLY: user_input[CONF_WEBHOOK_LOCAL_ONLY],
                }
            )
        local_only = self.config_entry.options.get(CONF_WEBHOOK_LOCAL_ONLY, True)
        return self.async_show_form(
            step_id="alerts",
            data_schema=vol.Schema(
                {vol.Required(CONF_WEBHOOK_LOCAL_ONLY, default=local_only): bool}
            ),
            description_placeholders={
                "url": webhook_url(self.hass, self._webhook_id),
                "template": ALERT_TEMPLATE,
            },
        )

    async def _async_groups(self) -> list[str]:
        """Return the dashboard's server groups (tags); empty when unreachable."""
        coordinator = getattr(self.config_entry, "runtime_data", None)
        if coordinator is None or coordinator.auth_failed:
            # A refused token is not sent again (on v1 each try is a WAF strike).
            return []
        try:
            servers = await coordinator.client.async_list_servers()
        except NezhaError as err:
            LOGGER.debug("Could not list server groups: %s", err)
            return []
        return sorted({group for server in servers for group in server.groups})
