//! The FUSE side: every request is counted, waits the configured latency, then runs the
//! plain syscall on the backing directory (see [`crate::namespace`] and [`crate::handles`]).

use std::collections::HashMap;
use std::ffi::OsStr;
use std::fs::File;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime};

use fuser::{
    AccessFlags, BsdFileFlags, Errno, FileHandle, Filesystem, FopenFlags, Generation, INodeNo,
    InitFlags, KernelConfig, LockOwner, OpenFlags, RenameFlags, ReplyAttr, ReplyCreate, ReplyData,
    ReplyDirectory, ReplyDirectoryPlus, ReplyEmpty, ReplyEntry, ReplyOpen, ReplyStatfs, ReplyWrite,
    ReplyXattr, Request, TimeOrNow, WriteFlags,
};

use crate::attr::{backing_id, errno, negative_attr};
use crate::handles::DirEntry;
use crate::inodes::Inodes;
use crate::namespace::AttrChanges;
use crate::stats::{InFlight, Op, Stats};

/// How the filesystem behaves towards the kernel.
#[derive(Clone, Debug)]
pub struct Settings {
    /// Added to every request the kernel waits for.
    pub latency: Duration,
    /// How long the kernel may trust an entry or attributes (NFS's `actimeo`); also how long
    /// it remembers that a name does not exist, and whether file data stays cached across
    /// opens (only when this is not zero).
    pub ttl: Duration,
    /// Offer READDIRPLUS (names with attributes in one request), as NFS clients use it.
    pub readdirplus: bool,
}

/// Who made a request, to own what it creates.
#[derive(Clone, Copy, Debug)]
pub struct Owner {
    /// The caller's uid.
    pub uid: u32,
    /// The caller's gid.
    pub gid: u32,
}

impl From<&Request> for Owner {
    fn from(req: &Request) -> Self {
        Owner {
            uid: req.uid(),
            gid: req.gid(),
        }
    }
}

/// A passthrough over `root` that makes every request cost a round trip.
#[derive(Debug)]
pub struct Fs {
    root: PathBuf,
    settings: Settings,
    stats: Arc<Stats>,
    inodes: Mutex<Inodes>,
    pub(crate) files: Mutex<HashMap<u64, Arc<File>>>,
    pub(crate) dirs: Mutex<HashMap<u64, Arc<Vec<DirEntry>>>>,
    next_fh: AtomicU64,
    euid_is_root: bool,
}

impl Fs {
    /// A filesystem serving the directory `root`.
    pub fn new(root: &Path, settings: Settings) -> io::Result<Fs> {
        let root = root.canonicalize()?;
        let md = std::fs::metadata(&root)?;
        if !md.is_dir() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("{} is not a directory", root.display()),
            ));
        }
        Ok(Fs {
            inodes: Mutex::new(Inodes::new(root.clone(), backing_id(&md))),
            root,
            settings,
            stats: Arc::new(Stats::default()),
            files: Mutex::default(),
            dirs: Mutex::default(),
            next_fh: AtomicU64::new(1),
            euid_is_root: rustix::process::geteuid().is_root(),
        })
    }

    /// The request counters, to report while the session runs.
    pub fn stats(&self) -> Arc<Stats> {
        Arc::clone(&self.stats)
    }

    pub(crate) fn root(&self) -> &Path {
        &self.root
    }

    pub(crate) fn is_root(&self) -> bool {
        self.euid_is_root
    }

    pub(crate) fn inodes(&self) -> MutexGuard<'_, Inodes> {
        self.inodes.lock().expect("inode table lock")
    }

    pub(crate) fn next_handle(&self) -> u64 {
        self.next_fh.fetch_add(1, Ordering::Relaxed)
    }

    /// Count the request and make it wait, as a round trip to a server would.
    fn begin(&self, op: Op) -> InFlight<'_> {
        let guard = self.stats.begin(op);
        if op.is_round_trip() && !self.settings.latency.is_zero() {
            std::thread::sleep(self.settings.latency);
        }
        guard
    }

    fn ttl(&self) -> &Duration {
        &self.settings.ttl
    }

    fn reply_entry(&self, reply: ReplyEntry, result: Result<fuser::FileAttr, Errno>) {
        match result {
            Ok(attr) => reply.entry(self.ttl(), &attr, Generation(0)),
            Err(e) => reply.error(e),
        }
    }

    fn reply_empty(reply: ReplyEmpty, result: Result<(), Errno>) {
        match result {
            Ok(()) => reply.ok(),
            Err(e) => reply.error(e),
        }
    }

    fn open_flags(&self) -> FopenFlags {
        if self.settings.ttl.is_zero() {
            FopenFlags::empty()
        } else {
            FopenFlags::FOPEN_KEEP_CACHE
        }
    }
}

impl Filesystem for Fs {
    fn init(&mut self, _req: &Request, config: &mut KernelConfig) -> io::Result<()> {
        // Parallel lookups in one directory, open(O_TRUNC) in one request, data cache
        // dropped when a file changes: what an NFS client does too.
        let mut wanted = InitFlags::FUSE_PARALLEL_DIROPS
            | InitFlags::FUSE_ATOMIC_O_TRUNC
            | InitFlags::FUSE_AUTO_INVAL_DATA;
        if self.settings.readdirplus {
            wanted |= InitFlags::FUSE_DO_READDIRPLUS | InitFlags::FUSE_READDIRPLUS_AUTO;
        }
        let _ = config.add_capabilities(wanted & config.capabilities());
        Ok(())
    }

    fn lookup(&self, _req: &Request, parent: INodeNo, name: &OsStr, reply: ReplyEntry) {
        let _op = self.begin(Op::Lookup);
        match self.do_lookup(parent.0, name) {
            Err(e) if e == Errno::ENOENT && !self.settings.ttl.is_zero() => {
                reply.entry(self.ttl(), &negative_attr(), Generation(0))
            }
            result => self.reply_entry(reply, result),
        }
    }

    fn forget(&self, _req: &Request, ino: INodeNo, nlookup: u64) {
        let _op = self.begin(Op::Forget);
        self.inodes().forget(ino.0, nlookup);
    }

    fn getattr(&self, _req: &Request, ino: INodeNo, fh: Option<FileHandle>, reply: ReplyAttr) {
        let _op = self.begin(Op::Getattr);
        match self.do_getattr(ino.0, fh.map(|f| f.0)) {
            Ok(attr) => reply.attr(self.ttl(), &attr),
            Err(e) => reply.error(e),
        }
    }

    fn setattr(
        &self,
        _req: &Request,
        ino: INodeNo,
        mode: Option<u32>,
        uid: Option<u32>,
        gid: Option<u32>,
        size: Option<u64>,
        atime: Option<TimeOrNow>,
        mtime: Option<TimeOrNow>,
        _ctime: Option<SystemTime>,
        fh: Option<FileHandle>,
        _crtime: Option<SystemTime>,
        _chgtime: Option<SystemTime>,
        _bkuptime: Option<SystemTime>,
        _flags: Option<BsdFileFlags>,
        reply: ReplyAttr,
    ) {
        let _op = self.begin(Op::Setattr);
        let changes = AttrChanges {
            mode,
            uid,
            gid,
            size,
            atime,
            mtime,
            fh: fh.map(|f| f.0),
        };
        match self.do_setattr(ino.0, changes) {
            Ok(attr) => reply.attr(self.ttl(), &attr),
            Err(e) => reply.error(e),
        }
    }

    fn readlink(&self, _req: &Request, ino: INodeNo, reply: ReplyData) {
        let _op = self.begin(Op::Readlink);
        match self.do_readlink(ino.0) {
            Ok(target) => reply.data(&target),
            Err(e) => reply.error(e),
        }
    }

    fn mkdir(
        &self,
        req: &Request,
        parent: INodeNo,
        name: &OsStr,
        mode: u32,
        _umask: u32,
        reply: ReplyEntry,
    ) {
        let _op = self.begin(Op::Mkdir);
        self.reply_entry(reply, self.do_mkdir(parent.0, name, mode, req.into()));
    }

    fn unlink(&self, _req: &Request, parent: INodeNo, name: &OsStr, reply: ReplyEmpty) {
        let _op = self.begin(Op::Unlink);
        Self::reply_empty(reply, self.do_unlink(parent.0, name));
    }

    fn rmdir(&self, _req: &Request, parent: INodeNo, name: &OsStr, reply: ReplyEmpty) {
        let _op = self.begin(Op::Rmdir);
        Self::reply_empty(reply, self.do_rmdir(parent.0, name));
    }

    fn symlink(
        &self,
        req: &Request,
        parent: INodeNo,
        link_name: &OsStr,
        target: &Path,
        reply: ReplyEntry,
    ) {
        let _op = self.begin(Op::Symlink);
        self.reply_entry(
            reply,
            self.do_symlink(parent.0, link_name, target, req.into()),
        );
    }

    fn rename(
        &self,
        _req: &Request,
        parent: INodeNo,
        name: &OsStr,
        newparent: INodeNo,
        newname: &OsStr,
        flags: RenameFlags,
        reply: ReplyEmpty,
    ) {
        let _op = self.begin(Op::Rename);
        Self::reply_empty(
            reply,
            self.do_rename((parent.0, name), (newparent.0, newname), flags),
        );
    }

    fn link(
        &self,
        _req: &Request,
        _ino: INodeNo,
        _newparent: INodeNo,
        _newname: &OsStr,
        reply: ReplyEntry,
    ) {
        let _op = self.begin(Op::Other);
        reply.error(Errno::EPERM);
    }

    fn open(&self, _req: &Request, ino: INodeNo, flags: OpenFlags, reply: ReplyOpen) {
        let _op = self.begin(Op::Open);
        match self.do_open(ino.0, flags) {
            Ok(fh) => reply.opened(FileHandle(fh), self.open_flags()),
            Err(e) => reply.error(e),
        }
    }

    fn read(
        &self,
        _req: &Request,
        _ino: INodeNo,
        fh: FileHandle,
        offset: u64,
        size: u32,
        _flags: OpenFlags,
        _lock_owner: Option<LockOwner>,
        reply: ReplyData,
    ) {
        let _op = self.begin(Op::Read);
        match self.do_read(fh.0, offset, size) {
            Ok(data) => reply.data(&data),
            Err(e) => reply.error(e),
        }
    }

    fn write(
        &self,
        _req: &Request,
        _ino: INodeNo,
        fh: FileHandle,
        offset: u64,
        data: &[u8],
        _write_flags: WriteFlags,
        _flags: OpenFlags,
        _lock_owner: Option<LockOwner>,
        reply: ReplyWrite,
    ) {
        let _op = self.begin(Op::Write);
        match self.do_write(fh.0, offset, data) {
            Ok(n) => reply.written(n),
            Err(e) => reply.error(e),
        }
    }

    fn flush(
        &self,
        _req: &Request,
        _ino: INodeNo,
        _fh: FileHandle,
        _lock_owner: LockOwner,
        reply: ReplyEmpty,
    ) {
        // Writes went straight to the backing file: nothing is buffered here.
        let _op = self.begin(Op::Flush);
        reply.ok();
    }

    fn release(
        &self,
        _req: &Request,
        _ino: INodeNo,
        fh: FileHandle,
        _flags: OpenFlags,
        _lock_owner: Option<LockOwner>,
        _flush: bool,
        reply: ReplyEmpty,
    ) {
        let _op = self.begin(Op::Release);
        self.close_file(fh.0);
        reply.ok();
    }

    fn fsync(
        &self,
        _req: &Request,
        _ino: INodeNo,
        fh: FileHandle,
        datasync: bool,
        reply: ReplyEmpty,
    ) {
        let _op = self.begin(Op::Fsync);
        Self::reply_empty(reply, self.do_fsync(fh.0, datasync));
    }

    fn opendir(&self, _req: &Request, ino: INodeNo, _flags: OpenFlags, reply: ReplyOpen) {
        let _op = self.begin(Op::Opendir);
        match self.do_opendir(ino.0) {
            Ok(fh) => reply.opened(FileHandle(fh), FopenFlags::empty()),
            Err(e) => reply.error(e),
        }
    }

    fn readdir(
        &self,
        _req: &Request,
        ino: INodeNo,
        fh: FileHandle,
        offset: u64,
        mut reply: ReplyDirectory,
    ) {
        let _op = self.begin(Op::Readdir);
        let Some(entries) = self.dir(fh.0) else {
            return reply.error(Errno::EBADF);
        };
        for (i, entry) in entries.iter().enumerate().skip(offset as usize) {
            let d_ino = INodeNo(self.dirent_ino(ino.0, entry));
            if reply.add(d_ino, i as u64 + 1, entry.kind, &entry.name) {
                break;
            }
        }
        reply.ok();
    }

    fn readdirplus(
        &self,
        _req: &Request,
        ino: INodeNo,
        fh: FileHandle,
        offset: u64,
        mut reply: ReplyDirectoryPlus,
    ) {
        let _op = self.begin(Op::Readdirplus);
        let Some(entries) = self.dir(fh.0) else {
            return reply.error(Errno::EBADF);
        };
        // `.` and `..` are left out: the kernel takes no reference for them, and nothing
        // that lists a directory needs them.
        for (i, entry) in entries.iter().enumerate().skip(offset as usize) {
            if entry.is_dot() {
                continue;
            }
            let Some(attr) = self.plus_entry(ino.0, entry) else {
                continue;
            };
            let full = reply.add(
                attr.ino,
                i as u64 + 1,
                &entry.name,
                self.ttl(),
                &attr,
                Generation(0),
            );
            if full {
                // It did not fit: the kernel never saw it, so it holds no reference.
                self.inodes().forget(attr.ino.0, 1);
                break;
            }
        }
        reply.ok();
    }

    fn releasedir(
        &self,
        _req: &Request,
        _ino: INodeNo,
        fh: FileHandle,
        _flags: OpenFlags,
        reply: ReplyEmpty,
    ) {
        let _op = self.begin(Op::Releasedir);
        self.close_dir(fh.0);
        reply.ok();
    }

    fn fsyncdir(
        &self,
        _req: &Request,
        ino: INodeNo,
        _fh: FileHandle,
        _datasync: bool,
        reply: ReplyEmpty,
    ) {
        let _op = self.begin(Op::Fsyncdir);
        let result = self
            .path_of(ino.0)
            .and_then(|p| File::open(p).and_then(|d| d.sync_all()).map_err(errno));
        Self::reply_empty(reply, result);
    }

    fn statfs(&self, _req: &Request, _ino: INodeNo, reply: ReplyStatfs) {
        let _op = self.begin(Op::Statfs);
        match self.do_statfs() {
            Ok(st) => reply.statfs(
                st.blocks.0,
                st.blocks.1,
                st.blocks.2,
                st.files.0,
                st.files.1,
                st.sizes.0,
                st.sizes.1,
                st.sizes.2,
            ),
            Err(e) => reply.error(e),
        }
    }

    fn create(
        &self,
        req: &Request,
        parent: INodeNo,
        name: &OsStr,
        mode: u32,
        _umask: u32,
        flags: i32,
        reply: ReplyCreate,
    ) {
        let _op = self.begin(Op::Create);
        match self.do_create(parent.0, name, mode, flags, req.into()) {
            Ok((attr, fh)) => reply.created(
                self.ttl(),
                &attr,
                Generation(0),
                FileHandle(fh),
                self.open_flags(),
            ),
            Err(e) => reply.error(e),
        }
    }

    // Extended attributes and access(2) are refused with ENOSYS: the kernel then stops
    // asking (and with `default_permissions` checks access itself), so each costs at most
    // one round trip per mount, which the counts show.
    fn getxattr(
        &self,
        _req: &Request,
        _ino: INodeNo,
        _name: &OsStr,
        _size: u32,
        reply: ReplyXattr,
    ) {
        let _op = self.begin(Op::Xattr);
        reply.error(Errno::ENOSYS);
    }

    fn listxattr(&self, _req: &Request, _ino: INodeNo, _size: u32, reply: ReplyXattr) {
        let _op = self.begin(Op::Xattr);
        reply.error(Errno::ENOSYS);
    }

    fn setxattr(
        &self,
        _req: &Request,
        _ino: INodeNo,
        _name: &OsStr,
        _value: &[u8],
        _flags: i32,
        _position: u32,
        reply: ReplyEmpty,
    ) {
        let _op = self.begin(Op::Xattr);
        reply.error(Errno::ENOSYS);
    }

    fn removexattr(&self, _req: &Request, _ino: INodeNo, _name: &OsStr, reply: ReplyEmpty) {
        let _op = self.begin(Op::Xattr);
        reply.error(Errno::ENOSYS);
    }

    fn access(&self, _req: &Request, _ino: INodeNo, _mask: AccessFlags, reply: ReplyEmpty) {
        let _op = self.begin(Op::Other);
        reply.error(Errno::ENOSYS);
    }
}
