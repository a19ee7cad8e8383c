"""The processes of an end-to-end run: the simulator and a real Home Assistant.

Each runs in its own session (process group), so that stopping it also stops
anything it started, and nothing outlives the run. Used by the e2e tests and by
``scripts/screenshots`` (``nezha_dev/hass/screenshots.py``).
"""

from collections.abc import Iterator
import contextlib
from dataclasses import dataclass, field
import os
from pathlib import Path
import re
import signal
import socket
import subprocess
import sys
import time
from typing import IO, Self
import urllib.error
import urllib.request

from homeassistant.components.http import const as http_const
import yaml

REPO = Path(__file__).resolve().parents[2]
PYTHON = Path(sys.executable)
# The venv's console script; ``python -m homeassistant`` is the same program.
HASS = PYTHON.parent / "hass"
E2E_TOKEN = "e2eNezhaToken0123456789abcdefXYZ"  # noqa: S105 - 32 characters, like v0


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class Phases:
    """Wall-clock durations of the named phases of a run, in order.

    A *detail* is a measurement inside a phase (e.g. how long a state change
    took to show); details are listed but not added to the total.
    """

    records: list[tuple[str, float, bool]] = field(default_factory=list)

    @contextlib.contextmanager
    def __call__(self, name: str) -> Iterator[None]:
        """Time the body as phase ``name`` (also when it fails)."""
        started = time.monotonic()
        try:
            yield
        finally:
            self.records.append((name, time.monotonic() - started, False))

    def detail(self, name: str, seconds: float) -> None:
        """Record a measurement inside the current phase."""
        self.records.append((name, seconds, True))

    def report(self) -> list[str]:
        """One line per phase (details indented, after their phase), and the total.

        A phase's details were recorded while it ran, that is before the phase
        itself; they are printed after it.
        """
        lines: list[str] = []
        details: list[str] = []
        for name, seconds, is_detail in self.records:
            if is_detail:
                details.append(f"{seconds:7.1f} s      {name}")
            else:
                lines.append(f"{seconds:7.1f} s  {name}")
                lines.extend(details)
                details = []
        lines.extend(details)
        total = sum(seconds for _, seconds, is_detail in self.records if not is_detail)
        lines.append(f"{total:7.1f} s  total")
        return lines


class ManagedProcess:
    """A child process in a new session, with its output in a log file."""

    def __init__(
        self,
        name: str,
        argv: list[str],
        log_path: Path,
        env: dict[str, str] | None = None,
    ) -> None:
        """Describe the process (``env`` is added to ours); :meth:`start` runs it."""
        self.name = name
        self.argv = argv
        self.log_path = log_path
        self.env = {**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})}
        self._proc: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None

    @property
    def running(self) -> bool:
        """Whether the process was started and has not exited."""
        return self._proc is not None and self._proc.poll() is None

    def start(self) -> None:
        """Start the process (its output is appended to the log file)."""
        if self.running:
            raise RuntimeError(f"{self.name} is already running")
        self._log = self.log_path.open("ab")
        self._proc = subprocess.Popen(  # noqa: S603 - our own argv
            self.argv,
            cwd=REPO,
            env=self.env,
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def check_alive(self) -> None:
        """Raise with the end of the log if the process has exited."""
        if self._proc is not None and self._proc.poll() is not None:
            raise RuntimeError(
                f"{self.name} exited with status {self._proc.returncode}:\n"
                + self.log_tail()
            )

    def stop(self, timeout: float = 60) -> int | None:
        """SIGTERM the process group, SIGKILL it after ``timeout``; exit status."""
        proc, self._proc = self._proc, None
        if proc is None:
            return None
        try:
            if proc.poll() is None:
                _signal_group(proc.pid, signal.SIGTERM)
                try:
                    proc.wait(timeout)
                except subprocess.TimeoutExpired:
                    _signal_group(proc.pid, signal.SIGKILL)
                    proc.wait(10)
            # Children the leader left behind (there should be none).
            _signal_group(proc.pid, signal.SIGKILL)
            return proc.returncode
        finally:
            if self._log is not None:
                self._log.close()
                self._log = None

    def log_tail(self, lines: int = 60) -> str:
        """The last lines of the process's output."""
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])


def _signal_group(pgid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)


class SimulatorProcess(ManagedProcess):
    """``nezha_dev/hass/simserver.py``: the simulator with a freezable clock."""

    def __init__(self, workdir: Path, token: str, servers: int = 5) -> None:
        """Describe the simulator; :meth:`start_and_wait` runs it."""
        super().__init__(
            "simulator",
            [
                str(PYTHON),
                "-m",
                "nezha_dev.hass.simserver",
                "--port",
                "0",
                "--servers",
                str(servers),
                "--token",
                token,
            ],
            workdir / "simulator.log",
        )
        self.url = ""

    def start_and_wait(self, timeout: float = 30) -> str:
        """Start and return the base URL it listens on."""
        self.start()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            match = re.search(r"listening on (http://\S+)", self.log_tail())
            if match:
                self.url = match.group(1)
                return self.url
            self.check_alive()
            time.sleep(0.1)
        raise RuntimeError(f"the simulator did not start:\n{self.log_tail()}")


def write_config(config_dir: Path) -> None:
    """A config dir with the integrations of config/configuration.yaml.

    Without ``http:``: since 2026.x Home Assistant moves YAML HTTP settings into
    its storage as an unconfirmed trial that it reverts (and restarts) after five
    minutes unless confirmed, and raises a deprecation repair. The port comes
    from ``SETUP_PORT`` instead (see :class:`HassProcess`).
    """
    config_dir.mkdir(parents=True, exist_ok=True)
    config = yaml.safe_load((REPO / "config" / "configuration.yaml").read_text())
    config.pop("http", None)
    # Everything Home Assistant says, so that the deprecation check
    # (tests/e2e/logscan.py) also sees reports made at debug level.
    config["logger"]["default"] = "debug"
    (config_dir / "configuration.yaml").write_text(
        yaml.safe_dump(config, allow_unicode=True, sort_keys=False)
    )
    link = config_dir / "custom_components"
    if not link.is_symlink():
        link.symlink_to(REPO / "custom_components")


# Recent Home Assistant reads SETUP_PORT; 2026.3 (the minimum we test) does not
# and needs ``http: server_port`` in YAML, which it applies without a trial.
SETUP_PORT_SUPPORTED = hasattr(http_const, "ENV_SETUP_PORT")


def pin_port(config_dir: Path, port: int) -> None:
    """Put ``http: server_port: PORT`` into the config dir's configuration.yaml."""
    path = config_dir / "configuration.yaml"
    config = yaml.safe_load(path.read_text())
    config["http"] = {"server_port": port}
    path.write_text(yaml.safe_dump(config, allow_unicode=True, sort_keys=False))


PYTHON_WARNINGS = "default::DeprecationWarning,default::PendingDeprecationWarning"


class HassProcess(ManagedProcess):
    """``hass -c CONFIG --skip-pip``, its HTTP server on ``port``.

    The port is Home Assistant's default port for a config dir without stored
    HTTP settings (``SETUP_PORT``); it listens on all interfaces, as by default,
    and is only ever reached through 127.0.0.1.
    """

    def __init__(self, config_dir: Path, port: int | None = None) -> None:
        """Describe Home Assistant on a config dir made by :func:`write_config`.

        Without ``port``, the first start picks a free one (and keeps it).
        """
        argv = (
            [str(HASS)] if HASS.exists() else [str(PYTHON), "-m", "homeassistant"]
        ) + ["-c", str(config_dir), "--skip-pip"]
        super().__init__(
            "hass",
            argv,
            config_dir.parent / f"{config_dir.name}.out",
            # Python hides DeprecationWarning outside __main__; show each once.
            env={"PYTHONWARNINGS": PYTHON_WARNINGS},
        )
        self.config_dir = config_dir
        self.port = port

    @property
    def url(self) -> str:
        """The base URL, e.g. ``http://127.0.0.1:8123``."""
        if self.port is None:
            raise RuntimeError("Home Assistant has not been started")
        return f"http://127.0.0.1:{self.port}"

    def start_and_wait(self, timeout: float = 180) -> None:
        """Start and wait until the frontend (and so the APIs) answers."""
        if self.port is None:
            self.port = free_port()
        self.env["SETUP_PORT"] = str(self.port)
        if not SETUP_PORT_SUPPORTED:
            pin_port(self.config_dir, self.port)
        self.start()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.check_alive()
            try:
                # "/" is served once the frontend is set up, which depends on the
                # api, config, onboarding and lovelace integrations.
                with urllib.request.urlopen(  # noqa: S310 - our own http:// URL
                    f"{self.url}/", timeout=5
                ) as response:
                    if response.status == 200:
                        return
            except urllib.error.URLError, ConnectionError, TimeoutError:
                pass
            time.sleep(0.25)
        raise RuntimeError(f"Home Assistant did not come up:\n{self.log_tail()}")

    def stderr_log(self) -> str:
        """What hass wrote to stdout/stderr (warnings before its logging starts)."""
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""

    def ha_log(self) -> str:
        """home-assistant.log of every start so far (each start renames the last
        one to home-assistant.log.1, so this covers one restart)."""
        parts = []
        for name in ("home-assistant.log.1", "home-assistant.log"):
            path = self.config_dir / name
            if path.exists():
                parts.append(path.read_text(errors="replace"))
        return "".join(parts)


class Stack:
    """The simulator and Home Assistant of one run, on free ports in ``workdir``."""

    def __init__(
        self,
        workdir: Path,
        token: str = E2E_TOKEN,
        servers: int = 5,
        phases: Phases | None = None,
    ) -> None:
        """Describe the stack; nothing runs until :meth:`start`."""
        self.workdir = workdir
        self.token = token
        self.phases = Phases() if phases is None else phases
        self.sim = SimulatorProcess(workdir, token, servers)
        self.hass = HassProcess(workdir / "config")

    @property
    def started(self) -> bool:
        """Whether both processes run."""
        return self.sim.running and self.hass.running

    def start(self) -> None:
        """Start the simulator, then Home Assistant on a fresh config dir."""
        with self.phases("start the simulator"):
            self.sim.start_and_wait()
        write_config(self.hass.config_dir)
        with self.phases("start hass (fresh config dir)"):
            self.hass.start_and_wait()

    def restart_hass(self) -> None:
        """Stop Home Assistant and start it again on the same config dir.

        The two steps are recorded as details of the phase that restarts.
        """
        started = time.monotonic()
        status = self.hass.stop()
        self.phases.detail("stop hass (SIGTERM)", time.monotonic() - started)
        if status != 0:
            raise RuntimeError(f"hass exited with status {status} on SIGTERM")
        started = time.monotonic()
        self.hass.start_and_wait()
        self.phases.detail("start hass (same config dir)", time.monotonic() - started)

    def close(self) -> None:
        """Stop Home Assistant, then the simulator (idempotent)."""
        try:
            self.hass.stop()
        finally:
            self.sim.stop()

    def __enter__(self) -> Self:
        """Start everything."""
        try:
            self.start()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc_info: object) -> None:
        """Stop everything."""
        self.close()
