//! `nbgrader-k8s mounts USER`: the KubeSpawner volumes and volume mounts of one user, from
//! the same rules (`exchange_core::mounts`) as the Python `pre_spawn_hook`.

use anyhow::Context;
use exchange_core::mounts::{
    pod_mounts, PodMounts, DEFAULT_CLAIM_NAME, DEFAULT_MOUNT_ROOT, VOLUME_NAME,
};
use serde_json::{json, Value};

use crate::output::print_json;

/// Output formats of `mounts`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// YAML, to paste into a config.
    Yaml,
    /// JSON.
    Json,
}

/// `mounts` arguments.
#[derive(Debug, clap::Args)]
#[command(
    about = "Print the KubeSpawner volumes and volume_mounts that give USER their exchange dirs",
    long_about = "Print the `volumes` and `volume_mounts` KubeSpawner needs for USER: for each \
        course USER teaches, the whole course read-write; for each course USER takes (and does \
        not teach), outbound read-only, their own inbound/USER read-write and \
        feedback_public/USER read-only. These are the rules of the Python pre_spawn_hook \
        (nbgrader_k8s_exchange.kubespawner), computed by the same code. `{` and `}` are \
        doubled because KubeSpawner str.format()s these strings; --raw prints them as they \
        are, for a plain pod manifest.",
    after_help = "Examples:\n  \
        nbgrader-k8s mounts alice --student-of course101 course202\n  \
        nbgrader-k8s mounts prof --instructor-of course101 --format json\n  \
        nbgrader-k8s mounts ta --student-of course101 --instructor-of course202 --claim-name exchange-pvc"
)]
pub struct Args {
    /// JupyterHub username.
    pub user: String,
    /// Courses USER takes (repeat the option or list several).
    #[arg(long, value_name = "COURSE", num_args = 1..)]
    pub student_of: Vec<String>,
    /// Courses USER teaches.
    #[arg(long, value_name = "COURSE", num_args = 1..)]
    pub instructor_of: Vec<String>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Yaml)]
    pub format: Format,
    /// Shorthand for --format json.
    #[arg(long, conflicts_with = "format")]
    pub json: bool,
    /// The PersistentVolumeClaim of the exchange volume.
    #[arg(long, default_value = DEFAULT_CLAIM_NAME)]
    pub claim_name: String,
    /// Where the exchange appears in the pod (`Exchange.root` there).
    #[arg(long, default_value = DEFAULT_MOUNT_ROOT)]
    pub mount_root: String,
    /// Do not double `{` and `}` (for a pod manifest rather than KubeSpawner config).
    #[arg(long)]
    pub raw: bool,
}

/// Run `mounts`.
pub fn run(args: &Args) -> anyhow::Result<u8> {
    let found = pod_mounts(
        &args.user,
        &args.student_of,
        &args.instructor_of,
        &args.claim_name,
        &args.mount_root,
    )
    .with_context(|| format!("cannot compute the mounts of {:?}", args.user))?;
    let doc = document(&found, args.raw);
    if args.json || args.format == Format::Json {
        print_json(&doc)?;
    } else {
        print!("{}", yaml(&doc));
    }
    Ok(0)
}

/// `{"volumes": [...], "volume_mounts": [...]}` as KubeSpawner's traits take them (both
/// empty when the user has no course).
pub fn document(found: &PodMounts, raw: bool) -> Value {
    let volumes: Vec<Value> = found
        .claim_name
        .iter()
        .map(|claim| json!({"name": VOLUME_NAME, "persistentVolumeClaim": {"claimName": claim}}))
        .collect();
    let list: Vec<Value> = found
        .mounts
        .iter()
        .map(|m| {
            let m = if raw { m.unescaped() } else { m.clone() };
            let mut v = json!({
                "name": VOLUME_NAME,
                "mountPath": m.mount_path,
                "subPath": m.sub_path,
            });
            if m.read_only {
                v["readOnly"] = json!(true);
            }
            v
        })
        .collect();
    json!({"volumes": volumes, "volume_mounts": list})
}

/// A small YAML emitter for `document`'s shape: maps of scalars, lists of maps. Strings are
/// written as JSON strings, which YAML reads as double-quoted scalars.
fn yaml(doc: &Value) -> String {
    let mut out = String::new();
    emit(doc, 0, &mut out);
    out
}

fn scalar(value: &Value) -> String {
    match value {
        Value::String(s) => serde_json::to_string(s).unwrap_or_default(),
        other => other.to_string(),
    }
}

fn emit(value: &Value, indent: usize, out: &mut String) {
    let pad = " ".repeat(indent);
    match value {
        Value::Object(map) => {
            for (key, v) in map {
                match v {
                    Value::Object(_) => {
                        out.push_str(&format!("{pad}{key}:\n"));
                        emit(v, indent + 2, out);
                    }
                    Value::Array(items) if items.is_empty() => {
                        out.push_str(&format!("{pad}{key}: []\n"))
                    }
                    Value::Array(_) => {
                        out.push_str(&format!("{pad}{key}:\n"));
                        emit(v, indent + 2, out);
                    }
                    _ => out.push_str(&format!("{pad}{key}: {}\n", scalar(v))),
                }
            }
        }
        Value::Array(items) => {
            for item in items {
                // "- " then the item's first key on the same line, the rest indented.
                let mut inner = String::new();
                emit(item, indent + 2, &mut inner);
                let body = inner.trim_start_matches(' ');
                out.push_str(&format!("{pad}- {body}"));
            }
        }
        _ => out.push_str(&format!("{pad}{}\n", scalar(value))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yaml_shape() {
        let mut m =
            pod_mounts("we{ir}d", &["c1".to_string()], &[], "pvc", "/mnt/exchange").unwrap();
        let all = m.clone();
        m.mounts.truncate(1);
        let text = yaml(&document(&m, false));
        assert_eq!(
            text,
            "volumes:\n  \
               - name: \"nbgrader-exchange\"\n    \
                 persistentVolumeClaim:\n      \
                   claimName: \"pvc\"\n\
             volume_mounts:\n  \
               - name: \"nbgrader-exchange\"\n    \
                 mountPath: \"/mnt/exchange/c1/outbound\"\n    \
                 subPath: \"c1/outbound\"\n    \
                 readOnly: true\n"
        );
        let raw = document(&all, true);
        assert_eq!(raw["volume_mounts"][1]["subPath"], "c1/inbound/we{ir}d");
        let nothing = pod_mounts("x", &[], &[], "pvc", "/m").unwrap();
        let none = yaml(&document(&nothing, false));
        assert_eq!(none, "volumes: []\nvolume_mounts: []\n");
    }
}
