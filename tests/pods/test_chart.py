"""podsim's chart model: helm's values merge over the z2jh chart's defaults, and the pods'
security contexts the chart then gives the hub and the notebook pods."""

import asyncio

from podsim.chart import CHART_DEFAULTS, chart_values, hub_pod, merge, spawner_config

from ..kube import FakeUser  # sets KUBECONFIG before kubespawner is imported


def test_merge_is_helms():
    base = {"a": {"b": 1, "c": [1, 2], "d": {"e": 1}}, "f": 1, "g": "keep"}
    over = {"a": {"b": 2, "c": [3], "d": None}, "f": None, "h": {"i": 1}}
    assert merge(base, over) == {"a": {"b": 2, "c": [3]}, "g": "keep", "h": {"i": 1}}
    assert base["a"]["d"] == {"e": 1}  # inputs untouched


def test_a_values_file_that_leaves_a_key_out_keeps_the_charts_default():
    values = chart_values({"hub": {"containerSecurityContext": {"runAsGroup": 100}}})
    pod = hub_pod(values)
    assert pod["spec"]["securityContext"]["fsGroup"] == 1000  # not in the file: the chart's
    ctx = pod["spec"]["containers"][0]["securityContext"]
    assert (ctx["runAsUser"], ctx["runAsGroup"]) == (1000, 100)
    assert ctx["capabilities"] == {"drop": ["ALL"]}


def test_null_drops_a_chart_default_and_later_files_win():
    values = chart_values(
        {"hub": {"podSecurityContext": {"fsGroup": 100}}},
        {"hub": {"podSecurityContext": {"fsGroup": None}}},
    )
    assert "fsGroup" not in hub_pod(values)["spec"]["securityContext"]
    assert hub_pod(values)["spec"]["securityContext"]["runAsNonRoot"] is True
    assert CHART_DEFAULTS["hub"]["podSecurityContext"]["fsGroup"] == 1000


def _notebook_security(values):
    from kubernetes_asyncio.client import ApiClient
    from kubespawner import KubeSpawner

    async def build():
        spawner = KubeSpawner(_mock=True, user=FakeUser("alice", []), config=spawner_config(values))
        pod = await spawner.get_pod_manifest()
        pod = ApiClient().sanitize_for_serialization(pod)
        return pod["spec"].get("securityContext"), pod["spec"]["containers"][0]["securityContext"]

    return asyncio.run(build())


def test_notebook_pods_get_the_charts_fs_gid_through_kubespawner():
    pod_ctx, container_ctx = _notebook_security(chart_values({}))
    assert pod_ctx["fsGroup"] == 100
    assert container_ctx["runAsUser"] == 1000
    assert container_ctx["allowPrivilegeEscalation"] is False

    pod_ctx, _ = _notebook_security(
        chart_values(
            {
                "singleuser": {"fsGid": None},
                "hub": {
                    "config": {
                        "KubeSpawner": {"pod_security_context": {"fsGroupChangePolicy": "Always"}}
                    }
                },
            }
        )
    )
    assert "fsGroup" not in pod_ctx
    assert pod_ctx["fsGroupChangePolicy"] == "Always"
