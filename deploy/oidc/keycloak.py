"""A real Keycloak (the staff's OpenID Connect provider) on 127.0.0.1, without Docker.

The server is Maven Central's ``org.keycloak:keycloak-quarkus-dist`` zip (``deploy/oidc/pom.xml``),
unpacked once into the git-ignored ``<repo>/.cache/keycloak/<version>/dist`` and built there once
for PostgreSQL (``kc.sh build``), so that every start can skip Quarkus's build step (``--optimized``).
It runs in production mode with plain HTTP on loopback only: the same configuration checks,
caches and database as a real deployment, where TLS would end at the load balancer.

Each server gets its own folder (``data_dir``)::

    home/             Keycloak's home: kc.sh and conf/ copied, lib/ themes/ providers/ linked to the dist,
                      data/import/ (the realm file, rewritten on each start), data/transaction-logs/
    credentials.json  the bootstrap admin and the provisioning client's secret (mode 0600)
    keycloak.pid, server.json (ports), logs/keycloak.log

and its own PostgreSQL database (``db_url``), where Keycloak keeps realms, users and sessions.
On its first start with a database it imports the realm ``aftersales`` from
``realm-aftersales.json`` and ``user-profile.json``; later starts leave the realm as it is.

Python API::

    from deploy.oidc.keycloak import KeycloakServer, allow_dashboard

    with KeycloakServer(tmp / "keycloak", db_url) as kc:       # free ports picked automatically
        use(kc.provider)    # OidcProvider: issuer, provisioning client and secret
        allow_dashboard(kc.provider, "http://127.0.0.1:8765/dashboard")   # one more gateway's dashboard

The HQ dashboard signs in through the public client ``hq-dashboard`` (authorization code with
PKCE S256, no secret). Its exact addresses (``dashboard_urls``, by default the gateway's default
``http://127.0.0.1:8000/dashboard``) are its redirect URIs; its web origins, which the browser's
token call must come from, are those addresses' origins (Keycloak's ``+``). They are put into
the realm at its import and again, through the admin API, at every start, so a kept realm
follows a gateway that moved.

Command line (``python -m deploy.oidc.keycloak --help``)::

    python -m deploy.oidc.keycloak fetch                                   # download and build once
    python -m deploy.oidc.keycloak start --db-url postgresql://postgres@127.0.0.1:5432/keycloak
    python -m deploy.oidc.keycloak status | stop
    python -m deploy.oidc.keycloak run --db-url ...                        # foreground; Ctrl-C stops it

Java: Keycloak 26 needs Java 21 or newer. ``JAVA_HOME`` is used when it is one; otherwise the
newest such JDK under /usr/lib/jvm (where Debian and Adoptium's packages put them).
"""

from __future__ import annotations

import argparse
import atexit
import contextlib
import fcntl
import hashlib
import json
import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import threading
import time
import weakref
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import httpx

from deploy.processes import children, free_ports, pid_alive, port_accepts, wait_gone
from services.network.people.accounts import PROVISIONING_CLIENT_ID, REALM, ProviderAdmin

API_AUDIENCE = "aftersales-api"
DASHBOARD_CLIENT_ID = "hq-dashboard"
# Where `make run`'s gateway serves the dashboard (GatewaySettings' default port).
DEFAULT_DASHBOARD_URL = "http://127.0.0.1:8000/dashboard"
# Only in realms started with password_grant_client=True (the tests'): make run's realm has no such client.
PASSWORD_GRANT_CLIENT_ID = "aftersales-tests"

KEYCLOAK_VERSION = "26.7.3"
MIN_JAVA = 21

HERE = Path(__file__).resolve().parent
REPO_ROOT = HERE.parents[1]
POM_FILE = HERE / "pom.xml"
REALM_TEMPLATE = HERE / "realm-aftersales.json"
USER_PROFILE = HERE / "user-profile.json"
CACHE_DIR = REPO_ROOT / ".cache" / "keycloak" / KEYCLOAK_VERSION
DIST_DIR = CACHE_DIR / "dist"
_MARKER = CACHE_DIR / "dist.complete"
JVM_DIR = Path("/usr/lib/jvm")

HOST = "127.0.0.1"
# Build-time options, fixed into the dist by `kc.sh build`; a start may not name others.
BUILD_OPTIONS = ("--db=postgres", "--health-enabled=true")
# C1 only: measured here, about 370 MB resident after start against 400-480 MB with the default
# tiered compiler, start times within the noise; the peak throughput it gives up is not needed locally.
JAVA_OPTS_APPEND = "-XX:TieredStopAtLevel=1"

PID_FILE_NAME = "keycloak.pid"
SERVER_FILE_NAME = "server.json"
CREDENTIALS_FILE_NAME = "credentials.json"
HOME_DIR_NAME = "home"
LOG_DIR_NAME = "logs"


class KeycloakError(RuntimeError):
    """Keycloak could not be fetched, started or stopped."""


@dataclass(frozen=True)
class OidcProvider:
    """The provider as the platform sees it: where it is, the platform's clients and the
    provisioning client's secret."""

    issuer: str  # http://127.0.0.1:<port>/realms/aftersales
    provisioning_client_secret: str
    provisioning_client_id: str = PROVISIONING_CLIENT_ID
    dashboard_client_id: str = DASHBOARD_CLIENT_ID
    password_grant_client_id: str | None = None  # only in realms started for tests
    audience: str = API_AUDIENCE
    # The master realm's bootstrap admin (user, password), for the launcher and tests only
    # (allow_dashboard): None when the provider was named by its issuer alone. Never a service's.
    console_login: tuple[str, str] | None = field(default=None, repr=False, compare=False)

    @property
    def base_url(self) -> str:
        return self.issuer.split("/realms/", 1)[0]

    @property
    def realm(self) -> str:
        return self.issuer.rstrip("/").rsplit("/", 1)[1]

    @property
    def discovery_url(self) -> str:
        return f"{self.issuer}/.well-known/openid-configuration"

    @property
    def token_url(self) -> str:
        return f"{self.issuer}/protocol/openid-connect/token"

    @property
    def admin_url(self) -> str:
        return f"{self.base_url}/admin/realms/{self.realm}"

    @property
    def admin(self) -> ProviderAdmin:
        """What network's provisioning needs (services.network.people.accounts.StaffAccounts)."""
        return ProviderAdmin(self.base_url, self.provisioning_client_secret, realm=self.realm,
                             client_id=self.provisioning_client_id)


# --------------------------------------------------------------------------- the distribution


def _marker_text() -> str:
    digest = hashlib.sha256(POM_FILE.read_bytes() + " ".join(BUILD_OPTIONS).encode()).hexdigest()
    return digest + "\n"


def dist_present() -> bool:
    """Whether the distribution is fetched and built (else the next start fetches it, with Maven)."""
    try:
        return _MARKER.read_text() == _marker_text() and (DIST_DIR / "bin" / "kc.sh").is_file()
    except FileNotFoundError:
        return False


def fetch_dist() -> Path:
    """Download Keycloak's distribution once and build it for PostgreSQL; return its folder.

    A marker (a hash of pom.xml and the build options) makes later calls return at once.
    Concurrent callers are serialised by a file lock.
    """
    if dist_present():
        return DIST_DIR
    mvn = shutil.which("mvn")
    if mvn is None:
        raise KeycloakError("Maven (`mvn`) is not on PATH; it is needed once to fetch Keycloak")
    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    with open(CACHE_DIR / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if dist_present():  # another process fetched it while we waited
            return DIST_DIR
        partial = CACHE_DIR / "dist.partial"
        shutil.rmtree(partial, ignore_errors=True)
        cmd = [
            mvn, "-B", "-q", "-Dstyle.color=never", "-f", str(POM_FILE),
            "dependency:unpack-dependencies", "-DincludeTypes=zip", f"-DoutputDirectory={partial}",
            # the plugin's "already unpacked" markers go with the unpacked files, not into deploy/oidc/target
            f"-DmarkersDirectory={partial / '.markers'}",
        ]
        proc = subprocess.run(cmd, cwd=REPO_ROOT, capture_output=True, text=True)
        unpacked = list(partial.glob("keycloak-*/bin/kc.sh"))
        if proc.returncode != 0 or len(unpacked) != 1:
            raise KeycloakError(
                f"fetching Keycloak failed (exit {proc.returncode}): {' '.join(cmd)}\n"
                f"{proc.stdout[-4000:]}\n{proc.stderr[-4000:]}"
            )
        root = unpacked[0].parents[1]
        build = subprocess.run(
            ["sh", str(root / "bin" / "kc.sh"), "build", *BUILD_OPTIONS],
            env=_keycloak_env(find_java_home()), capture_output=True, text=True,
        )
        if build.returncode != 0:
            raise KeycloakError(f"`kc.sh build` failed (exit {build.returncode}):\n{build.stdout[-4000:]}")
        _MARKER.unlink(missing_ok=True)
        shutil.rmtree(DIST_DIR, ignore_errors=True)
        root.rename(DIST_DIR)
        shutil.rmtree(partial, ignore_errors=True)
        _MARKER.write_text(_marker_text())
    return DIST_DIR


# --------------------------------------------------------------------------- Java


def java_version(java_home: Path) -> int | None:
    """The feature version (17, 21, 25) of the JDK or JRE at java_home, None if it is none."""
    if not (java_home / "bin" / "java").is_file():
        return None
    with contextlib.suppress(OSError):
        match = re.search(r'^JAVA_VERSION="(\d+)', (java_home / "release").read_text(), re.M)
        if match:
            return int(match.group(1))
    with contextlib.suppress(OSError, subprocess.SubprocessError):
        out = subprocess.run([str(java_home / "bin" / "java"), "-version"], capture_output=True, text=True, timeout=30)
        match = re.search(r'version "(\d+)', out.stderr)
        if match:
            return int(match.group(1))
    return None


def find_java_home() -> Path:
    """JAVA_HOME if it is Java 21 or newer, else the newest such JDK under /usr/lib/jvm."""
    seen: list[str] = []
    java_home = os.environ.get("JAVA_HOME")
    if java_home:
        version = java_version(Path(java_home))
        if version is not None and version >= MIN_JAVA:
            return Path(java_home)
        seen.append(f"JAVA_HOME={java_home} (Java {version})")
    found: dict[Path, int] = {}
    with contextlib.suppress(OSError):
        for candidate in JVM_DIR.iterdir():
            version = java_version(candidate)
            if version is not None:
                found.setdefault(candidate.resolve(), version)
    seen += [f"{path} (Java {version})" for path, version in found.items()]
    usable = [(version, path) for path, version in found.items() if version >= MIN_JAVA]
    if not usable:
        raise KeycloakError(
            f"Keycloak {KEYCLOAK_VERSION} needs Java {MIN_JAVA} or newer; found "
            f"{', '.join(seen) or 'none'}. Install one and set JAVA_HOME to it."
        )
    return max(usable)[1]


def _keycloak_env(java_home: Path, extra: dict[str, str] | None = None) -> dict[str, str]:
    # Keycloak reads any KC_* variable as configuration and kc.sh drops its own JVM defaults
    # when JAVA_OPTS is set: nothing of the caller's environment may reconfigure the server.
    env = {k: v for k, v in os.environ.items() if not k.startswith(("KC_", "KEYCLOAK_", "JAVA_OPTS"))}
    env.update(JAVA_HOME=str(java_home), JAVA_OPTS_APPEND=JAVA_OPTS_APPEND)
    env.update(extra or {})
    return env


# --------------------------------------------------------------------------- helpers


def jdbc_url(db_url: str) -> tuple[str, str | None, str | None]:
    """A PostgreSQL URL (``postgresql://`` or SQLAlchemy's ``postgresql+asyncpg://``) as
    Keycloak's JDBC URL, user name and password."""
    parts = urlsplit(db_url)
    if not parts.scheme.startswith("postgresql") or not parts.hostname or not parts.path.strip("/"):
        raise ValueError(f"not a PostgreSQL URL with host and database: {db_url!r}")
    host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
    port = f":{parts.port}" if parts.port else ""
    url = f"jdbc:postgresql://{host}{port}/{parts.path.strip('/')}"
    return (url, unquote(parts.username) if parts.username else None,
            unquote(parts.password) if parts.password else None)


def _remaining(deadline: float) -> float:
    return max(deadline - time.monotonic(), 1.0)


def _write_private(path: Path, text: str) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.unlink(missing_ok=True)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(text)
    tmp.replace(path)


def dashboard_address(url: str) -> str:
    """The dashboard's address as a redirect URI: an absolute http(s) URL, no query or fragment."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.query or parts.fragment:
        raise ValueError(f"not a dashboard address (http(s)://host[:port]/path): {url!r}")
    return url


def _with_dashboards(client: dict[str, Any], urls: Iterable[str]) -> bool:
    """Add each address to the client's redirect URIs; whether any was new. The client's web
    origins (`+`) and post-logout redirects (`+`) follow its redirect URIs, so the origin of each
    address may call the token endpoint and each address is where a sign-out may come back to."""
    redirects: list[str] = client.setdefault("redirectUris", [])
    added = False
    for url in urls:
        if dashboard_address(url) not in redirects:
            redirects.append(url)
            added = True
    attributes = client.setdefault("attributes", {})
    if client.get("webOrigins") != ["+"] or attributes.get("post.logout.redirect.uris") != "+":
        client["webOrigins"] = ["+"]
        attributes["post.logout.redirect.uris"] = "+"
        added = True
    return added


def realm_representation(provisioning_secret: str, *, password_grant_client: bool,
                         dashboard_urls: Iterable[str] = (DEFAULT_DASHBOARD_URL,)) -> dict[str, Any]:
    """The realm Keycloak imports: the template with its secret, user profile, the dashboard's
    addresses and, for tests, the test client."""
    realm = json.loads(REALM_TEMPLATE.read_text())
    clients = {client["clientId"]: client for client in realm["clients"]}
    clients[PROVISIONING_CLIENT_ID]["secret"] = provisioning_secret
    _with_dashboards(clients[DASHBOARD_CLIENT_ID], dashboard_urls)
    profile = realm["components"]["org.keycloak.userprofile.UserProfileProvider"][0]
    profile["config"]["kc.user.profile.config"] = [json.dumps(json.loads(USER_PROFILE.read_text()))]
    if password_grant_client:
        dashboard = clients[DASHBOARD_CLIENT_ID]
        realm["clients"].append({
            "clientId": PASSWORD_GRANT_CLIENT_ID,
            "name": "测试登录 Test sign-in (password grant)",
            "enabled": True,
            "protocol": "openid-connect",
            "publicClient": True,
            "standardFlowEnabled": False,
            "directAccessGrantsEnabled": True,
            # the same claims as the dashboard's tokens, so tests see what the gateway will
            "protocolMappers": dashboard["protocolMappers"],
        })
    return realm


def allow_dashboard(provider: OidcProvider, url: str, *, timeout: float = 30) -> bool:
    """Let the dashboard at ``url`` (a gateway's ``/dashboard``) sign in through ``hq-dashboard``:
    its address becomes a redirect URI, and so its origin a web origin and the address a place
    to come back to after signing out. Through the admin API, as the master realm's bootstrap
    admin (``provider.console_login``). Whether the client changed; a KeycloakError if Keycloak
    refuses or cannot be reached."""
    address = dashboard_address(url)
    if provider.console_login is None:
        raise KeycloakError("allow_dashboard needs the bootstrap admin (OidcProvider.console_login), "
                            "which a provider named by its issuer alone does not have")
    username, password = provider.console_login
    with httpx.Client(timeout=timeout, trust_env=False) as http:
        try:
            signed_in = http.post(f"{provider.base_url}/realms/master/protocol/openid-connect/token", data={
                "grant_type": "password", "client_id": "admin-cli", "username": username, "password": password})
            if signed_in.status_code != 200:
                raise KeycloakError(f"Keycloak refuses the bootstrap admin ({signed_in.status_code} "
                                    f"{signed_in.text[:200]}): the dashboard at {address} cannot be allowed")
            auth = {"Authorization": f"Bearer {signed_in.json()['access_token']}"}
            found = http.get(f"{provider.admin_url}/clients", params={"clientId": provider.dashboard_client_id},
                             headers=auth)
            found.raise_for_status()
            if not found.json():
                raise KeycloakError(f"realm {provider.realm} has no client {provider.dashboard_client_id}")
            client = found.json()[0]
            if not _with_dashboards(client, [address]):
                return False
            http.put(f"{provider.admin_url}/clients/{client['id']}", json=client, headers=auth).raise_for_status()
        except httpx.HTTPError as exc:
            raise KeycloakError(f"cannot allow the dashboard at {address}: {exc!r}") from exc
    return True


# Servers started by this process and not detached: stopped when the interpreter exits.
_LIVE_SERVERS: weakref.WeakSet[KeycloakServer] = weakref.WeakSet()


@atexit.register
def _stop_live_servers() -> None:
    for server in list(_LIVE_SERVERS):
        with contextlib.suppress(Exception):
            server.stop(timeout=20)


# --------------------------------------------------------------------------- server


class KeycloakServer:
    """One Keycloak on 127.0.0.1 with the realm ``aftersales``, its files in ``data_dir``, its
    database at ``db_url`` (``postgresql://user[:password]@host:port/name``, which must exist; only
    ``start`` needs it).

    ``port``/``management_port`` 0 means: pick a free port now. ``password_grant_client`` adds
    the tests' client that may use the password grant, when the realm is first imported.
    ``dashboard_urls``: where gateways serve the HQ dashboard, allowed to sign in (allow_dashboard).
    """

    def __init__(self, data_dir: Path, db_url: str | None = None, port: int = 0, management_port: int = 0, *,
                 password_grant_client: bool = False, console: bool = False, log_file: Path | None = None,
                 dashboard_urls: Iterable[str] = (DEFAULT_DASHBOARD_URL,)):
        self.data_dir = Path(data_dir).resolve()
        self.db_url = db_url
        if db_url is not None:
            jdbc_url(db_url)  # fail now on a URL Keycloak cannot use
        if port == 0 or management_port == 0:
            free = iter(free_ports(2, HOST))
            port = port or next(free)
            management_port = management_port or next(free)
        if port == management_port:
            raise ValueError("port and management_port must differ")
        self.port = int(port)
        self.management_port = int(management_port)
        self.password_grant_client = password_grant_client
        self.dashboard_urls = tuple(dashboard_address(url) for url in dashboard_urls)
        self.console = console  # True: Keycloak writes to this process's stdout/stderr instead of log_file
        self._log_file = None if log_file is None else Path(log_file).resolve()
        self._proc: subprocess.Popen[bytes] | None = None
        self._lock = threading.RLock()

    # -- where things are ------------------------------------------------------

    @property
    def base_url(self) -> str:
        return f"http://{HOST}:{self.port}"

    @property
    def issuer(self) -> str:
        return f"{self.base_url}/realms/{REALM}"

    @property
    def home_dir(self) -> Path:
        return self.data_dir / HOME_DIR_NAME

    @property
    def pid_file(self) -> Path:
        return self.data_dir / PID_FILE_NAME

    @property
    def log_file(self) -> Path:
        """Keycloak's log (its console output, unless console): logs/keycloak.log by default."""
        return self._log_file or self.data_dir / LOG_DIR_NAME / "keycloak.log"

    @property
    def credentials(self) -> dict[str, str]:
        """admin_username, admin_password (master realm) and provisioning_secret, made on first start."""
        path = self.data_dir / CREDENTIALS_FILE_NAME
        if not path.exists():
            self.data_dir.mkdir(parents=True, exist_ok=True)
            made = {
                "admin_username": "admin",
                "admin_password": secrets.token_urlsafe(24),
                "provisioning_secret": secrets.token_urlsafe(32),
            }
            _write_private(path, json.dumps(made, indent=2) + "\n")
        loaded: dict[str, str] = json.loads(path.read_text())
        return loaded

    @property
    def provider(self) -> OidcProvider:
        return OidcProvider(
            issuer=self.issuer,
            provisioning_client_secret=self.credentials["provisioning_secret"],
            password_grant_client_id=PASSWORD_GRANT_CLIENT_ID if self.password_grant_client else None,
            console_login=(self.credentials["admin_username"], self.credentials["admin_password"]),
        )

    @property
    def pid(self) -> int | None:
        """PID of kc.sh (the leader of Keycloak's process group), started here or found via the pid file."""
        if self._proc is not None:
            return self._proc.pid if self._proc.poll() is None else None
        pid = self._read_pid()
        return pid if pid is not None and self._is_our_server(pid) else None

    def java_pid(self) -> int | None:
        """PID of the JVM itself (kc.sh's child), for measuring it."""
        pid = self.pid
        return next(iter(children(pid)), None) if pid is not None else None

    # -- lifecycle -------------------------------------------------------------

    def start(self, timeout: float = 240) -> KeycloakServer:
        """Start Keycloak and wait until the realm serves OpenID discovery and the platform's client signs in.

        The wait holds no lock: a stop() from another thread meanwhile (Ctrl-C while `make run`
        starts) stops the server at once, and this start then fails with a KeycloakError."""
        with self._lock:
            if self.is_running():
                if self._proc is None:  # found via the pid file: report the ports it really uses
                    self.port, self.management_port = _running_ports(self.data_dir) or (self.port, self.management_port)
                return self
            if self.db_url is None:
                raise KeycloakError("Keycloak needs a PostgreSQL database to start (db_url)")
            deadline = time.monotonic() + timeout
            dist = fetch_dist()
            java_home = find_java_home()
            for port in (self.port, self.management_port):
                if port_accepts(port, HOST, timeout=0.2):
                    raise KeycloakError(f"{HOST}:{port} is already in use by another process")
            self._prepare_home(dist)
            self._spawn(java_home)
            _LIVE_SERVERS.add(self)  # from now on, stopped at interpreter exit whatever happens to the wait
        try:
            self._wait_ready(deadline)
        except BaseException:
            self.kill()
            raise
        # The import only fills an empty database: a kept realm is given today's addresses here.
        # Said, not fatal: keys and tokens work without it, only the dashboard's sign-in does not.
        for url in self.dashboard_urls:
            try:
                allow_dashboard(self.provider, url, timeout=_remaining(deadline))
            except KeycloakError as exc:
                print(f"warning: the dashboard at {url} cannot sign in through Keycloak: {exc}", file=sys.stderr)
        return self

    def stop(self, timeout: float = 60) -> None:
        """SIGTERM Keycloak's process group (a clean shutdown); SIGKILL after timeout."""
        with self._lock:
            pid = self.pid
            if pid is not None:
                group = self._signal_group(pid, signal.SIGTERM)
                if not self._wait_exit(pid, group, timeout):
                    self._wait_exit(pid, self._signal_group(pid, signal.SIGKILL), 10)
                self._wait_ports_free()
            self._forget()

    def kill(self) -> None:
        """SIGKILL Keycloak, as a crash would (its database stays; start() goes on from it)."""
        with self._lock:
            pid = self.pid
            if pid is not None:
                self._wait_exit(pid, self._signal_group(pid, signal.SIGKILL), 10)
                self._wait_ports_free()
            self._forget()

    def is_running(self) -> bool:
        return self.pid is not None

    def detach(self) -> None:
        """Leave Keycloak running when this Python process exits (the CLI `start` uses this)."""
        _LIVE_SERVERS.discard(self)
        self._proc = None

    def __enter__(self) -> KeycloakServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"KeycloakServer({str(self.data_dir)!r}, port={self.port}, management_port={self.management_port})"

    # -- internals -------------------------------------------------------------

    def _prepare_home(self, dist: Path) -> None:
        """A home of this server's own: Keycloak writes under <home>/data and imports from
        <home>/data/import, so servers sharing the dist's folder would share those too."""
        home = self.home_dir
        (home / "bin").mkdir(parents=True, exist_ok=True)
        (home / "data" / "import").mkdir(parents=True, exist_ok=True)
        shutil.copy2(dist / "bin" / "kc.sh", home / "bin" / "kc.sh")  # kc.sh finds its home from its own path
        shutil.copytree(dist / "conf", home / "conf", dirs_exist_ok=True)
        for name in ("lib", "themes", "providers"):
            link = home / name
            if link.is_symlink() and link.resolve() != (dist / name).resolve():
                link.unlink()
            if not link.is_symlink():
                link.symlink_to(dist / name, target_is_directory=True)
        realm = realm_representation(self.credentials["provisioning_secret"],
                                     password_grant_client=self.password_grant_client,
                                     dashboard_urls=self.dashboard_urls)
        realm_file = home / "data" / "import" / f"{REALM}-realm.json"
        _write_private(realm_file, json.dumps(realm, ensure_ascii=False, indent=1))
        self.log_file.parent.mkdir(parents=True, exist_ok=True)
        _write_private(self.data_dir / SERVER_FILE_NAME,
                       json.dumps({"port": self.port, "management_port": self.management_port}) + "\n")

    def _command(self) -> list[str]:
        assert self.db_url is not None
        url, _, _ = jdbc_url(self.db_url)
        return [
            "sh", str(self.home_dir / "bin" / "kc.sh"), "start", "--optimized",
            f"--db-url={url}",
            "--http-enabled=true", f"--http-host={HOST}", f"--http-port={self.port}",
            f"--http-management-port={self.management_port}", f"--http-management-host={HOST}",
            f"--hostname={self.base_url}",
            # one node: no cluster discovery, no JGroups ports
            "--cache=local",
            "--import-realm",
            "--log-console-color=false",
        ]

    def _spawn(self, java_home: Path) -> None:
        assert self.db_url is not None
        _, user, password = jdbc_url(self.db_url)
        creds = self.credentials
        extra = {"KC_BOOTSTRAP_ADMIN_USERNAME": creds["admin_username"],
                 "KC_BOOTSTRAP_ADMIN_PASSWORD": creds["admin_password"]}
        # through the environment: a password on the command line is readable in ps
        if user:
            extra["KC_DB_USERNAME"] = user
        if password:
            extra["KC_DB_PASSWORD"] = password
        out = None if self.console else open(self.log_file, "ab")
        try:
            # Own session and process group: terminal signals for ours do not reach it, and
            # stop()/kill() reach kc.sh and its JVM together.
            self._proc = subprocess.Popen(
                self._command(), cwd=self.data_dir, env=_keycloak_env(java_home, extra),
                stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT if out is not None else None,
                start_new_session=True,
            )
        finally:
            if out is not None:
                out.close()
        self.pid_file.write_text(f"{self._proc.pid}\n")

    def _wait_ready(self, deadline: float) -> None:
        """Readiness (database reached, bootstrap done) on the management port, then the realm's
        discovery document naming this issuer, then a token for the provisioning client, which
        proves the realm holds this folder's secret (a database kept from another folder would not)."""
        last_error = "no answer yet"
        health = f"http://{HOST}:{self.management_port}/health/ready"
        with httpx.Client() as http:
            while True:
                proc = self._proc  # read once: a stop() in another thread sets it to None
                if proc is None or proc.poll() is not None:
                    code = None if proc is None else proc.returncode
                    raise KeycloakError(f"Keycloak exited during start (code {code}).\n{self._log_tail()}")
                if time.monotonic() >= deadline:
                    raise KeycloakError(
                        f"Keycloak on {self.base_url} not ready in time ({last_error}).\n{self._log_tail()}"
                    )
                try:
                    ready = http.get(health, timeout=5)
                    if ready.status_code == 200 and ready.json().get("status") == "UP":
                        break
                    last_error = f"{health}: {ready.status_code}"
                except httpx.HTTPError as exc:
                    last_error = f"{health}: {exc!r}"
                time.sleep(0.5)  # poll interval
            # The first requests after start run on a cold JVM: give them what is left of the deadline.
            try:
                discovery = http.get(self.provider.discovery_url, timeout=_remaining(deadline))
                signed_in = http.post(self.provider.token_url, data={"grant_type": "client_credentials"},
                                      auth=(PROVISIONING_CLIENT_ID, self.credentials["provisioning_secret"]),
                                      timeout=_remaining(deadline))
            except httpx.HTTPError as exc:
                raise KeycloakError(f"Keycloak on {self.base_url} ready but not answering: {exc!r}") from exc
            if discovery.status_code != 200 or discovery.json().get("issuer") != self.issuer:
                raise KeycloakError(f"realm {REALM} not served at {self.issuer}: {discovery.status_code} "
                                    f"{discovery.text[:300]}\n{self._log_tail()}")
            if signed_in.status_code != 200:
                raise KeycloakError(
                    f"the realm in {self.db_url} refuses this folder's provisioning secret "
                    f"({signed_in.status_code} {signed_in.text[:200]}): the database was set up from another "
                    f"folder's {CREDENTIALS_FILE_NAME}; use that file or an empty database"
                )

    def _log_tail(self, lines: int = 40) -> str:
        with contextlib.suppress(OSError):
            tail = self.log_file.read_text(errors="replace").splitlines()[-lines:]
            return f"--- {self.log_file} (last {len(tail)} lines) ---\n" + "\n".join(tail)
        return f"(no log at {self.log_file})"

    def _read_pid(self) -> int | None:
        try:
            return int(self.pid_file.read_text().strip())
        except (FileNotFoundError, ValueError):
            return None

    def _is_our_server(self, pid: int) -> bool:
        """The pid is alive and is kc.sh from this server's home."""
        if not pid_alive(pid):
            return False
        try:
            argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        except OSError:
            return True  # no procfs: trust the pid file
        return os.fsencode(str(self.home_dir / "bin" / "kc.sh")) in argv

    @staticmethod
    def _signal_group(pid: int, sig: signal.Signals) -> list[int]:
        """Signal kc.sh's process group; returns its members as they were (the JVM outlives kc.sh
        by a moment, and once kc.sh is gone nothing names it as its child)."""
        group = [pid, *children(pid)]
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pid, sig)
        return group

    def _wait_exit(self, pid: int, group: list[int], timeout: float) -> bool:
        if self._proc is not None and self._proc.pid == pid:
            try:
                self._proc.wait(timeout=timeout)  # also reaps our child
            except subprocess.TimeoutExpired:
                return False
        return wait_gone(group, timeout, interval=0.1)

    def _wait_ports_free(self, timeout: float = 10) -> None:
        """The JVM's main thread shows as exited while its other threads still hold the sockets:
        stopped means the ports are free again."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and any(
            port_accepts(port, HOST, timeout=0.2) for port in (self.port, self.management_port)
        ):
            time.sleep(0.05)

    def _forget(self) -> None:
        if self._proc is not None:
            with contextlib.suppress(Exception):
                self._proc.wait(timeout=0)  # reap
        self._proc = None
        _LIVE_SERVERS.discard(self)
        pid = self._read_pid()
        if pid is not None and not pid_alive(pid):
            self.pid_file.unlink(missing_ok=True)


# --------------------------------------------------------------------------- CLI


def _running_ports(data_dir: Path) -> tuple[int, int] | None:
    with contextlib.suppress(OSError, ValueError, KeyError):
        server = json.loads((Path(data_dir) / SERVER_FILE_NAME).read_text())
        return int(server["port"]), int(server["management_port"])
    return None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m deploy.oidc.keycloak",
        description=f"Run a local Keycloak {KEYCLOAK_VERSION} with the realm {REALM!r} (no Docker).",
    )
    parser.add_argument(
        "command", choices=["fetch", "start", "stop", "status", "run"],
        help="fetch: download and build once; start: run detached; stop: stop the detached server; "
             "status: show whether it runs; run: run in the foreground until SIGINT/SIGTERM",
    )
    parser.add_argument("--data-dir", default=str(REPO_ROOT / "var" / "keycloak"),
                        help="home, credentials.json, logs and pid file (default: <repo>/var/keycloak)")
    parser.add_argument("--db-url", default=os.environ.get("KEYCLOAK_DATABASE_URL"),
                        help="PostgreSQL database for Keycloak, e.g. postgresql://postgres@127.0.0.1:5432/keycloak "
                             "(default: $KEYCLOAK_DATABASE_URL)")
    parser.add_argument("--port", type=int, default=8180, help="HTTP port; 0 = any free port (default 8180)")
    parser.add_argument("--management-port", type=int, default=9180,
                        help="health endpoints' port; 0 = any free port (default 9180)")
    parser.add_argument("--password-grant-client", action="store_true",
                        help=f"add the tests' client {PASSWORD_GRANT_CLIENT_ID!r} (password grant) at first import")
    parser.add_argument("--dashboard-url", action="append", dest="dashboard_urls", metavar="URL",
                        help=f"a gateway's dashboard allowed to sign in through {DASHBOARD_CLIENT_ID!r}; repeatable "
                             f"(default {DEFAULT_DASHBOARD_URL})")
    parser.add_argument("--timeout", type=float, default=240, help="seconds to wait for start (default 240)")
    args = parser.parse_args(argv)

    try:
        if args.command == "fetch":
            print(fetch_dist())
            return 0

        data_dir = Path(args.data_dir)
        # the ports of the server this folder last started, to find it if it still runs
        last = KeycloakServer(data_dir, None, *(_running_ports(data_dir) or (args.port, args.management_port)))
        if args.command in ("stop", "status"):
            server = last
            if args.command == "status":
                if server.is_running():
                    print(f"running pid={server.pid} issuer={server.issuer} data_dir={server.data_dir}")
                    return 0
                print(f"not running (data_dir={server.data_dir})")
                return 3
            if server.is_running():
                server.stop()
                print("stopped")
            else:
                print("not running")
            return 0

        if not args.db_url:
            parser.error("--db-url (or KEYCLOAK_DATABASE_URL) is required to start Keycloak")
        if last.is_running():
            if args.command == "start":
                print(last.issuer)
                return 0
            raise KeycloakError(f"Keycloak from {data_dir} already runs (pid {last.pid}, issuer {last.issuer})")
        if args.command == "start":
            server = KeycloakServer(data_dir, args.db_url, args.port, args.management_port,
                                    password_grant_client=args.password_grant_client,
                                    dashboard_urls=args.dashboard_urls or (DEFAULT_DASHBOARD_URL,))
            started = time.monotonic()
            server.start(timeout=args.timeout)
            server.detach()
            print(f"ready in {time.monotonic() - started:.1f} s", file=sys.stderr)
            print(server.issuer)
            return 0

        # run: foreground until SIGINT/SIGTERM, then a clean shutdown
        server = KeycloakServer(data_dir, args.db_url, args.port, args.management_port,
                                password_grant_client=args.password_grant_client, console=True,
                                dashboard_urls=args.dashboard_urls or (DEFAULT_DASHBOARD_URL,))
        stop_requested = threading.Event()

        def _on_signal(signum: int, _frame: object) -> None:
            stop_requested.set()

        signal.signal(signal.SIGINT, _on_signal)
        signal.signal(signal.SIGTERM, _on_signal)
        server.start(timeout=args.timeout)
        print(f"Keycloak {KEYCLOAK_VERSION} ready: issuer {server.issuer} (pid {server.pid}); admin console "
              f"{server.base_url}/admin/ with the credentials in {server.data_dir / CREDENTIALS_FILE_NAME}", flush=True)
        while not stop_requested.wait(0.5):
            if not server.is_running():
                print("Keycloak exited unexpectedly", file=sys.stderr, flush=True)
                server.stop()
                return 1
        server.stop()
        return 0
    except (KeycloakError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
