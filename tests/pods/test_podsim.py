"""The pod simulator itself: a pod runs as the user its manifest names, as kubelet would."""

import pytest

from podsim import namespaces_available, run_in_pod


def _manifest(pod_ctx=None, container_ctx=None):
    container = {"name": "notebook", "image": "x", "volumeMounts": []}
    if container_ctx is not None:
        container["securityContext"] = container_ctx
    spec = {"containers": [container], "volumes": []}
    if pod_ctx is not None:
        spec["securityContext"] = pod_ctx
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}, "spec": spec}


@pytest.mark.parametrize(
    ("pod_ctx", "container_ctx", "ids"),
    [
        (None, None, "1000 100"),  # unset: the image's jovyan, 1000:100
        ({"runAsUser": 0, "runAsGroup": 0}, None, "0 0"),  # root is a value, not "unset"
        ({"runAsUser": 1000}, {"runAsUser": 2000, "runAsGroup": 3000}, "2000 3000"),
    ],
)
def test_pod_runs_as_its_manifest_says(tmp_path, pod_ctx, container_ctx, ids):
    reason = namespaces_available()
    if reason:
        pytest.skip(reason)
    proc = run_in_pod(
        _manifest(pod_ctx, container_ctx),
        {},
        ["sh", "-c", "echo $(id -u) $(id -g)"],
        home=tmp_path / "home",
    )
    assert proc.returncode == 0, proc.stdout
    assert proc.stdout.split()[-2:] == ids.split()
