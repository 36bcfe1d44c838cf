//! A small blocking client of the JupyterHub REST API, for `course` and `roster`.
//!
//! Courses are JupyterHub groups: `{student prefix}{course}` holds the students and
//! `{instructor prefix}{course}` the instructors, the same names the KubeSpawner hook reads at
//! spawn time (`nbgrader_k8s_exchange.kubespawner`, `studentGroupPrefix` /
//! `instructorGroupPrefix`). A membership change takes effect at the user's next spawn, with
//! no hub restart.
//!
//! Every command first asks the hub which scopes its token holds (`GET /user`) and refuses to
//! start when one it needs is missing, naming it, so nothing is half-done for want of a scope.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{bail, Context};
use serde_json::{json, Value};

/// Scopes `course` and `roster` need, all of them (docs/configure.md grants exactly these):
/// create, fill, empty and delete the course groups; list users (to check a roster's users
/// exist, and which have a server running).
pub const SCOPES: &[&str] = &["admin:groups", "list:users"];
/// The extra scope of `--create-users`.
pub const CREATE_USERS_SCOPE: &str = "admin:users";

/// The group property marking a course whose groups the Helm values' `custom.nbgrader.courses`
/// define (set by `kubespawner.configure`): the hub recreates them at each start, so the
/// runtime commands leave them alone.
pub const SOURCE_PROPERTY: &str = "nbgrader-k8s-source";
/// [`SOURCE_PROPERTY`]'s value for groups of the Helm values.
pub const SOURCE_VALUES: &str = "values";

/// How many users one membership call sends.
const BATCH: usize = 100;

/// Where the Zero to JupyterHub chart mounts its hub Secret in the hub pod. The chart keeps
/// each `hub.services.{name}.apiToken` there as a file of that name, whether the value was
/// given, kept from the existing Secret or generated (templates/hub/secret.yaml).
pub const CHART_SECRET_DIR: &str = "/usr/local/etc/jupyterhub/secret";
/// The hub's API from inside the hub pod: loopback, not the `hub` Service (a NetworkPolicy
/// may drop traffic that leaves through the Service and comes back to the same pod).
pub const LOOPBACK_API: &str = "http://127.0.0.1:8081/hub/api";

/// Where the hub is, its token, and how courses map to groups.
#[derive(Debug, Clone, clap::Args)]
pub struct HubArgs {
    /// The hub's REST API, e.g. http://hub:8081/hub/api (in-cluster; plain HTTP only).
    #[arg(long, env = "JUPYTERHUB_API_URL", value_name = "URL")]
    pub hub_url: Option<String>,
    /// A file holding the API token (else the environment variable JUPYTERHUB_API_TOKEN, else
    /// the file the z2jh chart mounts in the hub pod for --api-service).
    #[arg(long, value_name = "FILE")]
    pub token_file: Option<PathBuf>,
    /// The hub.services entry whose token the chart mounts in the hub pod (the hook's
    /// `apiService`): /usr/local/etc/jupyterhub/secret/hub.services.NAME.apiToken.
    #[arg(
        long,
        env = "NBGRADER_K8S_API_SERVICE",
        default_value = "nbgrader-k8s",
        value_name = "NAME"
    )]
    pub api_service: String,
    /// Prefix of the students' group of a course (the hook's `studentGroupPrefix`).
    #[arg(
        long,
        env = "NBGRADER_K8S_STUDENT_GROUP_PREFIX",
        default_value = "nbgrader-"
    )]
    pub student_group_prefix: String,
    /// Prefix of the instructors' group of a course (the hook's `instructorGroupPrefix`).
    #[arg(
        long,
        env = "NBGRADER_K8S_INSTRUCTOR_GROUP_PREFIX",
        default_value = "formgrade-"
    )]
    pub instructor_group_prefix: String,
}

impl HubArgs {
    /// The students' group of `course`.
    pub fn student_group(&self, course: &str) -> String {
        format!("{}{course}", self.student_group_prefix)
    }

    /// The instructors' group of `course`.
    pub fn instructor_group(&self, course: &str) -> String {
        format!("{}{course}", self.instructor_group_prefix)
    }

    /// (course, is instructor group) of a group name, as the hook reads it.
    pub fn course_of(&self, group: &str) -> Option<(String, bool)> {
        // The hook tries the instructor prefix first; so does this.
        if let Some(c) = group.strip_prefix(&self.instructor_group_prefix) {
            return (!c.is_empty()).then(|| (c.to_string(), true));
        }
        let c = group.strip_prefix(&self.student_group_prefix)?;
        (!c.is_empty()).then(|| (c.to_string(), false))
    }

    /// Connect: read the token, check the URL. No request is made yet.
    pub fn connect(&self) -> anyhow::Result<Hub> {
        let env_token = std::env::var("JUPYTERHUB_API_TOKEN").ok();
        self.connect_in(Path::new(CHART_SECRET_DIR), env_token)
    }

    /// The chart's token file for [`Self::api_service`] in `secret_dir`.
    fn chart_token_file(&self, secret_dir: &Path) -> PathBuf {
        secret_dir.join(format!("hub.services.{}.apiToken", self.api_service))
    }

    /// [`Self::connect`] with the chart's Secret looked for in `secret_dir`, and `env_token`
    /// the value of JUPYTERHUB_API_TOKEN.
    fn connect_in(&self, secret_dir: &Path, env_token: Option<String>) -> anyhow::Result<Hub> {
        let chart_file = self.chart_token_file(secret_dir);
        let in_hub_pod = secret_dir.is_dir();
        let url = match self.hub_url.as_deref().filter(|u| !u.is_empty()) {
            Some(url) => url,
            // In the hub pod (the chart's Secret is mounted): the hub itself, over loopback.
            None if in_hub_pod => LOOPBACK_API,
            None => bail!(
                "no hub API URL: give --hub-url or set JUPYTERHUB_API_URL (in the hub pod, \
                 {LOOPBACK_API}; from another pod, http://hub:8081/hub/api)"
            ),
        };
        if !url.starts_with("http://") {
            bail!(
                "hub API URL {url:?}: only http:// is supported; use the hub's in-cluster \
                 address ({LOOPBACK_API} in the hub pod) where this runs"
            );
        }
        let read = |file: &Path| -> anyhow::Result<String> {
            Ok(std::fs::read_to_string(file)
                .with_context(|| format!("cannot read the token file {}", file.display()))?
                .trim()
                .to_string())
        };
        let token = match &self.token_file {
            Some(file) => read(file)?,
            None => match env_token {
                Some(t) if !t.is_empty() => t,
                _ if chart_file.is_file() => read(&chart_file)?,
                _ => String::new(),
            },
        };
        if token.is_empty() {
            bail!(
                "no hub API token: give --token-file FILE or set JUPYTERHUB_API_TOKEN (in the \
                 hub pod of the z2jh chart, {} is read: is hub.services.{} declared in the \
                 values?)",
                chart_file.display(),
                self.api_service
            );
        }
        let agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(60)))
            .build()
            .into();
        Ok(Hub {
            base: url.trim_end_matches('/').to_string(),
            token,
            agent,
        })
    }
}

/// A username as JupyterHub stores it: its default `Authenticator.normalize_username`
/// lower-cases, so a roster's `Alice` logs in, and is a member, as `alice`.
pub fn hub_name(id: &str) -> String {
    id.to_lowercase()
}

/// A JupyterHub group as the API returns it.
#[derive(Debug, Clone, Default)]
pub struct Group {
    /// Its name.
    pub name: String,
    /// Its members, sorted.
    pub users: Vec<String>,
    /// Whether the Helm values define it (see [`SOURCE_PROPERTY`]).
    pub from_values: bool,
    /// The roles the group carries (read with `admin:groups`, which holds `read:roles:groups`).
    pub roles: Vec<String>,
}

impl Group {
    fn from_json(v: &Value) -> Group {
        let mut users: Vec<String> = v["users"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|u| u.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default();
        users.sort();
        let roles = v["roles"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|r| r.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default();
        Group {
            name: v["name"].as_str().unwrap_or_default().to_string(),
            users,
            from_values: v["properties"][SOURCE_PROPERTY].as_str() == Some(SOURCE_VALUES),
            roles,
        }
    }
}

/// A connection to the hub's API.
#[derive(Debug)]
pub struct Hub {
    base: String,
    token: String,
    agent: ureq::Agent,
}

/// One API call's failure: what was asked, what the hub said.
fn failure(method: &str, path: &str, status: u16, body: &str) -> anyhow::Error {
    let message = serde_json::from_str::<Value>(body)
        .ok()
        .and_then(|v| v["message"].as_str().map(str::to_string))
        .unwrap_or_else(|| body.chars().take(200).collect());
    let hint = match status {
        403 => " (the token lacks a scope this needs; docs/configure.md, \"The course API token\")",
        401 => " (the hub does not accept this token)",
        _ => "",
    };
    anyhow::anyhow!("hub API {method} {path}: HTTP {status}: {message}{hint}")
}

/// `s` as one URL path segment.
fn segment(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

impl Hub {
    /// `method path` with an optional JSON body: (status, parsed body or Null).
    fn call(&self, method: &str, path: &str, body: Option<&Value>) -> anyhow::Result<(u16, Value)> {
        let url = format!("{}{path}", self.base);
        let auth = format!("token {}", self.token);
        let accept = "application/jupyterhub-pagination+json, application/json";
        let sent = match (method, body) {
            ("GET", _) => self
                .agent
                .get(&url)
                .header("Authorization", &auth)
                .header("Accept", accept)
                .call(),
            ("DELETE", None) => self
                .agent
                .delete(&url)
                .header("Authorization", &auth)
                .call(),
            ("DELETE", Some(b)) => self
                .agent
                .delete(&url)
                .header("Authorization", &auth)
                .force_send_body()
                .content_type("application/json")
                .send(b.to_string()),
            (m, b) => {
                let text = b.map(Value::to_string).unwrap_or_default();
                let req = match m {
                    "POST" => self.agent.post(&url),
                    "PUT" => self.agent.put(&url),
                    other => bail!("unsupported method {other}"),
                };
                req.header("Authorization", &auth)
                    .content_type("application/json")
                    .send(text)
            }
        };
        let mut resp = sent.map_err(|e| {
            anyhow::anyhow!(
                "hub API {method} {path}: cannot reach the hub at {}: {e}",
                self.base
            )
        })?;
        let status = resp.status().as_u16();
        let text = resp
            .body_mut()
            .read_to_string()
            .with_context(|| format!("hub API {method} {path}: cannot read the answer"))?;
        if !(200..300).contains(&status) && status != 404 {
            return Err(failure(method, path, status, &text));
        }
        let value = if text.trim().is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or(Value::Null)
        };
        Ok((status, value))
    }

    fn ok(&self, method: &str, path: &str, body: Option<&Value>) -> anyhow::Result<Value> {
        let (status, value) = self.call(method, path, body)?;
        if status == 404 {
            bail!(failure(method, path, status, &value.to_string()));
        }
        Ok(value)
    }

    /// Every item of a paginated list (`/groups`, `/users?...`).
    fn all(&self, path: &str) -> anyhow::Result<Vec<Value>> {
        let mut items = Vec::new();
        let sep = if path.contains('?') { '&' } else { '?' };
        let mut offset = 0u64;
        loop {
            let page = self.ok(
                "GET",
                &format!("{path}{sep}offset={offset}&limit=200"),
                None,
            )?;
            // A hub that does not paginate answers with a plain list.
            let Some(found) = page["items"].as_array() else {
                items.extend(page.as_array().cloned().unwrap_or_default());
                return Ok(items);
            };
            items.extend(found.iter().cloned());
            match page["_pagination"]["next"]["offset"].as_u64() {
                Some(next) if next > offset => offset = next,
                _ => return Ok(items),
            }
        }
    }

    /// Refuse to go on unless the token holds every scope of `needed` (as the hub expands
    /// them), naming the missing ones.
    pub fn require(&self, needed: &[&str]) -> anyhow::Result<()> {
        let me = self.ok("GET", "/user", None)?;
        let held: BTreeSet<&str> = me["scopes"]
            .as_array()
            .map(|a| a.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        let missing: Vec<&str> = needed
            .iter()
            .copied()
            .filter(|s| !held.contains(s))
            .collect();
        if !missing.is_empty() {
            let who = me["name"].as_str().unwrap_or("?");
            bail!(
                "the hub API token (of {} {who:?}) lacks the scope{} {}: nothing was changed. \
                 Grant {} to its role (docs/configure.md, \"The course API token\")",
                me["kind"].as_str().unwrap_or("owner"),
                if missing.len() == 1 { "" } else { "s" },
                missing.join(", "),
                needed.join(", ")
            );
        }
        Ok(())
    }

    /// The group `name`, or None when the hub has none.
    pub fn group(&self, name: &str) -> anyhow::Result<Option<Group>> {
        let (status, v) = self.call("GET", &format!("/groups/{}", segment(name)), None)?;
        Ok((status != 404).then(|| Group::from_json(&v)))
    }

    /// Every group.
    pub fn groups(&self) -> anyhow::Result<Vec<Group>> {
        Ok(self.all("/groups")?.iter().map(Group::from_json).collect())
    }

    /// Create the group `name` with `users` (who must exist).
    pub fn create_group(&self, name: &str, users: &[String]) -> anyhow::Result<()> {
        let path = format!("/groups/{}", segment(name));
        self.ok("POST", &path, Some(&json!({ "users": users })))?;
        Ok(())
    }

    /// Drop the Helm values' mark from the group `name` (its properties become empty).
    pub fn clear_properties(&self, name: &str) -> anyhow::Result<()> {
        let path = format!("/groups/{}/properties", segment(name));
        self.ok("PUT", &path, Some(&json!({})))?;
        Ok(())
    }

    /// Delete the group `name` (its members' accounts and data are untouched).
    pub fn delete_group(&self, name: &str) -> anyhow::Result<()> {
        self.ok("DELETE", &format!("/groups/{}", segment(name)), None)?;
        Ok(())
    }

    /// Add `users` to the group, [`BATCH`] per call; `done` is told each batch applied.
    pub fn add_members(
        &self,
        group: &str,
        users: &[String],
        done: &mut dyn FnMut(&[String]),
    ) -> anyhow::Result<()> {
        self.members("POST", group, users, done)
    }

    /// Remove `users` from the group, [`BATCH`] per call; `done` is told each batch applied.
    pub fn remove_members(
        &self,
        group: &str,
        users: &[String],
        done: &mut dyn FnMut(&[String]),
    ) -> anyhow::Result<()> {
        self.members("DELETE", group, users, done)
    }

    fn members(
        &self,
        method: &str,
        group: &str,
        users: &[String],
        done: &mut dyn FnMut(&[String]),
    ) -> anyhow::Result<()> {
        let path = format!("/groups/{}/users", segment(group));
        for batch in users.chunks(BATCH) {
            self.ok(method, &path, Some(&json!({ "users": batch })))?;
            done(batch);
        }
        Ok(())
    }

    /// Names of every hub user.
    pub fn users(&self) -> anyhow::Result<BTreeSet<String>> {
        self.names("/users")
    }

    /// Names of the users with a server running or starting (a pod, on the cluster).
    pub fn running(&self) -> anyhow::Result<BTreeSet<String>> {
        self.names("/users?state=active")
    }

    fn names(&self, path: &str) -> anyhow::Result<BTreeSet<String>> {
        Ok(self
            .all(path)?
            .iter()
            .filter_map(|u| u["name"].as_str().map(str::to_string))
            .collect())
    }

    /// Create hub users (they can log in as the authenticator allows).
    pub fn create_users(&self, names: &[String]) -> anyhow::Result<()> {
        for batch in names.chunks(BATCH) {
            self.ok("POST", "/users", Some(&json!({ "usernames": batch })))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args() -> HubArgs {
        HubArgs {
            hub_url: None,
            token_file: None,
            api_service: "nbgrader-k8s".into(),
            student_group_prefix: "nbgrader-".into(),
            instructor_group_prefix: "formgrade-".into(),
        }
    }

    #[test]
    fn groups_map_to_courses_as_the_hook_reads_them() {
        let a = args();
        assert_eq!(a.course_of("nbgrader-c1"), Some(("c1".into(), false)));
        assert_eq!(a.course_of("formgrade-c1"), Some(("c1".into(), true)));
        assert_eq!(a.course_of("nbgrader-"), None);
        assert_eq!(a.course_of("staff"), None);
        assert_eq!(a.student_group("c1"), "nbgrader-c1");
    }

    #[test]
    fn in_the_hub_pod_the_charts_token_and_loopback_are_used() {
        let secret = tempfile::tempdir().unwrap();
        let mut a = args();
        // Not in a hub pod (no Secret directory): the URL must be given.
        let gone = secret.path().join("absent");
        let err = a.connect_in(&gone, None).unwrap_err().to_string();
        assert!(err.contains("no hub API URL"), "{err}");
        // The chart's Secret without this service's key: the error names the file looked for.
        let err = a.connect_in(secret.path(), None).unwrap_err().to_string();
        assert!(err.contains("hub.services.nbgrader-k8s.apiToken"), "{err}");
        std::fs::write(
            secret.path().join("hub.services.nbgrader-k8s.apiToken"),
            "s3cret\n",
        )
        .unwrap();
        let hub = a.connect_in(secret.path(), None).unwrap();
        assert_eq!(
            (hub.base.as_str(), hub.token.as_str()),
            (LOOPBACK_API, "s3cret")
        );
        // JUPYTERHUB_API_TOKEN, when set, comes before the chart's file.
        let hub = a.connect_in(secret.path(), Some("env".into())).unwrap();
        assert_eq!(hub.token, "env");
        // Another service name reads another key; an explicit URL wins over loopback.
        a.api_service = "other".into();
        assert!(a.connect_in(secret.path(), None).is_err());
        a.api_service = "nbgrader-k8s".into();
        a.hub_url = Some("http://hub:8081/hub/api".into());
        assert_eq!(
            a.connect_in(secret.path(), None).unwrap().base,
            "http://hub:8081/hub/api"
        );
    }

    #[test]
    fn usernames_are_compared_as_the_hub_stores_them() {
        assert_eq!(hub_name("Alice.Smith"), "alice.smith");
        assert_eq!(hub_name("bob"), "bob");
    }

    #[test]
    fn path_segments_are_escaped() {
        assert_eq!(segment("nbgrader-c 1/x"), "nbgrader-c%201%2Fx");
        assert_eq!(segment("a.b_c~d"), "a.b_c~d");
    }
}
