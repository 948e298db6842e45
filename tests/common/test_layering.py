"""The layering of docs/development.md, read off the source of every service: a router
parses and answers HTTP and calls its service; a service never imports FastAPI; queries
live in repositories, so a router neither imports one nor builds or runs SQL itself."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
ROUTERS = sorted(ROOT.glob("services/*/*/router.py"))
SERVICES = sorted(ROOT.glob("services/*/*/service.py"))

ORM_PACKAGES = {"sqlalchemy", "sqlmodel"}
# What a router may still name from the ORM: the errors it turns into answers, and the
# session's type for annotations. Everything else there builds statements.
ORM_ALLOWED = ("sqlalchemy.exc", "sqlmodel.ext.asyncio.session")
# Shared helpers that take or make a statement: a router calling them is writing a query.
QUERY_HELPERS = {"services.common.pagination.paginate", "services.common.stores.visible_store_filter"}
# Session methods that run or stage SQL.
SESSION_SQL = {"exec", "execute", "scalar", "scalars", "get", "add", "add_all", "delete", "flush", "merge", "refresh"}
WEB_PACKAGES = {"fastapi", "starlette"}


def _imported_names(tree: ast.AST) -> list[tuple[int, str]]:
    """(line, dotted name) of everything a module imports: `from a.b import c` gives a.b.c,
    `from . import c` gives .c."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            module = "." * node.level + (f"{node.module}." if node.module else "")
            found += [(node.lineno, module + alias.name) for alias in node.names]
    return found


def _within(name: str, packages: tuple[str, ...] | set[str]) -> bool:
    return any(name == package or name.startswith(package + ".") for package in packages)


def router_problems(source: str, filename: str = "<router>") -> list[str]:
    tree = ast.parse(source, filename=filename)
    found: set[tuple[int, str]] = set()
    for line, name in _imported_names(tree):
        if "repository" in name.split("."):
            found.add((line, f"imports {name}; call the area's service instead"))
        elif _within(name, ORM_PACKAGES) and not _within(name, ORM_ALLOWED):
            found.add((line, f"imports {name}, a query construct; build the query in a repository"))
        elif name in QUERY_HELPERS:
            found.add((line, f"imports {name}, which makes or runs a statement; move it to a repository"))
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and node.attr == "repository":
            found.add((node.lineno, "reaches a repository through `.repository`"))
        elif (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
              and isinstance(node.func.value, ast.Name) and node.func.value.id == "session"
              and node.func.attr in SESSION_SQL):
            found.add((node.lineno, f"runs SQL itself (session.{node.func.attr}); a service or repository does that"))
    return [f"line {line}: {what}" for line, what in sorted(found)]


def service_problems(source: str, filename: str = "<service>") -> list[str]:
    return [f"line {line}: imports {name}; a service knows nothing of HTTP"
            for line, name in _imported_names(ast.parse(source, filename=filename)) if _within(name, WEB_PACKAGES)]


def _name(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


def test_every_service_is_looked_at_and_every_router_has_a_service():
    # An empty glob would make the checks below pass by checking nothing.
    assert {"network", "reception", "workshop", "crm"} <= {path.parts[-3] for path in ROUTERS}
    assert [_name(r) for r in ROUTERS if not (r.parent / "service.py").exists()] == []


@pytest.mark.parametrize("router", ROUTERS, ids=_name)
def test_router_calls_its_service_and_writes_no_query(router: Path):
    problems = router_problems(router.read_text(encoding="utf-8"), str(router))
    assert not problems, f"{_name(router)}:\n  " + "\n  ".join(problems)


@pytest.mark.parametrize("service", SERVICES, ids=_name)
def test_service_does_not_import_the_web_framework(service: Path):
    problems = service_problems(service.read_text(encoding="utf-8"), str(service))
    assert not problems, f"{_name(service)}:\n  " + "\n  ".join(problems)


def test_the_router_check_finds_each_kind_of_breach():
    source = (
        "import sqlalchemy as sa\n"
        "from sqlmodel import select\n"
        "from services.common.pagination import paginate\n"
        "from services.network.stores import repository as stores_repository\n"
        "import services.network.keys.repository\n"
        "from services.network.claims import service\n"
        "async def route(session):\n"
        "    await session.flush()\n"
        "    return await service.repository.get(session, 'x')\n"
    )
    problems = router_problems(source)
    assert [p.split(":")[0] for p in problems] == [f"line {n}" for n in (1, 2, 3, 4, 5, 8, 9)]


def test_the_router_check_lets_a_thin_router_pass():
    source = (
        "from fastapi import APIRouter\n"
        "from sqlalchemy.exc import IntegrityError\n"
        "from sqlmodel.ext.asyncio.session import AsyncSession\n"
        "from services.common.api import SessionDep\n"
        "from services.network.stores import service\n"
        "from services.network.stores.schemas import StorePublic\n"
        "async def route(session: SessionDep):\n"
        "    try:\n"
        "        return await service.list_stores(session)\n"
        "    except IntegrityError:\n"
        "        return None\n"
    )
    assert router_problems(source) == []


def test_the_service_check_finds_fastapi_and_starlette():
    source = ("from fastapi import HTTPException\n"
              "import starlette.requests\n"
              "from services.common.errors import NotFound\n")
    assert [p.split(":")[0] for p in service_problems(source)] == ["line 1", "line 2"]
