"""Run `poetry lock` where the package index answers its simple API with HTML only.

Poetry 2 lists a package's files through the PEP 691 JSON simple API and cannot read an
HTML-only answer (some proxies and mirrors give one, whatever the Accept header); such indexes
may also lack the per-version JSON API (`/pypi/<name>/<version>/json`). This wrapper builds both
answers from the project JSON API (`/pypi/<name>/json`), which they do serve. The per-version
answer leaves `requires_dist` unset on purpose: the project JSON describes only the newest
release, so Poetry falls back to reading each version's own wheel metadata, which is exact.
Only locking needs it: installing from the lock
(`poetry export`, nox-poetry, pip) works against any index.

Usage: python .ci/poetry-lock.py [poetry lock arguments...]
"""

from __future__ import annotations

import sys
from typing import Any

from poetry.console.application import main
from poetry.repositories.pypi_repository import PyPiRepository


def _package_info_from_json_api(self: PyPiRepository, name: Any) -> dict[str, Any]:
    data = self._get(f"pypi/{name}/json")
    if data is None:
        from poetry.repositories.exceptions import PackageNotFoundError

        raise PackageNotFoundError(f"Package [{name}] not found.")
    files = [
        {
            "filename": f["filename"],
            "url": f["url"],
            "hashes": {"sha256": f["digests"]["sha256"]},
            "requires-python": f.get("requires_python"),
            "yanked": f.get("yanked_reason") or bool(f.get("yanked")),
            "size": f.get("size"),
        }
        for release in data.get("releases", {}).values()
        for f in release
    ]
    return {
        "meta": {"api-version": "1.1"},
        "name": str(name),
        "files": files,
        "versions": sorted(data.get("releases", {})),
    }


_original_get = PyPiRepository._get


def _get(self: PyPiRepository, endpoint: str, headers: dict[str, str] | None = None) -> Any:
    parts = endpoint.split("/")
    if len(parts) == 4 and parts[0] == "pypi" and parts[3] == "json":
        found = _original_get(self, endpoint, headers)
        if found is not None:
            return found
        project = _original_get(self, f"pypi/{parts[1]}/json")
        if project is None or parts[2] not in project.get("releases", {}):
            return None
        urls = project["releases"][parts[2]]
        requires_python = next(
            (u.get("requires_python") for u in urls if u.get("requires_python")), None
        )
        info = {
            "name": project["info"]["name"],
            "version": parts[2],
            "summary": "",
            "requires_dist": None,
            "requires_python": requires_python,
            "yanked": all(u.get("yanked") for u in urls) if urls else False,
        }
        return {"info": info, "urls": urls}
    return _original_get(self, endpoint, headers)


PyPiRepository._get_package_info = _package_info_from_json_api  # type: ignore[method-assign]
PyPiRepository._get = _get  # type: ignore[method-assign]

if __name__ == "__main__":
    sys.argv = ["poetry", "lock", *sys.argv[1:]]
    sys.exit(main())
