"""Schemathesis against the API's own OpenAPI schema: how many cases, which statuses, zero server errors.

    python bench/schema_fuzz.py [--examples 50] [--no-write]

The same target as tests/api/test_fuzz.py (which runs in CI with 20 examples per operation): a throw-away
system over the leak-suite corpus, an admin key, every operation, derandomized. Checks per response: not a
server error, the response conforms to the schema, the content type is the declared one.
"""

from __future__ import annotations

import argparse
import collections
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

import schemathesis  # noqa: E402
from fastapi.testclient import TestClient  # noqa: E402
from hypothesis import HealthCheck, given, settings  # noqa: E402
from schemathesis import Case  # noqa: E402
from schemathesis.checks import content_type_conformance, not_a_server_error  # noqa: E402
from schemathesis.specs.openapi.checks import response_schema_conformance  # noqa: E402
from tests.api.conftest import make_settings, make_system, write_corpus  # noqa: E402

from quarry.api import create_app  # noqa: E402
from quarry.embeddings import MiniLMEmbedder  # noqa: E402
from quarry.ingest.sources import FolderSource  # noqa: E402
from results import machine, write_section  # noqa: E402

CHECKS = [not_a_server_error, response_schema_conformance, content_type_conformance]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--examples", type=int, default=50)
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()
    statuses: collections.Counter[int] = collections.Counter()
    failures: list[str] = []
    began = time.perf_counter()
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        system_settings = make_settings(root, request_timeout_s=20.0)
        quarry = make_system(root, MiniLMEmbedder(), system_settings)
        quarry.ingestor.run(FolderSource(write_corpus(root / "corpus"), max_bytes=10**6), "handbook")
        app = create_app(quarry, system_settings)
        _, token = app.state.ctx.keys.create("admin", principals=["group:hr"])
        headers = {"Authorization": f"Bearer {token}"}
        with TestClient(app):
            schema = schemathesis.openapi.from_asgi("/openapi.json", app)
            operations = [result.ok() for result in schema.get_all_operations()]
            for operation in operations:

                @given(case=operation.as_strategy())
                @settings(
                    max_examples=args.examples, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck)
                )
                def fuzz(case: Case) -> None:
                    response = case.call(headers=headers)
                    statuses[response.status_code] += 1
                    case.validate_response(response, checks=CHECKS)

                try:
                    fuzz()
                except Exception as exc:  # a failed check: recorded, the other operations still run
                    failures.append(f"{operation.label}: {type(exc).__name__}: {str(exc).splitlines()[0][:160]}")
        quarry.close()
    seconds = time.perf_counter() - began
    server_errors = sum(n for status, n in statuses.items() if status >= 500)
    spread = ", ".join(f"{status}: {n}" for status, n in sorted(statuses.items()))
    body = (
        f"Command: `python bench/schema_fuzz.py --examples {args.examples}`. {machine()}\n\n"
        f"{len(operations)} operations, {sum(statuses.values())} requests in {seconds:.0f} s; "
        f"**server errors: {server_errors}**; failed checks: {len(failures)}.\n\n"
        f"Statuses: {spread}.\n"
        + ("".join(f"\n- {f}" for f in failures) if failures else "")
        + "\nCI runs the same checks with 20 examples per operation (tests/api/test_fuzz.py)."
    )
    print(body)
    if not args.no_write:
        write_section("API schema fuzzing (schemathesis)", body)


if __name__ == "__main__":
    main()
