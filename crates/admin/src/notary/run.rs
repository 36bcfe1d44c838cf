//! `nbgrader-k8s notary run`: the daemon loop over every course of the exchange.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use exchange_core::ids::{problem, IdKind};
use exchange_core::layout::Course;
use exchange_core::walk::{self, Kind};
use serde_json::{json, Map, Value};

use super::ledger::Ledger;
use super::log::{log, now};
use super::metrics::{self, Metrics};
use super::observe::{self, PassSettings, Watch};
use super::publish::{self, ResumePoint};
use super::snapshot::{DeadlineWatch, SnapSettings};
use super::state::CourseState;
use super::{notary_home, parse_size};

/// `notary run` arguments.
#[derive(Debug, Clone, clap::Args)]
#[command(
    about = "Watch every course: seal new submissions, record what happens, publish confirmations",
    long_about = "Run the notary over every course under --root (it needs the whole exchange \
        volume). Each pass lists every course's inbound/ (each inbox's attributes come \
        with the listing) and lists only the inboxes that changed; every new submission \
        (dot-named staging is never one) is sealed once: its claimed timestamp, the time \
        the notary first saw it and a SHA-256 manifest of its files are appended to the \
        course's hash-chained ledger in {root}/.nbk8s-notary/{course}/ledger.jsonl, and \
        index.json (for instructors, in \
        {course}/.nbk8s-notary/) and the student's confirmation \
        (feedback_public/{student}/.nbk8s-seals.json) are replaced. Releases, withdrawals, \
        released feedback, fetch markers and instructor removals are recorded too. The first \
        pass after a start and every --recheck-every passes after it re-digest every sealed \
        submission and record changed or vanished ones, so an edit in place is noticed \
        within interval x recheck-every (plus one pass). At each student's published due \
        date (extension included) plus --deadline-grace, the newest submission sealed on \
        time is copied to {course}/.nbk8s-notary/deadline/{student}/{assignment}/ and \
        recorded (deadline_snapshot), for collect --before-duedate. A pass is also taken at each \
        due date and again --attr-cache after it: the first complete pass that late covers the \
        due date (a due_pass record), and a submission claimed before it but sealed after that \
        pass is late. A SIGKILL at any moment is safe: a \
        torn last ledger line is cut on restart and that pass redone. Logs are one JSON \
        object per line on stderr.",
    after_help = "Examples:\n  \
        nbgrader-k8s notary run --root /mnt/exchange\n  \
        nbgrader-k8s notary run --interval 10s --recheck-every 30 --keep-sealed course101 \\\n      \
            --inbox-warn 2G --inbox-warn course101=500M --listen 0.0.0.0:9150\n  \
        nbgrader-k8s notary run --once      # one pass (a recheck), then exit"
)]
pub struct RunArgs {
    /// Time between the starts of two passes.
    #[arg(long, default_value = "15s", value_parser = crate::duration::parse, env = "NBGRADER_K8S_NOTARY_INTERVAL")]
    pub interval: Duration,
    /// Re-digest every sealed submission every N passes (and on the first).
    #[arg(long, default_value_t = 20, value_name = "N", env = "NBGRADER_K8S_NOTARY_RECHECK_EVERY",
          value_parser = clap::value_parser!(u64).range(1..))]
    pub recheck_every: u64,
    /// One pass (a recheck pass), then exit.
    #[arg(long)]
    pub once: bool,
    /// Keep a copy of each new sealed submission of COURSE in {course}/.nbk8s-notary/sealed/
    /// (repeatable).
    #[arg(long, value_name = "COURSE")]
    pub keep_sealed: Vec<String>,
    /// Warn when a student's inbox holds more than SIZE (1G, 500M, 200k or bytes); with
    /// COURSE= for one course (repeatable); 0 never warns.
    #[arg(long, value_name = "[COURSE=]SIZE", default_value = "1G")]
    pub inbox_warn: Vec<String>,
    /// Digest at most this many files of one submission (a larger one is not sealed and is
    /// reported).
    #[arg(long, default_value_t = 10_000, value_name = "N")]
    pub max_files: u64,
    /// Digest at most this many bytes of one submission.
    #[arg(long, default_value = "2G", value_name = "SIZE")]
    pub max_bytes: String,
    /// Digest (seal or re-digest) at most N submissions of one inbox per pass; the rest
    /// wait for the next pass, so every other student is sealed whatever one inbox holds.
    #[arg(long, default_value_t = 32, value_name = "N", env = "NBGRADER_K8S_NOTARY_PER_INBOX",
          value_parser = clap::value_parser!(u64).range(1..))]
    pub per_inbox: u64,
    /// Threads doing round trips to the volume in parallel.
    #[arg(long, default_value_t = 16, value_name = "N")]
    pub workers: usize,
    /// Serve /healthz and Prometheus /metrics on ADDR:PORT (e.g. 0.0.0.0:9150).
    #[arg(long, value_name = "ADDR:PORT", env = "NBGRADER_K8S_NOTARY_LISTEN")]
    pub listen: Option<String>,
    /// Only warnings and errors in the log (no line per pass).
    #[arg(long)]
    pub quiet: bool,
    /// Take each student's deadline snapshot this long after their due date (published
    /// due dates and extensions; 0s: at the due date).
    #[arg(long, default_value = "5m", value_parser = crate::duration::parse,
          env = "NBGRADER_K8S_NOTARY_DEADLINE_GRACE")]
    pub deadline_grace: Duration,
    /// A submission counts as on time for a snapshot when it claims a time at or before the
    /// due date and was sealed at most this long after that claim.
    #[arg(long, default_value = "300s", value_parser = crate::duration::parse,
          env = "NBGRADER_K8S_NOTARY_BACKDATE_TOLERANCE")]
    pub backdate_tolerance: Duration,
    /// How long the volume's clients may cache attributes (NFS `actimeo`, or `acdirmax`):
    /// a pass is taken at each due date and again this long after it; the second is the
    /// pass that covers the due date (every submission there at the due date is sealed by
    /// its end; one sealed later that claims an earlier time is late).
    #[arg(long, default_value = "3s", value_parser = crate::duration::parse,
          env = "NBGRADER_K8S_NOTARY_ATTR_CACHE")]
    pub attr_cache: Duration,
}

/// How long after the attribute cache the pass covering a due date is woken (the sleep's
/// own slack).
const COVER_MARGIN: Duration = Duration::from_millis(250);

/// One course as the running notary holds it.
struct CourseRun {
    course: Course,
    dir: PathBuf,
    ledger: Ledger,
    state: CourseState,
    watch: Watch,
    /// Students whose confirmation is behind the ledger (None: every student with seals).
    lagging: Option<BTreeSet<String>>,
    index_behind: bool,
    deadlines: DeadlineWatch,
    /// Looks and writes that failed in the last pass (each logged).
    errors: u64,
    /// Inboxes left with work for the next pass.
    deferred: u64,
}

/// The settings of a run, parsed.
#[derive(Debug, Clone)]
pub struct Settings {
    args: RunArgs,
    max_bytes: u64,
    warn_all: u64,
    warn_each: BTreeMap<String, u64>,
}

impl Settings {
    /// Parse `args`.
    pub fn new(args: &RunArgs) -> anyhow::Result<Settings> {
        let mut warn_all = 0;
        let mut warn_each = BTreeMap::new();
        for v in &args.inbox_warn {
            match v.split_once('=') {
                Some((c, size)) => {
                    if let Some(why) = problem(IdKind::Course, c) {
                        bail!("--inbox-warn {v:?}: invalid course id {c:?}: {why}");
                    }
                    warn_each.insert(c.to_string(), parse_size(size).context("--inbox-warn")?);
                }
                None => warn_all = parse_size(v).context("--inbox-warn")?,
            }
        }
        for c in &args.keep_sealed {
            if let Some(why) = problem(IdKind::Course, c) {
                bail!("--keep-sealed {c:?}: invalid course id: {why}");
            }
        }
        Ok(Settings {
            max_bytes: parse_size(&args.max_bytes).context("--max-bytes")?,
            args: args.clone(),
            warn_all,
            warn_each,
        })
    }
}

/// The notary: every course it watches.
pub struct Notary {
    root: PathBuf,
    home: PathBuf,
    settings: Settings,
    courses: BTreeMap<String, CourseRun>,
    passes: u64,
    /// Courses that could not be opened in the last pass.
    skipped: usize,
    /// What `/metrics` shows.
    pub metrics: Arc<Mutex<Metrics>>,
}

impl Notary {
    /// A notary over `root`.
    pub fn new(root: &Path, settings: Settings) -> anyhow::Result<Notary> {
        let home = notary_home(root);
        match exchange_core::beneath::mkdir(&home, 0o755) {
            Err(e) if e.kind() != std::io::ErrorKind::AlreadyExists => {
                return Err(e).with_context(|| {
                    format!("cannot create the notary directory {}", home.display())
                })
            }
            _ => {}
        }
        if walk::kind_of(&home)? != Some(Kind::Dir) {
            bail!("{} must be a real directory", home.display());
        }
        Ok(Notary {
            root: root.to_path_buf(),
            home,
            settings,
            courses: BTreeMap::new(),
            passes: 0,
            skipped: 0,
            metrics: Arc::new(Mutex::new(Metrics::default())),
        })
    }

    /// The course ids under the root (real directories, valid ids, no dot-names).
    fn course_ids(&self) -> Vec<String> {
        let mut ids: Vec<String> = walk::children(&self.root)
            .unwrap_or_default()
            .into_iter()
            .filter(|c| c.kind == Kind::Dir && problem(IdKind::Course, &c.name).is_none())
            .map(|c| c.name)
            .collect();
        ids.sort();
        ids
    }

    fn open_course(&self, id: &str) -> anyhow::Result<CourseRun> {
        let course = Course::new(&self.root, id)?;
        let dir = self.home.join(id);
        let opened = Ledger::open(&dir)?;
        let mut ledger = opened.ledger;
        if opened.cut > 0 {
            log(
                "warning",
                "torn_line_cut",
                json!({"course": id, "bytes": opened.cut, "ledger": dir.join(super::ledger::LEDGER_FILE)}),
            );
        }
        if let Some(why) = &opened.broken {
            log(
                "error",
                "ledger_broken",
                json!({"course": id, "why": why, "hint": "run `nbgrader-k8s notary verify`"}),
            );
        }
        let mut state = CourseState::default();
        for rec in &opened.records {
            state.apply(rec);
        }
        let resume = publish::read_state(&dir);
        let lagging = resume.map(|point| {
            opened
                .records
                .iter()
                .skip(point.published as usize)
                .filter_map(|r| r.get("student").and_then(Value::as_str))
                .map(str::to_string)
                .collect()
        });
        if ledger.len() > 0 {
            let mut fields = Map::new();
            fields.insert("time".into(), now().into());
            fields.insert("event".into(), "restart".into());
            if opened.cut > 0 {
                fields.insert("cut_bytes".into(), opened.cut.into());
            }
            for rec in ledger.append(vec![fields])? {
                state.apply(&rec);
            }
        }
        Ok(CourseRun {
            course,
            dir,
            ledger,
            state,
            watch: Watch::default(),
            lagging,
            index_behind: true,
            deadlines: DeadlineWatch::default(),
            errors: 0,
            deferred: 0,
        })
    }

    /// One pass over every course; returns the records appended.
    pub fn pass(&mut self) -> u64 {
        let started = Instant::now();
        let cover = Cover {
            started: chrono::Utc::now().naive_utc(),
            attr_cache: chrono_secs(self.settings.args.attr_cache),
        };
        metrics::progress();
        self.metrics.lock().expect("metrics lock").pass_started_unix =
            Some(chrono::Utc::now().timestamp());
        let recheck = self.passes % self.settings.args.recheck_every == 0;
        let ids = self.course_ids();
        let mut appended = 0;
        self.skipped = 0;
        for id in &ids {
            if !self.courses.contains_key(id) {
                match self.open_course(id) {
                    Ok(run) => {
                        self.courses.insert(id.clone(), run);
                        metrics::progress();
                    }
                    Err(e) => {
                        log(
                            "error",
                            "course_skipped",
                            json!({"course": id, "why": format!("{e:#}")}),
                        );
                        self.skipped += 1;
                        continue;
                    }
                }
            }
            let mut settings = self.pass_settings(id, recheck);
            let snaps = self.snap_settings();
            let run = self.courses.get_mut(id).expect("opened above");
            settings.sealed_before = run.ledger.len();
            run.errors = 0;
            run.deferred = 0;
            appended += course_pass(id, run, &settings, snaps, cover);
            if recheck {
                settings.redigest = true;
                appended += course_pass(id, run, &settings, snaps, cover);
            }
        }
        self.courses.retain(|id, _| ids.binary_search(id).is_ok());
        self.passes += 1;
        metrics::progress();
        let took = started.elapsed();
        self.update_metrics(took, appended);
        log(
            "info",
            "pass",
            json!({"pass": self.passes, "recheck": recheck, "courses": ids.len(),
                   "records": appended, "seconds": took.as_secs_f64()}),
        );
        appended
    }

    fn pass_settings(&self, id: &str, recheck: bool) -> PassSettings {
        PassSettings {
            workers: self.settings.args.workers,
            max_files: self.settings.args.max_files,
            max_bytes: self.settings.max_bytes,
            per_inbox: self.settings.args.per_inbox,
            keep_sealed: self.settings.args.keep_sealed.iter().any(|c| c == id),
            recheck,
            redigest: false,
            sealed_before: 0,
            warn_bytes: *self
                .settings
                .warn_each
                .get(id)
                .unwrap_or(&self.settings.warn_all),
        }
    }

    fn snap_settings(&self) -> SnapSettings {
        let secs = |d: Duration| chrono::Duration::seconds(d.as_secs().min(i64::MAX as u64) as i64);
        SnapSettings {
            grace: secs(self.settings.args.deadline_grace),
            tolerance: secs(self.settings.args.backdate_tolerance),
        }
    }

    /// The next instant after `now` a pass is due for a due date of some course: the due
    /// date itself, the pass covering it (the attribute cache later) and its snapshot (the
    /// grace later).
    pub fn next_wake(&self, now: chrono::NaiveDateTime) -> Option<chrono::NaiveDateTime> {
        let args = &self.settings.args;
        let offsets = [
            chrono::Duration::milliseconds(50),
            chrono_secs(args.attr_cache + COVER_MARGIN),
            chrono_secs(args.deadline_grace) + chrono::Duration::milliseconds(50),
        ];
        self.courses
            .values()
            .flat_map(|run| run.deadlines.due_times())
            .flat_map(|due| offsets.map(|o| due.checked_add_signed(o)))
            .flatten()
            .filter(|at| *at > now)
            .min()
    }

    fn update_metrics(&self, took: Duration, appended: u64) {
        let mut m = self.metrics.lock().expect("metrics lock");
        m.passes = self.passes;
        m.last_pass_seconds = took.as_secs_f64();
        m.last_pass_unix = chrono::Utc::now().timestamp();
        m.records_total += appended;
        m.interval_seconds = self.settings.args.interval.as_secs_f64();
        m.courses_skipped = self.skipped as u64;
        m.pass_started_unix = None;
        m.courses = self
            .courses
            .iter()
            .map(|(id, run)| {
                let (sealed, changed, vanished) = run.state.counts();
                metrics::CourseMetrics {
                    course: id.clone(),
                    sealed,
                    changed,
                    vanished,
                    ledger_bytes: run.ledger.bytes(),
                    errors: run.errors,
                    largest_bytes: observe::largest(&run.watch, 1)
                        .first()
                        .map_or(0, |(_, u)| u.bytes),
                    too_big: run
                        .watch
                        .inboxes
                        .values()
                        .map(|i| i.too_big.len() as u64)
                        .sum(),
                    deferred: run.deferred,
                }
            })
            .collect();
    }
}

/// A std duration as chrono's (saturating).
fn chrono_secs(d: Duration) -> chrono::Duration {
    chrono::Duration::from_std(d).unwrap_or(chrono::Duration::MAX)
}

/// What a pass needs to record the due dates it covers.
#[derive(Debug, Clone, Copy)]
struct Cover {
    /// When the pass started (the notary's clock).
    started: chrono::NaiveDateTime,
    /// `--attr-cache`.
    attr_cache: chrono::Duration,
}

/// The `due_pass` records of this pass for the course: every due date at least the
/// attribute cache before the pass started and not covered yet, when the pass looked at
/// every inbox and sealed all it found (no look failed, no inbox deferred). What was there
/// at such a due date was sealed by now, so a later seal contradicts a claim before it.
fn cover_due_dates(
    run: &CourseRun,
    observed: &observe::Observed,
    cover: Cover,
) -> Vec<Map<String, Value>> {
    if observed.errors > 0 || observed.deferred > 0 {
        return Vec::new();
    }
    let started = exchange_core::deadlines::rfc3339(&cover.started);
    run.deadlines
        .due_times()
        .into_iter()
        .filter(|due| {
            due.checked_add_signed(cover.attr_cache)
                .is_some_and(|at| at <= cover.started)
        })
        .map(|due| exchange_core::deadlines::rfc3339(&due))
        .filter(|due| !run.state.due_passes.contains_key(due))
        .map(|due| observe::record("due_pass", json!({"due": due, "started": started})))
        .collect()
}

/// One pass over one course: observe, append, record the due dates covered, take the
/// deadline snapshots due, publish.
fn course_pass(
    id: &str,
    run: &mut CourseRun,
    settings: &PassSettings,
    snaps: SnapSettings,
    cover: Cover,
) -> u64 {
    let mut observed = observe::observe(&run.course, id, &run.state, &mut run.watch, settings);
    run.errors += observed.errors;
    run.deferred = observed.deferred;
    metrics::progress();
    run.index_behind |= observed.copies_broken;
    let records = std::mem::take(&mut observed.records);
    let Some(mut written) = append(id, run, records) else {
        return 0;
    };
    if let Some(root) = run.course.dir().parent() {
        run.deadlines.refresh(root, id, &observed);
    }
    let covered = cover_due_dates(run, &observed, cover);
    if !covered.is_empty() {
        written.extend(append(id, run, covered).unwrap_or_default());
    }
    let now = chrono::Utc::now().naive_utc();
    let snapshots = run.deadlines.take(&run.course, &run.state, snaps, now);
    if !snapshots.is_empty() {
        written.extend(append(id, run, snapshots).unwrap_or_default());
    }
    let mut affected: BTreeSet<String> = BTreeSet::new();
    for rec in &written {
        log_record(id, rec);
        let event = rec.get("event").and_then(Value::as_str).unwrap_or_default();
        if matches!(
            event,
            "seal" | "changed" | "vanished" | "removed" | "returned"
        ) {
            if let Some(s) = rec.get("student").and_then(Value::as_str) {
                affected.insert(s.to_string());
            }
        }
    }
    publish_derived(id, run, affected, !written.is_empty(), settings.workers);
    if observed.usage_looked {
        let usage = observe::largest(&run.watch, usize::MAX);
        if let Err(why) = publish::write_usage(&run.course, id, &usage, settings.warn_bytes) {
            run.errors += 1;
            log("warning", "write_failed", json!({"course": id, "why": why}));
        }
    }
    written.len() as u64
}

/// Append `records` to the course's ledger and take them into its state; None (logged)
/// when the append failed: nothing was recorded, and the same observations are made again
/// next pass.
fn append(id: &str, run: &mut CourseRun, records: Vec<Map<String, Value>>) -> Option<Vec<Value>> {
    match run.ledger.append(records) {
        Ok(written) => {
            for rec in &written {
                run.state.apply(rec);
            }
            Some(written)
        }
        Err(e) => {
            run.errors += 1;
            log(
                "error",
                "append_failed",
                json!({"course": id, "why": format!("{e:#}")}),
            );
            run.watch = Watch::default();
            run.deadlines = DeadlineWatch::default();
            None
        }
    }
}

/// The log line of a record appended.
fn log_record(id: &str, rec: &Value) {
    match rec.get("event").and_then(Value::as_str).unwrap_or_default() {
        "seal" => log(
            "info",
            "sealed",
            json!({"course": id, "student": rec["student"],
                   "submission": rec["submission"], "receipt": rec["receipt"]}),
        ),
        event @ ("changed" | "vanished") => log(
            "warning",
            event,
            json!({"course": id, "student": rec["student"], "submission": rec["submission"]}),
        ),
        "returned" => log(
            if rec.get("matches").and_then(Value::as_bool) == Some(true) {
                "info"
            } else {
                "warning"
            },
            "returned",
            json!({"course": id, "student": rec["student"], "submission": rec["submission"],
                   "matches": rec["matches"]}),
        ),
        "due_pass" => log(
            "info",
            "due_pass",
            json!({"course": id, "due": rec["due"], "started": rec["started"],
                   "completed": rec["time"]}),
        ),
        "deadline_snapshot" => log(
            if rec.get("not_kept").is_some() {
                "warning"
            } else {
                "info"
            },
            "deadline_snapshot",
            json!({"course": id, "student": rec["student"], "assignment": rec["assignment"],
                   "due": rec["due"], "submission": rec["submission"], "copy": rec["copy"],
                   "not_kept": rec.get("not_kept")}),
        ),
        _ => {}
    }
}

/// Bring index.json and the confirmations of `affected` (and of students left behind by an
/// earlier run) up to the ledger, then record that in state.json.
fn publish_derived(
    id: &str,
    run: &mut CourseRun,
    mut affected: BTreeSet<String>,
    appended: bool,
    workers: usize,
) {
    match run.lagging.take() {
        Some(lagging) => affected.extend(lagging),
        None => affected.extend(run.state.seals.keys().map(|(s, _)| s.clone())),
    }
    run.lagging = Some(BTreeSet::new());
    if !(appended || run.index_behind || !affected.is_empty()) {
        return;
    }
    let head = run.ledger.head().to_string();
    let seq = run.ledger.len().checked_sub(1);
    let mut failed = BTreeSet::new();
    if let Err(why) = publish::write_index(&run.course, id, &run.state, &head, seq) {
        run.errors += 1;
        log("warning", "write_failed", json!({"course": id, "why": why}));
        run.index_behind = true;
    } else {
        run.index_behind = false;
    }
    let students: Vec<String> = affected.into_iter().collect();
    let results = exchange_core::par::map(&students, workers, |s| {
        publish::write_confirmation(&run.course, id, s, &run.state, &head, seq)
    });
    for (s, result) in students.into_iter().zip(results) {
        if let Err(why) = result {
            run.errors += 1;
            log(
                "warning",
                "write_failed",
                json!({"course": id, "student": s, "why": why}),
            );
            failed.insert(s);
        }
    }
    let all_done = failed.is_empty() && !run.index_behind;
    run.lagging = Some(failed);
    if all_done {
        let point = ResumePoint {
            published: run.ledger.len(),
        };
        if let Err(why) = publish::write_state(&run.dir, &point, &head) {
            run.errors += 1;
            log("warning", "write_failed", json!({"course": id, "why": why}));
        }
    }
}

/// Run `notary run`.
pub fn run(root: &Path, args: &RunArgs) -> anyhow::Result<u8> {
    super::log::set_quiet(args.quiet);
    let settings = Settings::new(args)?;
    let mut notary = Notary::new(root, settings)?;
    if let Some(addr) = &args.listen {
        metrics::serve(addr, Arc::clone(&notary.metrics))?;
    }
    log(
        "info",
        "start",
        json!({"root": root, "interval_seconds": args.interval.as_secs_f64(),
               "recheck_every": args.recheck_every, "keep_sealed": args.keep_sealed,
               "deadline_grace_seconds": args.deadline_grace.as_secs(),
               "backdate_tolerance_seconds": args.backdate_tolerance.as_secs(),
               "attr_cache_seconds": args.attr_cache.as_secs_f64(),
               "listen": args.listen}),
    );
    loop {
        let started = Instant::now();
        notary.pass();
        if args.once {
            return Ok(u8::from(notary.skipped > 0));
        }
        let mut rest = args.interval.saturating_sub(started.elapsed());
        // A due date (or its covering pass, or its snapshot) before then gets its own pass.
        let now = chrono::Utc::now().naive_utc();
        if let Some(wake) = notary.next_wake(now) {
            rest = rest.min((wake - now).to_std().unwrap_or_default());
        }
        std::thread::sleep(rest);
    }
}
