"""Every YAML file in deploy/ parses; every Kubernetes object in it is valid; the Zero to
JupyterHub values have the keys the chart reads, and the pieces name each other right."""

import copy

import kubernetes_validate
import pytest

from .z2jh import DEPLOY, KIND_VALUES, VALUES, kind_values, load_all, load_one, values, yaml_files

# The oldest Kubernetes we document (docs/compatibility.md) and the newest schema we have.
K8S_VERSIONS = ("1.28", "1.37")
PVC = DEPLOY / "k8s" / "exchange-pvc.yaml"


def _objects():
    for path in yaml_files():
        if path == VALUES or path.name.startswith("values") or path.name == "kustomization.yaml":
            continue
        for doc in load_all(path):
            yield pytest.param(doc, id=f"{path.relative_to(DEPLOY)}:{doc.get('kind')}")


def test_every_yaml_file_parses_and_holds_something():
    paths = yaml_files()
    names = {p.relative_to(DEPLOY).as_posix() for p in paths}
    assert {"z2jh/values.yaml", "k8s/exchange-pvc.yaml", "k8s/nbgrader-config.yaml"} <= names
    for path in paths:
        docs = load_all(path)
        assert docs and all(isinstance(d, dict) for d in docs), path


@pytest.mark.parametrize("obj", list(_objects()))
@pytest.mark.parametrize("version", K8S_VERSIONS)
def test_kubernetes_objects_are_valid(obj, version):
    assert {"apiVersion", "kind", "metadata"} <= set(obj)
    kubernetes_validate.validate(obj, version, strict=True)


def test_an_invalid_object_is_caught():
    """The validation above can fail: a typo in a field is an error in strict mode."""
    pvc = copy.deepcopy(load_one(PVC))
    pvc["spec"]["accesModes"] = pvc["spec"].pop("accessModes")
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(pvc, "1.30", strict=True)


def test_exchange_claim_is_read_write_many():
    pvc = load_one(PVC)
    assert pvc["kind"] == "PersistentVolumeClaim"
    assert pvc["spec"]["accessModes"] == ["ReadWriteMany"]


def test_values_have_the_keys_zero_to_jupyterhub_reads():
    v = values()
    assert set(v) <= {
        "hub",
        "singleuser",
        "proxy",
        "custom",
        "prePuller",
        "scheduling",
        "imagePullSecrets",
    }
    assert isinstance(v["hub"]["extraConfig"], dict) and v["hub"]["extraConfig"]
    for key, snippet in v["hub"]["extraConfig"].items():
        compile(snippet, f"hub.extraConfig.{key}", "exec")
    assert {"name", "tag"} <= set(v["hub"]["image"])
    assert {"name", "tag"} <= set(v["singleuser"]["image"])
    assert v["singleuser"]["storage"]["type"] in ("dynamic", "static", "none")
    assert (v["singleuser"]["uid"], v["singleuser"]["fsGid"]) == (1000, 100)
    assert isinstance(v["custom"]["nbgrader"]["courses"], dict)


def test_hub_volume_fragments_are_valid_kubernetes():
    """hub.extraVolumes/extraVolumeMounts and the hub's securityContext, in the Pod the chart
    puts them in."""
    hub = values()["hub"]
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "hub"},
        "spec": {
            "volumes": hub["extraVolumes"],
            "containers": [
                {
                    "name": "hub",
                    "image": f"{hub['image']['name']}:{hub['image']['tag']}",
                    "volumeMounts": hub["extraVolumeMounts"],
                    "securityContext": hub["containerSecurityContext"],
                }
            ],
        },
    }
    kubernetes_validate.validate(pod, "1.30", strict=True)


def test_pieces_name_each_other():
    v = values()
    nb = v["custom"]["nbgrader"]
    claim = load_one(PVC)["metadata"]["name"]
    assert nb["claimName"] == claim
    [hub_volume] = [x for x in v["hub"]["extraVolumes"] if x["name"] == "nbgrader-exchange"]
    assert hub_volume["persistentVolumeClaim"]["claimName"] == claim
    [hub_mount] = [x for x in v["hub"]["extraVolumeMounts"] if x["name"] == "nbgrader-exchange"]
    assert hub_mount["mountPath"] == nb["hubExchangePath"]
    config_map = load_one(DEPLOY / "k8s" / "nbgrader-config.yaml")
    assert config_map["metadata"]["name"] == nb["configMap"]
    roles = {"student_nbgrader_config.py", "instructor_nbgrader_config.py"}
    assert set(config_map["data"]) == roles
    rosters = load_one(DEPLOY / "k8s" / "rosters.yaml")
    kind_rosters = load_one(DEPLOY / "kind" / "rosters.yaml")
    job = load_one(DEPLOY / "k8s" / "provision-job.yaml")["spec"]["template"]["spec"]
    cron = load_one(DEPLOY / "k8s" / "audit-cronjob.yaml")["spec"]["jobTemplate"]["spec"]
    for pod in (job, cron["template"]["spec"]):
        claims = [
            v["persistentVolumeClaim"]["claimName"]
            for v in pod["volumes"]
            if "persistentVolumeClaim" in v
        ]
        maps = [v["configMap"]["name"] for v in pod["volumes"] if "configMap" in v]
        assert (claims, maps) == ([claim], [rosters["metadata"]["name"]])
    # The demo course: the kind overlay's roster matches its courses; the base names none.
    assert kind_rosters["metadata"]["name"] == rosters["metadata"]["name"]
    kind_courses = kind_values()["custom"]["nbgrader"]["courses"]
    assert {k.removesuffix(".txt") for k in kind_rosters["data"]} == set(kind_courses)
    for course, people in kind_courses.items():
        listed = kind_rosters["data"][f"{course}.txt"].split()
        assert set(people["students"]) <= set(listed)
    # The hub runs as the owner the exchange tree must have.
    ctx = v["hub"]["containerSecurityContext"]
    assert (ctx["runAsUser"], ctx["runAsGroup"]) == (nb["uid"], nb["gid"])


def test_kind_overlay_binds_the_claim_and_keeps_the_values_whole():
    pv = load_one(DEPLOY / "kind" / "exchange-pv.yaml")
    pvc = load_one(PVC)
    assert pv["spec"]["storageClassName"] == pvc["spec"]["storageClassName"]
    assert set(pvc["spec"]["accessModes"]) <= set(pv["spec"]["accessModes"])
    assert pv["spec"]["claimRef"]["name"] == pvc["metadata"]["name"]
    kind = kind_values()
    assert kind["hub"]["extraConfig"] == values()["hub"]["extraConfig"]
    assert kind["custom"]["nbgrader"]["courses"]  # the demo course lives here only
    assert "courses" in load_one(KIND_VALUES)["custom"]["nbgrader"]
    assert kind["hub"]["image"]["pullPolicy"] == "Never"


def test_notary_runs_alone_with_the_whole_volume_and_only_prometheus_reaches_it():
    docs = {d["kind"]: d for d in load_all(DEPLOY / "k8s" / "notary.yaml")}
    kustomization = load_one(DEPLOY / "k8s" / "kustomization.yaml")
    assert "notary.yaml" in kustomization["resources"]
    deploy = docs["Deployment"]["spec"]
    assert deploy["replicas"] == 1 and deploy["strategy"]["type"] == "Recreate"
    pod = deploy["template"]["spec"]
    # uid 1000 like every pod, and no fsGroup (docs/storage.md: kubelet would rewrite modes).
    assert pod["securityContext"]["runAsUser"] == 1000
    assert "fsGroup" not in pod["securityContext"]
    (container,) = pod["containers"]
    assert container["command"] == ["nbgrader-k8s", "notary", "run"]
    (mount,) = container["volumeMounts"]
    assert mount["mountPath"] == "/mnt/exchange" and "subPath" not in mount
    assert not mount.get("readOnly")
    claim = load_one(PVC)["metadata"]["name"]
    assert [v["persistentVolumeClaim"]["claimName"] for v in pod["volumes"]] == [claim]
    env = {e["name"]: e["value"] for e in container["env"]}
    port = int(env["NBGRADER_K8S_NOTARY_LISTEN"].rsplit(":", 1)[1])
    assert container["ports"][0]["containerPort"] == port
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    policy = docs["NetworkPolicy"]["spec"]
    labels = deploy["template"]["metadata"]["labels"]
    assert policy["podSelector"]["matchLabels"] == labels
    # Prometheus in, nothing out: the notary needs no network beyond answering scrapes.
    assert sorted(policy["policyTypes"]) == ["Egress", "Ingress"]
    assert policy.get("egress", []) == []
    (rule,) = policy["ingress"]
    assert rule["ports"] == [{"port": port, "protocol": "TCP"}]
    (source,) = rule["from"]
    assert source["podSelector"]["matchLabels"] == {"app.kubernetes.io/name": "prometheus"}
    service = docs["Service"]
    assert service["spec"]["selector"] == labels
    assert service["metadata"]["annotations"]["prometheus.io/port"] == str(port)


ROSTER_SYNC = DEPLOY / "k8s" / "roster-sync-cronjob.yaml"


def test_the_roster_sync_job_reaches_the_hub_as_the_chart_allows():
    """The chart's hub NetworkPolicy admits only pods labelled network-access-hub; the chart
    generates the service's token and keeps it in its Secret ``hub`` under
    ``hub.services.{name}.apiToken``; a pod that is not the hub uses the hub Service. The Job
    gets that one key (not the cookie secret or proxy token beside it) where the hub pod has
    it, which is where ``nbgrader-k8s`` looks."""
    cron = load_one(ROSTER_SYNC)
    assert (
        "roster-sync-cronjob.yaml" in load_one(DEPLOY / "k8s" / "kustomization.yaml")["resources"]
    )
    assert cron["spec"]["suspend"] is True  # until the admin fills the LMS rosters
    template = cron["spec"]["jobTemplate"]["spec"]["template"]
    assert template["metadata"]["labels"]["hub.jupyter.org/network-access-hub"] == "true"
    pod = template["spec"]
    (container,) = pod["containers"]
    env = {e["name"]: e["value"] for e in container["env"]}
    assert env["JUPYTERHUB_API_URL"] == "http://hub:8081/hub/api"
    service = values()["custom"]["nbgrader"]["apiService"]
    assert service in values()["hub"]["services"]
    assert env["NBGRADER_K8S_API_SERVICE"] == service
    # No apiToken in the values: the chart makes one (values files end up in version control).
    assert "apiToken" not in (values()["hub"]["services"][service] or {})
    [token] = [v for v in pod["volumes"] if "secret" in v]
    assert token["secret"]["secretName"] == "hub"
    key = f"hub.services.{service}.apiToken"
    assert token["secret"]["items"] == [{"key": key, "path": key}]
    [mount] = [m for m in container["volumeMounts"] if m["name"] == token["name"]]
    assert mount["mountPath"] == "/usr/local/etc/jupyterhub/secret" and mount["readOnly"]
    lms = load_one(DEPLOY / "k8s" / "lms-rosters.yaml")
    [rosters] = [v for v in pod["volumes"] if "configMap" in v]
    assert rosters["configMap"]["name"] == lms["metadata"]["name"]
    assert "roster sync" in " ".join(container["command"])


def test_the_keeper_is_one_uid_everywhere_it_is_set():
    """The provision Job (both containers), the audit CronJob and the hub's values name the
    skeleton's owner; an admin changes it for their storage (docs/storage.md), and a place
    left at another uid would make the Job or the nightly audit fail on every course."""
    job = load_one(DEPLOY / "k8s" / "provision-job.yaml")["spec"]["template"]["spec"]
    cron = load_one(DEPLOY / "k8s" / "audit-cronjob.yaml")["spec"]["jobTemplate"]["spec"]
    sync = load_one(ROSTER_SYNC)["spec"]["jobTemplate"]["spec"]
    containers = [
        *job["initContainers"],
        *job["containers"],
        *cron["template"]["spec"]["containers"],
        *sync["template"]["spec"]["containers"],
    ]
    found = {}
    for container in containers:
        env = {e["name"]: e.get("value") for e in container.get("env") or []}
        assert "KEEPER_UID" in env, container["name"]
        found[container["name"]] = int(env["KEEPER_UID"])
        command = " ".join(container["command"])
        if "nbgrader-k8s" in command:
            # every run of audit, provision and repair names it
            for line in command.splitlines():
                if any(
                    f"nbgrader-k8s {op}" in line
                    for op in ("audit", "provision", "repair", "roster sync")
                ):
                    assert '--keeper-uid "$KEEPER_UID"' in line, line
    found["values"] = values()["custom"]["nbgrader"]["keeperUid"]
    assert set(found.values()) == {0}, found
