//! `nbgrader-k8s course add|list|show|remove`: courses as JupyterHub groups, changed through
//! the Hub API while the hub runs.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use anyhow::{bail, Context};
use exchange_core::ids::{problem, IdKind};
use exchange_core::layout::Course;
use exchange_core::ops::provision::provision_course;
use exchange_core::walk::{self, Kind};
use serde_json::json;

use crate::hub::{hub_name, Group, Hub, HubArgs, CREATE_USERS_SCOPE, SCOPES};
use crate::init::{summary_line, Owner};
use crate::output::{print_json, say, say_err, Table};

/// `course` arguments.
#[derive(Debug, clap::Args)]
#[command(
    about = "Add, list, show or remove courses on the running hub (JupyterHub groups, no restart)",
    long_about = "A course C is two JupyterHub groups, the students' (`nbgrader-C`) and the \
        instructors' (`formgrade-C`), with the prefixes the hub hook is configured with. These \
        subcommands change them through the Hub REST API (JUPYTERHUB_API_URL, token in \
        JUPYTERHUB_API_TOKEN or --token-file, scopes admin:groups and list:users; \
        --create-users also admin:users) and create the course tree on the exchange. A change \
        takes effect at each user's next spawn; the hub keeps running. A course defined in the \
        Helm values (custom.nbgrader.courses) is left alone: the hub would restore it at its \
        next start."
)]
pub struct Args {
    #[command(subcommand)]
    pub command: Command,
}

/// The `course` subcommands.
#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Create a course (or add people to it): groups, members, course tree.
    #[command(after_help = "Examples:\n  \
        nbgrader-k8s course add course202 --instructor prof --student alice bob\n  \
        nbgrader-k8s course add course202 --instructor prof --student dave --create-users")]
    Add(AddArgs),
    /// Every course the hub or the exchange knows, with its people and state.
    List(ListArgs),
    /// A course's instructors and students: provisioned, server running.
    Show(ShowArgs),
    /// Remove a course's groups; its data on the exchange stays.
    #[command(
        long_about = "Delete the course's two groups on the hub. Nothing on the exchange is \
        deleted: releases, submissions and feedback stay under {root}/COURSE (and instructors' \
        gradebooks in their homes). Re-adding the course with `course add` gives the same \
        people their data back."
    )]
    Remove(RemoveArgs),
}

/// `course add` arguments.
#[derive(Debug, clap::Args)]
pub struct AddArgs {
    /// Course id.
    pub course: String,
    /// Instructors (hub usernames).
    #[arg(long, value_name = "USER", num_args = 1.., required = true)]
    pub instructor: Vec<String>,
    /// Students (hub usernames); `roster sync` adds a whole roster.
    #[arg(long, value_name = "USER", num_args = 1..)]
    pub student: Vec<String>,
    /// Create missing hub users (needs the admin:users scope) instead of refusing.
    #[arg(long)]
    pub create_users: bool,
    /// Manage here a course that the Helm values defined (remove it from the values first:
    /// the hub would otherwise restore its members at every start).
    #[arg(long)]
    pub take_over: bool,
    #[command(flatten)]
    pub hub: HubArgs,
    #[command(flatten)]
    pub owner: Owner,
    /// Print the result as JSON.
    #[arg(long)]
    pub json: bool,
}

/// `course list` arguments.
#[derive(Debug, clap::Args)]
pub struct ListArgs {
    #[command(flatten)]
    pub hub: HubArgs,
    /// Print the result as JSON.
    #[arg(long)]
    pub json: bool,
}

/// `course show` arguments.
#[derive(Debug, clap::Args)]
pub struct ShowArgs {
    /// Course id.
    pub course: String,
    #[command(flatten)]
    pub hub: HubArgs,
    /// Print the result as JSON.
    #[arg(long)]
    pub json: bool,
}

/// `course remove` arguments.
#[derive(Debug, clap::Args)]
pub struct RemoveArgs {
    /// Course id.
    pub course: String,
    #[command(flatten)]
    pub hub: HubArgs,
    /// Print the result as JSON.
    #[arg(long)]
    pub json: bool,
}

/// Run `course`.
pub fn run(root: &Path, args: &Args) -> anyhow::Result<u8> {
    match &args.command {
        Command::Add(a) => add(root, a),
        Command::List(a) => list(root, a),
        Command::Show(a) => show(root, a),
        Command::Remove(a) => remove(root, a),
    }
}

/// The course id and user ids, checked before any call to the hub.
pub fn check_ids(course: &str, users: &[&String]) -> anyhow::Result<()> {
    if let Some(why) = problem(IdKind::Course, course) {
        bail!("refusing course id {course:?}: {why}");
    }
    for u in users {
        if let Some(why) = problem(IdKind::Student, u) {
            bail!("refusing username {u:?}: {why}");
        }
    }
    Ok(())
}

/// Refuse to change a course whose groups the Helm values define.
pub fn refuse_values(groups: &[&Option<Group>], course: &str) -> anyhow::Result<()> {
    for g in groups.iter().copied().flatten() {
        if g.from_values {
            bail!(
                "group {} of course {course:?} is defined by the Helm values \
                 (custom.nbgrader.courses), which the hub reapplies at every start: change \
                 that course there, or remove it from the values and take it over with \
                 `nbgrader-k8s course add {course} --instructor USER --take-over` \
                 (docs/operate.md, \"One source of truth\")",
                g.name
            );
        }
    }
    Ok(())
}

/// Refuse to manage a group that carries a role: whoever may change its members (this
/// command's `admin:groups` token, or a course's instructor through it) would hand out that
/// role's scopes, e.g. an admin group loaded by the chart's `hub.loadRoles`.
pub fn refuse_role_groups(groups: &[&Option<Group>], course: &str) -> anyhow::Result<()> {
    for g in groups.iter().copied().flatten() {
        if !g.roles.is_empty() {
            bail!(
                "group {} of course {course:?} carries the role{} {}: a course group must \
                 carry no role (its members would get the role's scopes); nothing was \
                 changed. Use other group prefixes, or take the role off the group \
                 (docs/configure.md, \"The course API token\")",
                g.name,
                if g.roles.len() == 1 { "" } else { "s" },
                g.roles.join(", ")
            );
        }
    }
    Ok(())
}

/// Usernames as the hub stores them ([`hub_name`]), with a note for each one changed.
pub fn hub_names(ids: &[String], notes: &mut Vec<String>) -> Vec<String> {
    let mut out: Vec<String> = Vec::with_capacity(ids.len());
    for id in ids {
        let name = hub_name(id);
        if name != *id {
            notes.push(format!(
                "{id:?} is {name:?} on the hub (JupyterHub lower-cases usernames)"
            ));
        }
        if !out.contains(&name) {
            out.push(name);
        }
    }
    out
}

/// Of `wanted`, those the hub does not have: created with `create`, else an error naming
/// them (before anything was changed).
pub fn ensure_users(
    hub: &Hub,
    wanted: &BTreeSet<String>,
    create: bool,
) -> anyhow::Result<Vec<String>> {
    let known = hub.users()?;
    let missing: Vec<String> = wanted.difference(&known).cloned().collect();
    if missing.is_empty() {
        return Ok(missing);
    }
    if !create {
        let shown: Vec<&str> = missing.iter().take(10).map(String::as_str).collect();
        // Most authenticators lower-case usernames; an export may not.
        let case = if missing.iter().any(|m| known.contains(&m.to_lowercase())) {
            " (the hub has some in lower case: fix the roster's case)"
        } else {
            ""
        };
        bail!(
            "{} user(s) unknown to the hub: {}{}{case}; nothing was changed. Pass \
             --create-users to create them, or let them log in once first",
            missing.len(),
            shown.join(", "),
            if missing.len() > shown.len() {
                ", ..."
            } else {
                ""
            }
        );
    }
    hub.create_users(&missing)
        .context("cannot create the missing users; nothing else was changed")?;
    Ok(missing)
}

fn add(root: &Path, a: &AddArgs) -> anyhow::Result<u8> {
    let mut notes = Vec::new();
    let (instructor, student) = (
        hub_names(&a.instructor, &mut notes),
        hub_names(&a.student, &mut notes),
    );
    let everyone: Vec<&String> = instructor.iter().chain(&student).collect();
    check_ids(&a.course, &everyone)?;
    if !a.json {
        notes.iter().for_each(|n| say_err!("note: {n}"));
    }
    let hub = a.hub.connect()?;
    let mut needed = SCOPES.to_vec();
    if a.create_users {
        needed.push(CREATE_USERS_SCOPE);
    }
    hub.require(&needed)?;
    let (sg, ig) = (
        a.hub.student_group(&a.course),
        a.hub.instructor_group(&a.course),
    );
    let (students_now, instructors_now) = (hub.group(&sg)?, hub.group(&ig)?);
    refuse_role_groups(&[&students_now, &instructors_now], &a.course)?;
    if a.take_over {
        for g in [&students_now, &instructors_now].into_iter().flatten() {
            if g.from_values {
                hub.clear_properties(&g.name)?;
            }
        }
    } else {
        refuse_values(&[&students_now, &instructors_now], &a.course)?;
    }
    let wanted: BTreeSet<String> = everyone.iter().map(|s| s.to_string()).collect();
    let created_users = ensure_users(&hub, &wanted, a.create_users)?;

    // The tree first: a member may spawn as soon as the group holds them.
    let students: Vec<String> = student
        .iter()
        .filter(|s| !instructor.contains(s))
        .cloned()
        .collect();
    let tree = super::prepare(root, &a.course)
        .and_then(|()| {
            Ok(provision_course(
                root,
                &a.course,
                &students,
                a.owner.skeleton(),
            )?)
        })
        .with_context(|| format!("cannot create course {:?} on the exchange", a.course))?;

    let mut added: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    for (group, now, people) in [
        (&ig, &instructors_now, &instructor),
        (&sg, &students_now, &student),
    ] {
        let mut new: Vec<String> = people.clone();
        new.sort();
        new.dedup();
        match now {
            None => hub.create_group(group, &new).with_context(|| {
                format!(
                    "course {:?} is only partly added: rerun the same command",
                    a.course
                )
            })?,
            Some(g) => {
                new.retain(|u| !g.users.contains(u));
                hub.add_members(group, &new, &mut |_| {}).with_context(|| {
                    format!(
                        "course {:?} is only partly added: rerun the same command",
                        a.course
                    )
                })?;
            }
        }
        added.insert(group, new);
    }
    if a.json {
        let created_groups: Vec<&String> = [
            instructors_now.is_none().then_some(&ig),
            students_now.is_none().then_some(&sg),
        ]
        .into_iter()
        .flatten()
        .collect();
        return print_json(&json!({
            "course": a.course,
            "groups": {"instructors": ig, "students": sg},
            "created_groups": created_groups,
            "added": added,
            "created_users": created_users,
            "exchange": crate::init::summary_json(&tree.entries),
        }))
        .map(|_| 0);
    }
    for (group, now) in [(&ig, &instructors_now), (&sg, &students_now)] {
        let verb = if now.is_none() { "created" } else { "updated" };
        let new = &added[group.as_str()];
        say!(
            "group {group}: {verb}, {} added{}",
            new.len(),
            if new.is_empty() {
                String::new()
            } else {
                format!(" ({})", new.join(", "))
            }
        );
    }
    if !created_users.is_empty() {
        say!("hub users created: {}", created_users.join(", "));
    }
    say!(
        "exchange {}: {}",
        Course::new(root, &a.course)?.dir().display(),
        summary_line(&tree.entries)
    );
    say!("effective at each member's next server start (no hub restart)");
    Ok(0)
}

/// What the hub and the exchange know of one course.
#[derive(Debug, Default)]
struct Known {
    instructors: Option<Group>,
    students: Option<Group>,
    on_exchange: bool,
}

fn courses(root: &Path, hub_args: &HubArgs, groups: Vec<Group>) -> BTreeMap<String, Known> {
    let mut known: BTreeMap<String, Known> = BTreeMap::new();
    for g in groups {
        if let Some((course, instructors)) = hub_args.course_of(&g.name) {
            let k = known.entry(course).or_default();
            if instructors {
                k.instructors = Some(g);
            } else {
                k.students = Some(g);
            }
        }
    }
    let mut warnings = Vec::new();
    // No exchange mounted where this runs: every course is "missing" there.
    let on_exchange = match super::anchor(root) {
        Ok(()) => super::child_ids(root, IdKind::Course, &mut warnings).unwrap_or_else(|e| {
            warnings.push(format!("{e:#}"));
            Vec::new()
        }),
        Err(_) => Vec::new(),
    };
    crate::output::warn_all(None, &warnings);
    for c in on_exchange {
        known.entry(c).or_default().on_exchange = true;
    }
    known
}

fn source(k: &Known) -> &'static str {
    let groups = [&k.instructors, &k.students];
    if groups.iter().all(|g| g.is_none()) {
        "no groups"
    } else if groups.iter().copied().flatten().any(|g| g.from_values) {
        "helm values"
    } else {
        "hub api"
    }
}

fn count(g: &Option<Group>) -> usize {
    g.as_ref().map_or(0, |g| g.users.len())
}

fn list(root: &Path, a: &ListArgs) -> anyhow::Result<u8> {
    let hub = a.hub.connect()?;
    hub.require(&["list:groups", "read:groups"])?;
    let known = courses(root, &a.hub, hub.groups()?);
    if a.json {
        let items: Vec<_> = known
            .iter()
            .map(|(c, k)| {
                json!({
                    "course": c,
                    "instructors": k.instructors.as_ref().map(|g| &g.users),
                    "students": k.students.as_ref().map(|g| g.users.len()),
                    "on_exchange": k.on_exchange,
                    "source": source(k),
                })
            })
            .collect();
        return print_json(&json!({ "courses": items })).map(|_| 0);
    }
    let mut t = Table::new(&["COURSE", "INSTRUCTORS", "STUDENTS", "EXCHANGE", "SOURCE"]);
    for (c, k) in &known {
        let instructors = k
            .instructors
            .as_ref()
            .map_or("-".to_string(), |g| g.users.join(","));
        t.row(vec![
            c.clone(),
            instructors,
            count(&k.students).to_string(),
            if k.on_exchange { "yes" } else { "missing" }.to_string(),
            source(k).to_string(),
        ]);
    }
    print!("{}", t.render());
    Ok(0)
}

/// Whether `dir` is a real directory.
fn is_dir(dir: &Path) -> bool {
    matches!(walk::kind_of(dir), Ok(Some(Kind::Dir)))
}

fn show(root: &Path, a: &ShowArgs) -> anyhow::Result<u8> {
    check_ids(&a.course, &[])?;
    let hub = a.hub.connect()?;
    hub.require(&["read:groups", "list:users"])?;
    let students = hub.group(&a.hub.student_group(&a.course))?;
    let instructors = hub.group(&a.hub.instructor_group(&a.course))?;
    let course = Course::new(root, &a.course)?;
    if students.is_none() && instructors.is_none() {
        let data = if is_dir(course.dir()) {
            format!("; its data is still at {}", course.dir().display())
        } else {
            String::new()
        };
        bail!(
            "the hub has no course {:?} (no groups {} or {}){data}",
            a.course,
            a.hub.student_group(&a.course),
            a.hub.instructor_group(&a.course)
        );
    }
    let running = hub.running()?;
    let k = Known {
        on_exchange: is_dir(course.dir()),
        instructors,
        students,
    };
    let mut rows = Vec::new();
    for (role, g) in [("instructor", &k.instructors), ("student", &k.students)] {
        for user in g.iter().flat_map(|g| &g.users) {
            let provisioned = if role == "instructor" {
                k.on_exchange
            } else {
                is_dir(&course.inbound().join(user)) && is_dir(&course.feedback_public().join(user))
            };
            rows.push((role, user.clone(), provisioned, running.contains(user)));
        }
    }
    if a.json {
        let people: Vec<_> = rows
            .iter()
            .map(|(role, user, prov, run)| {
                json!({"user": user, "role": role, "provisioned": prov, "running": run})
            })
            .collect();
        return print_json(&json!({
            "course": a.course,
            "exchange": course.dir(),
            "on_exchange": k.on_exchange,
            "source": source(&k),
            "members": people,
        }))
        .map(|_| 0);
    }
    say!(
        "course {}: {} instructor(s), {} student(s); exchange {} ({}); groups from the {}",
        a.course,
        count(&k.instructors),
        count(&k.students),
        course.dir().display(),
        if k.on_exchange { "present" } else { "missing" },
        source(&k)
    );
    let mut t = Table::new(&["ROLE", "USER", "PROVISIONED", "SERVER"]);
    for (role, user, prov, run) in rows {
        t.row(vec![
            role.to_string(),
            user,
            if prov { "yes" } else { "no" }.to_string(),
            if run { "running" } else { "-" }.to_string(),
        ]);
    }
    print!("{}", t.render());
    Ok(0)
}

fn remove(root: &Path, a: &RemoveArgs) -> anyhow::Result<u8> {
    check_ids(&a.course, &[])?;
    let hub = a.hub.connect()?;
    hub.require(&["admin:groups"])?;
    let (sg, ig) = (
        a.hub.student_group(&a.course),
        a.hub.instructor_group(&a.course),
    );
    let (students, instructors) = (hub.group(&sg)?, hub.group(&ig)?);
    refuse_role_groups(&[&students, &instructors], &a.course)?;
    refuse_values(&[&students, &instructors], &a.course)?;
    let mut removed = Vec::new();
    for (name, g) in [(&sg, &students), (&ig, &instructors)] {
        if g.is_some() {
            hub.delete_group(name).with_context(|| {
                format!("course {:?} is only partly removed (done: {removed:?}): rerun the same command", a.course)
            })?;
            removed.push(name.clone());
        }
    }
    let dir = Course::new(root, &a.course)?.dir().to_path_buf();
    if a.json {
        return print_json(&json!({
            "course": a.course,
            "removed_groups": removed,
            "data_kept": dir,
        }))
        .map(|_| 0);
    }
    if removed.is_empty() {
        say!(
            "the hub has no groups of course {} (nothing to remove)",
            a.course
        );
    } else {
        say!("removed groups {}", removed.join(" and "));
    }
    say!(
        "kept: everything on the exchange under {} (releases, submissions, feedback) and the \
         instructors' homes; nothing was deleted. Running servers keep their mounts until they \
         stop.",
        dir.display()
    );
    Ok(0)
}
