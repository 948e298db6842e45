"""Keycloak, the staff's sign-in, in the cluster: one instance (production runs it apart from
the platform, as the OpenID Connect provider the gateway trusts), keeping its realm in a
database `keycloak` on the PostgreSQL pair, so it outlives a failover as the services do.

Its JDBC URL names both instances with `targetServerType=primary`, the PostgreSQL JDBC
driver's counterpart of the services' `target_session_attrs=read-write`: after a promotion
its pool's new connections find the new primary by themselves.

    keycloak = ClusterKeycloak(var / "keycloak", pair, dashboard_urls=[front + "/dashboard"])
    env.update(keycloak.platform_env())   # network provisions staff there, the gateways trust it
    keycloak.start()
    platform.supervisor.watch(keycloak)   # a Keycloak that dies is started again, as a replica is

The supervisor (supervisor.py) restarts it with kc.sh on the home and realm the first start
prepared, without waiting for it (a JVM takes its while); it records when the management
port's /health/ready answers again.
"""
from __future__ import annotations

import time
from collections.abc import Iterable
from pathlib import Path

from deploy.cluster.postgres import PostgresPair
from deploy.oidc.keycloak import API_AUDIENCE, DASHBOARD_CLIENT_ID, KeycloakServer, find_java_home
from deploy.postgres.cluster import HOST

DATABASE = "keycloak"


class ClusterKeycloak(KeycloakServer):
    """KeycloakServer on the pair: the single-host URL it is given only names the user and the
    database; the command line gets both instances. It is also what the supervisor watches
    (supervisor.Supervised): wanted from start() to stop(), ready when /health/ready answers."""

    name = "keycloak"
    ready_path = "/health/ready"

    def __init__(self, data_dir: Path, pair: PostgresPair, *, log_file: Path | None = None,
                 dashboard_urls: Iterable[str] = ()) -> None:
        self.pair = pair
        super().__init__(data_dir, pair.primary.url(DATABASE), log_file=log_file, dashboard_urls=dashboard_urls)
        self.wanted = False
        self.started_at: float | None = None
        self._java_home: Path | None = None

    @property
    def url(self) -> str:
        """The management port, which answers the readiness the supervisor asks for."""
        return f"http://{HOST}:{self.management_port}"

    @property
    def running(self) -> bool:
        return self.is_running()

    @property
    def returncode(self) -> int | None:
        proc = self._proc
        return None if proc is None else proc.poll()

    def start(self, timeout: float = 240) -> ClusterKeycloak:
        self._java_home = find_java_home()
        self.wanted, self.started_at = True, time.monotonic()
        try:
            super().start(timeout)
        except BaseException:
            self.wanted = False  # never up: nothing for the supervisor to bring back
            raise
        return self

    def restart(self) -> bool:
        """kc.sh again for a Keycloak that died while wanted; False if it was stopped meanwhile (or runs)."""
        with self._lock:
            if not self.wanted or self.running:
                return False
            self._spawn(self._java_home or find_java_home())
            self.started_at = time.monotonic()
            return True

    def stop(self, timeout: float = 60) -> None:
        self.wanted = False
        super().stop(timeout)

    def jdbc_url(self) -> str:
        hosts = ",".join(f"{HOST}:{instance.port}" for instance in self.pair.instances)
        return f"jdbc:postgresql://{hosts}/{DATABASE}?targetServerType=primary"

    def _command(self) -> list[str]:
        return [f"--db-url={self.jdbc_url()}" if arg.startswith("--db-url=") else arg for arg in super()._command()]

    def platform_env(self) -> dict[str, str]:
        """What network and the gateways are told, as make run tells them (deploy/local.py)."""
        return {"NETWORK_OIDC_ADMIN_URL": self.base_url,
                "NETWORK_OIDC_CLIENT_SECRET": self.credentials["provisioning_secret"],
                "GATEWAY_OIDC_ISSUER": self.issuer, "GATEWAY_OIDC_AUDIENCE": API_AUDIENCE,
                "GATEWAY_OIDC_CLIENT_ID": DASHBOARD_CLIENT_ID}
