"""The deployment files in deploy/: Kubernetes manifests validate against the Kubernetes API schemas
(kubernetes-validate, strict), the compose file against the Compose schema, the ConfigMap's quarry.toml loads with
Quarry's own settings, and the Dockerfile runs as a non-root user with a health check on /healthz."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import kubernetes_validate
import pytest
import yaml

from quarry.settings import load_settings

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
MANIFESTS = sorted((DEPLOY / "kubernetes").glob("*.yaml"))


@pytest.mark.parametrize("manifest", MANIFESTS, ids=lambda p: p.name)
def test_kubernetes_manifests_are_valid(manifest: Path) -> None:
    for document in yaml.safe_load_all(manifest.read_text()):
        kubernetes_validate.validate(document, "1.30", strict=True)


def test_the_deployment_probes_the_health_endpoints_and_runs_unprivileged() -> None:
    deployment = yaml.safe_load((DEPLOY / "kubernetes" / "deployment.yaml").read_text())
    pod = deployment["spec"]["template"]["spec"]
    container = pod["containers"][0]
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert pod["securityContext"]["runAsNonRoot"] is True
    hpa = yaml.safe_load((DEPLOY / "kubernetes" / "hpa.yaml").read_text())
    assert hpa["spec"]["scaleTargetRef"]["name"] == deployment["metadata"]["name"]


def test_the_configmap_settings_load(tmp_path: Path) -> None:
    config = yaml.safe_load((DEPLOY / "kubernetes" / "configmap.yaml").read_text())
    path = tmp_path / "quarry.toml"
    path.write_text(config["data"]["quarry.toml"])
    settings = load_settings(path)
    assert settings.api.host == "0.0.0.0" and settings.ingest.engine == "local"


def test_the_compose_file_is_valid_and_shares_one_database_and_redis() -> None:
    schema = json.loads((Path(__file__).parent / "compose_spec.json").read_text())
    compose = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    jsonschema.Draft201909Validator(schema).validate(compose)
    replicas = [s for name, s in compose["services"].items() if name.startswith("quarry-")]
    assert len(replicas) == 2
    for service in replicas:
        assert service["environment"]["QUARRY_STORE__URL"].startswith("postgresql://")
        assert service["environment"]["QUARRY_API__REDIS_URL"].startswith("redis://")
    assert compose["services"]["migrate"]["command"] == ["quarry", "db", "upgrade"]


def test_the_dockerfile_runs_unprivileged_with_a_health_check() -> None:
    lines = [line.strip() for line in (DEPLOY / "Dockerfile").read_text().splitlines() if line.strip()]
    final = lines[max(i for i, line in enumerate(lines) if line.startswith("FROM ")) :]
    users = [line.split()[1] for line in final if line.startswith("USER ")]
    assert users and users[-1] not in ("root", "0")
    assert any(line.startswith("HEALTHCHECK") for line in final) and any("/healthz" in line for line in final)
    assert not any(line.startswith("ADD http") for line in lines)  # nothing fetched from the network by URL
