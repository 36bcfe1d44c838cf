//! The hash-chained ledger of one course: `{root}/.nbk8s-notary/{course}/ledger.jsonl`
//! (docs/notary.md §1).
//!
//! One JSON object per line. Each carries `seq` (0-based, +1 each) and `prev`, the SHA-256 of
//! the previous line's bytes (64 zeros for the first), so editing, deleting or reordering a
//! line breaks the chain at that line. A pass's records are appended with one `write` on an
//! `O_APPEND` descriptor and an `fsync`: a kill leaves at most one torn last line, which
//! [`Ledger::open`] cuts off (the pass that wrote it is then redone, since what the notary
//! knows is replayed from the complete lines only).

use std::fs::File;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use exchange_core::beneath;
use exchange_core::receipt::sha256_hex;
use rustix::fs::{Mode, OFlags};
use serde_json::{Map, Value};

/// `prev` of the first record.
pub const ZERO_HEAD: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// The ledger's file name in its course directory.
pub const LEDGER_FILE: &str = "ledger.jsonl";

/// An open ledger, positioned to append.
#[derive(Debug)]
pub struct Ledger {
    path: PathBuf,
    file: File,
    /// Number of complete records.
    len: u64,
    /// Hash of the last line (ZERO_HEAD when empty).
    head: String,
    /// Bytes of the complete lines.
    bytes: u64,
}

/// What [`Ledger::open`] found.
#[derive(Debug)]
pub struct Opened {
    /// The ledger, ready to append.
    pub ledger: Ledger,
    /// Every complete record, in order, to replay.
    pub records: Vec<Value>,
    /// Bytes of a torn last line that were cut off (0 when none).
    pub cut: u64,
    /// Where the chain is broken (edited by hand), if it is: `notary verify` says more.
    pub broken: Option<String>,
}

impl Ledger {
    /// Open (creating it and its directory) the ledger in `dir`, cutting off a torn last line.
    pub fn open(dir: &Path) -> anyhow::Result<Opened> {
        // Beneath the exchange root, no link in any component (the ledger directory
        // included): a link there must not make the notary write elsewhere.
        match beneath::mkdir(dir, 0o755) {
            Err(e) if e.kind() != std::io::ErrorKind::AlreadyExists => {
                return Err(e).with_context(|| {
                    format!("cannot create the notary directory {}", dir.display())
                })
            }
            _ => {}
        }
        let path = dir.join(LEDGER_FILE);
        let flags = OFlags::RDWR | OFlags::APPEND | OFlags::CREATE;
        let mut file = beneath::open(&path, flags, Mode::from_raw_mode(0o644))
            .map(File::from)
            .with_context(|| format!("cannot open the ledger {}", path.display()))?;
        if !file.metadata().is_ok_and(|m| m.is_file()) {
            bail!("the ledger {} is not a regular file", path.display());
        }
        // One writer per ledger: a second notary (or a `run --once` beside the Deployment)
        // would interleave two chains. Where the volume has no locks, say so and go on.
        match rustix::fs::flock(&file, rustix::fs::FlockOperation::NonBlockingLockExclusive) {
            Ok(()) => {}
            Err(rustix::io::Errno::WOULDBLOCK) => bail!(
                "another notary is writing {} (its lock is held): run only one",
                path.display()
            ),
            Err(e) => super::log::log(
                "warning",
                "no_lock",
                serde_json::json!({"ledger": path, "why": e.to_string()}),
            ),
        }
        let mut text = Vec::new();
        file.read_to_end(&mut text)
            .with_context(|| format!("cannot read the ledger {}", path.display()))?;
        let scanned = scan(&text);
        let cut = text.len() as u64 - scanned.good_bytes;
        if cut > 0 {
            file.set_len(scanned.good_bytes)
                .and_then(|()| file.sync_all())
                .with_context(|| format!("cannot cut the torn last line of {}", path.display()))?;
        }
        let broken = check_chain(&scanned.lines).err();
        let head = scanned
            .lines
            .last()
            .map_or_else(|| ZERO_HEAD.to_string(), |l| sha256_hex(&l.bytes));
        let records: Vec<Value> = scanned.lines.into_iter().map(|l| l.record).collect();
        Ok(Opened {
            ledger: Ledger {
                path,
                file,
                len: records.len() as u64,
                head,
                bytes: scanned.good_bytes,
            },
            records,
            cut,
            broken,
        })
    }

    /// Append `records` (objects holding `time`, `event` and their fields): each gets its
    /// `seq` first and `prev` last. One write, then fsync; on failure the file is cut back
    /// to what it held, so no torn line stays behind. Returns the records as written.
    pub fn append(&mut self, records: Vec<Map<String, Value>>) -> anyhow::Result<Vec<Value>> {
        if records.is_empty() {
            return Ok(Vec::new());
        }
        let mut buf = Vec::new();
        let mut written = Vec::new();
        let (mut len, mut head) = (self.len, self.head.clone());
        for fields in records {
            let mut rec = Map::new();
            rec.insert("seq".into(), Value::from(len));
            rec.extend(fields);
            rec.insert("prev".into(), Value::from(head.clone()));
            let line = serde_json::to_string(&rec).context("cannot serialise a record")?;
            head = sha256_hex(line.as_bytes());
            len += 1;
            buf.extend_from_slice(line.as_bytes());
            buf.push(b'\n');
            written.push(Value::Object(rec));
        }
        let result = self
            .file
            .write_all(&buf)
            .and_then(|()| self.file.sync_data());
        if let Err(e) = result {
            // Cut a partial write back off, so the next append starts on a line boundary.
            let _ = self.file.set_len(self.bytes);
            return Err(e).with_context(|| format!("cannot append to {}", self.path.display()));
        }
        self.len = len;
        self.head = head;
        self.bytes += buf.len() as u64;
        Ok(written)
    }

    /// Hash of the last record's line (the chain head).
    pub fn head(&self) -> &str {
        &self.head
    }

    /// Number of records.
    pub fn len(&self) -> u64 {
        self.len
    }

    /// Size of the file in bytes.
    pub fn bytes(&self) -> u64 {
        self.bytes
    }
}

/// One complete line of a ledger.
#[derive(Debug, Clone)]
pub struct Line {
    /// 1-based line number.
    pub number: usize,
    /// Its bytes, without the newline.
    pub bytes: Vec<u8>,
    /// Its JSON (Null when it does not parse: only possible before the last line).
    pub record: Value,
}

/// A ledger's text split into complete lines.
#[derive(Debug)]
pub struct Scanned {
    /// Complete lines (ended by a newline and, for the last, parsing as an object).
    pub lines: Vec<Line>,
    /// Bytes those lines take.
    pub good_bytes: u64,
}

/// Split `text` into lines; a last piece without a newline, or a last line that is not a
/// JSON object, is torn and left out.
pub fn scan(text: &[u8]) -> Scanned {
    let mut lines = Vec::new();
    let mut offset = 0usize;
    let mut good_bytes = 0u64;
    while let Some(end) = text[offset..].iter().position(|b| *b == b'\n') {
        let bytes = text[offset..offset + end].to_vec();
        let record = serde_json::from_slice::<Value>(&bytes)
            .ok()
            .filter(Value::is_object)
            .unwrap_or(Value::Null);
        offset += end + 1;
        lines.push(Line {
            number: lines.len() + 1,
            bytes,
            record,
        });
        good_bytes = offset as u64;
    }
    if lines.last().is_some_and(|l| l.record.is_null()) {
        let last = lines.pop().expect("a last line");
        good_bytes -= last.bytes.len() as u64 + 1;
    }
    Scanned { lines, good_bytes }
}

/// Check `seq` and `prev` of every line; Err names the first break: the record and line
/// that were edited, deleted or moved.
pub fn check_chain(lines: &[Line]) -> Result<(), String> {
    let mut prev_hash = ZERO_HEAD.to_string();
    for (i, line) in lines.iter().enumerate() {
        let n = line.number;
        if line.record.is_null() {
            return Err(format!(
                "line {n} (record seq {i}) is not a JSON object: it was edited"
            ));
        }
        let seq = line.record.get("seq").and_then(Value::as_u64);
        if seq != Some(i as u64) {
            let found = seq.map_or("no seq".to_string(), |s| format!("seq {s}"));
            return Err(format!(
                "line {n} holds {found} where seq {i} belongs: a record before it was \
                 deleted or inserted, or the records were reordered"
            ));
        }
        let prev = line.record.get("prev").and_then(Value::as_str);
        if prev != Some(prev_hash.as_str()) {
            return Err(if i == 0 {
                format!("record seq 0 (line {n}) does not start the chain: it was edited")
            } else {
                format!(
                    "record seq {} (line {}) was edited: its hash is no longer the one \
                     record seq {i} (line {n}) carries",
                    i - 1,
                    n - 1
                )
            });
        }
        prev_hash = sha256_hex(&line.bytes);
    }
    Ok(())
}

/// Read the ledger of `dir` without changing it: its complete lines, and whether a torn last
/// line follows them (a notary may be writing it right now).
pub fn read(dir: &Path) -> anyhow::Result<(Scanned, bool)> {
    let path = dir.join(LEDGER_FILE);
    let text = match exchange_core::walk::read_regular(&path, u64::MAX) {
        Ok(Some(text)) => text,
        Ok(None) => bail!("no ledger at {}", path.display()),
        Err(e) => bail!("cannot read the ledger {}: {e}", path.display()),
    };
    let scanned = scan(&text);
    let torn = scanned.good_bytes < text.len() as u64;
    Ok((scanned, torn))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(kind: &str) -> Map<String, Value> {
        let mut m = Map::new();
        m.insert("time".into(), "t".into());
        m.insert("event".into(), kind.into());
        m
    }

    #[test]
    fn append_chains_and_reopen_resumes() {
        let t = tempfile::tempdir().unwrap();
        let mut opened = Ledger::open(t.path()).unwrap();
        assert_eq!(opened.ledger.head(), ZERO_HEAD);
        let written = opened.ledger.append(vec![event("a"), event("b")]).unwrap();
        assert_eq!(written[1]["seq"], 1);
        assert_eq!(written[0]["prev"], ZERO_HEAD);
        let head = opened.ledger.head().to_string();
        drop(opened);
        let again = Ledger::open(t.path()).unwrap();
        assert_eq!(again.records.len(), 2);
        assert_eq!(again.ledger.head(), head);
        assert_eq!(again.cut, 0);
        assert!(again.broken.is_none());
        let text = std::fs::read_to_string(t.path().join(LEDGER_FILE)).unwrap();
        let last = text.lines().last().unwrap();
        assert_eq!(sha256_hex(last.as_bytes()), head);
        assert!(last.starts_with("{\"seq\":1,\"time\""), "{last}");
    }

    #[test]
    fn torn_last_line_is_cut_on_open() {
        let t = tempfile::tempdir().unwrap();
        let mut opened = Ledger::open(t.path()).unwrap();
        opened.ledger.append(vec![event("a")]).unwrap();
        drop(opened); // its lock
        let good = std::fs::read(t.path().join(LEDGER_FILE)).unwrap();
        for torn in [&b"{\"seq\":1,\"ti"[..], b"not json\n"] {
            let mut bytes = good.clone();
            bytes.extend_from_slice(torn);
            std::fs::write(t.path().join(LEDGER_FILE), &bytes).unwrap();
            let again = Ledger::open(t.path()).unwrap();
            assert_eq!(again.cut, torn.len() as u64);
            assert_eq!(again.records.len(), 1);
            assert_eq!(std::fs::read(t.path().join(LEDGER_FILE)).unwrap(), good);
        }
    }

    #[test]
    fn one_writer_at_a_time() {
        let t = tempfile::tempdir().unwrap();
        let first = Ledger::open(t.path()).unwrap();
        let err = Ledger::open(t.path()).unwrap_err().to_string();
        assert!(err.contains("another notary is writing"), "{err}");
        drop(first);
        assert!(Ledger::open(t.path()).is_ok());
    }

    #[test]
    fn chain_breaks_name_the_record() {
        let t = tempfile::tempdir().unwrap();
        let mut opened = Ledger::open(t.path()).unwrap();
        opened
            .ledger
            .append(vec![event("a"), event("b"), event("c")])
            .unwrap();
        let text = std::fs::read_to_string(t.path().join(LEDGER_FILE)).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        let check = |lines: &[String]| {
            let joined: String = lines.iter().map(|l| format!("{l}\n")).collect();
            check_chain(&scan(joined.as_bytes()).lines)
        };
        let mut edited: Vec<String> = lines.iter().map(|s| s.to_string()).collect();
        edited[1] = edited[1].replace("\"b\"", "\"x\"");
        let err = check(&edited).unwrap_err();
        assert!(err.contains("record seq 1 (line 2) was edited"), "{err}");
        let mut deleted: Vec<String> = lines.iter().map(|s| s.to_string()).collect();
        deleted.remove(1);
        let err = check(&deleted).unwrap_err();
        assert!(err.contains("line 2 holds seq 2"), "{err}");
        let mut swapped: Vec<String> = lines.iter().map(|s| s.to_string()).collect();
        swapped.swap(0, 1);
        assert!(check(&swapped).unwrap_err().contains("line 1 holds seq 1"));
        let whole: Vec<String> = lines.iter().map(|s| s.to_string()).collect();
        assert!(check(&whole).is_ok());
    }
}
