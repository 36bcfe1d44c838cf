//! The command line: mount, report on signals, unmount.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::Duration;

use anyhow::{bail, Context};
use clap::Parser;
use fuser::{Config, MountOption, Session, SessionACL};
use serde_json::{json, Map, Value};
use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM, SIGUSR1};
use signal_hook::iterator::Signals;

use crate::fs::{Fs, Settings};
use crate::stats::Stats;

/// Mount SOURCE at MOUNTPOINT through FUSE, adding LATENCY to every request.
#[derive(Debug, Parser)]
#[command(name = "latencyfs", version, about, long_about = None)]
pub struct Args {
    /// The directory to serve.
    pub source: PathBuf,
    /// Where to mount it (an existing directory).
    pub mountpoint: PathBuf,
    /// Milliseconds every request waits before it is served (one network round trip).
    #[arg(long, default_value_t = 1.0)]
    pub latency_ms: f64,
    /// Seconds the kernel may cache entries, attributes and negative lookups (NFS's
    /// actimeo). 0 makes every access ask the server.
    #[arg(long, default_value_t = 1.0)]
    pub attr_timeout_s: f64,
    /// Requests served at once (server threads).
    #[arg(long, default_value_t = 16)]
    pub threads: usize,
    /// Do not offer READDIRPLUS (listing with attributes in one request).
    #[arg(long)]
    pub no_readdirplus: bool,
    /// Also write every counts snapshot to this file.
    #[arg(long)]
    pub stats_file: Option<PathBuf>,
    /// Let other users than the mounting one use the mount (needs root or
    /// `user_allow_other` in /etc/fuse.conf).
    #[arg(long)]
    pub allow_other: bool,
    /// Unmount and exit when the parent process dies (for harnesses).
    #[arg(long)]
    pub die_with_parent: bool,
}

impl Args {
    fn settings(&self) -> anyhow::Result<Settings> {
        let secs = |value: f64, what: &str| {
            Duration::try_from_secs_f64(value).with_context(|| format!("invalid {what}: {value}"))
        };
        if self.threads == 0 {
            bail!("--threads must be at least 1");
        }
        Ok(Settings {
            latency: secs(self.latency_ms / 1000.0, "--latency-ms")?,
            ttl: secs(self.attr_timeout_s, "--attr-timeout-s")?,
            readdirplus: !self.no_readdirplus,
        })
    }

    fn describe(&self) -> Map<String, Value> {
        let mut m = Map::new();
        m.insert("latency_ms".into(), json!(self.latency_ms));
        m.insert("attr_timeout_s".into(), json!(self.attr_timeout_s));
        m.insert("threads".into(), json!(self.threads));
        m.insert("readdirplus".into(), json!(!self.no_readdirplus));
        m.insert("mountpoint".into(), json!(self.mountpoint));
        m
    }
}

/// Mount, serve until unmounted or signalled, print the final counts.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let settings = args.settings()?;
    if args.die_with_parent {
        rustix::process::set_parent_process_death_signal(Some(rustix::process::Signal::TERM))
            .context("asking to be told when the parent dies")?;
    }
    // Modes arrive already masked by the caller's umask; do not mask them twice.
    rustix::process::umask(rustix::fs::Mode::empty());

    let fs = Fs::new(&args.source, settings)
        .with_context(|| format!("serving {}", args.source.display()))?;
    let reporter = Reporter {
        stats: fs.stats(),
        file: args.stats_file.clone(),
        extra: args.describe(),
    };
    let mut config = Config::default();
    config.mount_options = vec![
        MountOption::FSName(format!("latencyfs:{}", args.source.display())),
        MountOption::Subtype("latencyfs".into()),
        MountOption::DefaultPermissions,
        MountOption::NoAtime,
    ];
    config.acl = if args.allow_other {
        SessionACL::All
    } else {
        SessionACL::Owner
    };
    config.n_threads = Some(args.threads);
    config.clone_fd = true;

    let mut session = Session::new(fs, &args.mountpoint, &config)
        .with_context(|| format!("mounting on {}", args.mountpoint.display()))?;
    let mut unmounter = session.unmount_callable();
    let mountpoint = args.mountpoint.clone();
    let stopping = Arc::new(AtomicBool::new(false));
    let stop_requested = Arc::clone(&stopping);
    let mut signals =
        Signals::new([SIGUSR1, SIGTERM, SIGINT, SIGHUP]).context("installing signal handlers")?;
    let signal_handle = signals.handle();
    let signal_reporter = reporter.clone();
    let listener = thread::Builder::new()
        .name("signals".into())
        .spawn(move || {
            for signal in signals.forever() {
                if signal == SIGUSR1 {
                    signal_reporter.report("stats");
                    continue;
                }
                stop_requested.store(true, Ordering::SeqCst);
                if let Err(err) = unmounter.unmount() {
                    eprintln!("latencyfs: unmount failed ({err}); detaching lazily");
                    detach(&mountpoint);
                }
                break;
            }
        })
        .context("starting the signal thread")?;

    reporter.report("mounted");
    let served = session.run();
    signal_handle.close();
    let _ = listener.join();
    reporter.report("final");
    match served {
        // Requests still in flight when we unmounted find the connection gone: that is
        // the end we asked for, not a failure.
        Err(err) if stopping.load(Ordering::SeqCst) && is_disconnect(&err) => {}
        other => other.context("serving requests")?,
    }
    Ok(ExitCode::SUCCESS)
}

fn is_disconnect(err: &std::io::Error) -> bool {
    let gone = [rustix::io::Errno::CONNABORTED, rustix::io::Errno::NODEV];
    gone.iter()
        .any(|e| err.raw_os_error() == Some(e.raw_os_error()))
}

fn detach(mountpoint: &Path) {
    if let Err(err) = rustix::mount::unmount(mountpoint, rustix::mount::UnmountFlags::DETACH) {
        eprintln!("latencyfs: lazy unmount failed too: {err}");
    }
}

/// Prints (and optionally saves) counts snapshots.
#[derive(Clone, Debug)]
struct Reporter {
    stats: Arc<Stats>,
    file: Option<PathBuf>,
    extra: Map<String, Value>,
}

impl Reporter {
    fn report(&self, event: &str) {
        let line = self.stats.snapshot(event, &self.extra).to_string();
        {
            let mut out = std::io::stdout().lock();
            let _ = writeln!(out, "{line}");
            let _ = out.flush();
        }
        if let Some(path) = &self.file {
            let tmp = path.with_extension("tmp");
            let saved = fs::write(&tmp, format!("{line}\n")).and_then(|()| fs::rename(&tmp, path));
            if let Err(err) = saved {
                eprintln!("latencyfs: cannot write {}: {err}", path.display());
            }
        }
    }
}
