//! The inode table: which FUSE inode number stands for which path of the backing directory.
//!
//! A node remembers its parent and its name, not its full path, so renaming a directory
//! moves its whole subtree by updating one entry. Nodes live as long as the kernel holds
//! a lookup reference to them (`lookup` adds one, `forget` drops them); a node whose name
//! went away (unlink, rmdir, replaced by a rename) is *detached*: it stays known to the
//! kernel until forgotten, but has no path any more.

use std::collections::HashMap;
use std::ffi::{OsStr, OsString};
use std::path::PathBuf;

/// The FUSE inode number of the mount's root.
pub const ROOT: u64 = 1;

/// Identity of a file in the backing filesystem: `(st_dev, st_ino)`.
pub type BackingId = (u64, u64);

#[derive(Debug)]
struct Node {
    parent: u64,
    name: OsString,
    lookups: u64,
    backing: BackingId,
    attached: bool,
}

/// Every inode the kernel currently knows, and the name each one has.
#[derive(Debug)]
pub struct Inodes {
    root: PathBuf,
    nodes: HashMap<u64, Node>,
    children: HashMap<(u64, OsString), u64>,
    next: u64,
}

impl Inodes {
    /// A table holding only the root, which stands for `root` in the backing filesystem.
    pub fn new(root: PathBuf, backing: BackingId) -> Self {
        let mut nodes = HashMap::new();
        nodes.insert(
            ROOT,
            Node {
                parent: ROOT,
                name: OsString::new(),
                lookups: 1,
                backing,
                attached: true,
            },
        );
        Inodes {
            root,
            nodes,
            children: HashMap::new(),
            next: ROOT + 1,
        }
    }

    /// The backing path of `ino`, or None when it is unknown or detached.
    pub fn path(&self, ino: u64) -> Option<PathBuf> {
        let mut names = Vec::new();
        let mut cur = ino;
        while cur != ROOT {
            let node = self.nodes.get(&cur)?;
            if !node.attached {
                return None;
            }
            names.push(node.name.as_os_str());
            cur = node.parent;
        }
        let mut path = self.root.clone();
        path.extend(names.iter().rev());
        Some(path)
    }

    /// The backing path of `name` inside directory `parent`.
    pub fn child_path(&self, parent: u64, name: &OsStr) -> Option<PathBuf> {
        let mut path = self.path(parent)?;
        path.push(name);
        Some(path)
    }

    /// The parent of `ino` (the root is its own parent); None when unknown.
    pub fn parent(&self, ino: u64) -> Option<u64> {
        self.nodes.get(&ino).map(|n| n.parent)
    }

    /// The inode already known for `name` in `parent`, if any (no reference taken).
    pub fn peek(&self, parent: u64, name: &OsStr) -> Option<u64> {
        self.children.get(&(parent, name.to_os_string())).copied()
    }

    /// Record that the kernel looked up `name` in `parent` and found `backing`; returns the
    /// inode number, with one more lookup reference. A different file now under a known
    /// name (replaced behind our back) gets a fresh number.
    pub fn remember(&mut self, parent: u64, name: &OsStr, backing: BackingId) -> u64 {
        let key = (parent, name.to_os_string());
        if let Some(&ino) = self.children.get(&key) {
            let node = self
                .nodes
                .get_mut(&ino)
                .expect("children point at live nodes");
            if node.backing == backing {
                node.lookups += 1;
                return ino;
            }
            self.detach(parent, name);
        }
        let ino = self.next;
        self.next += 1;
        self.nodes.insert(
            ino,
            Node {
                parent,
                name: name.to_os_string(),
                lookups: 1,
                backing,
                attached: true,
            },
        );
        self.children.insert(key, ino);
        ino
    }

    /// The kernel dropped `n` references to `ino`; the node goes when none are left.
    pub fn forget(&mut self, ino: u64, n: u64) {
        if ino == ROOT {
            return;
        }
        let Some(node) = self.nodes.get_mut(&ino) else {
            return;
        };
        node.lookups = node.lookups.saturating_sub(n);
        if node.lookups > 0 {
            return;
        }
        let node = self.nodes.remove(&ino).expect("just seen");
        if node.attached {
            let key = (node.parent, node.name);
            if self.children.get(&key) == Some(&ino) {
                self.children.remove(&key);
            }
        }
    }

    /// `name` in `parent` is gone (unlinked, removed, or about to be replaced).
    pub fn detach(&mut self, parent: u64, name: &OsStr) {
        if let Some(ino) = self.children.remove(&(parent, name.to_os_string())) {
            if let Some(node) = self.nodes.get_mut(&ino) {
                node.attached = false;
            }
        }
    }

    /// A successful `rename(parent/name, newparent/newname)`: whatever was at the target is
    /// detached, and the source's node (with its subtree) now lives there.
    pub fn renamed(&mut self, parent: u64, name: &OsStr, newparent: u64, newname: &OsStr) {
        self.detach(newparent, newname);
        if let Some(ino) = self.children.remove(&(parent, name.to_os_string())) {
            if let Some(node) = self.nodes.get_mut(&ino) {
                node.parent = newparent;
                node.name = newname.to_os_string();
            }
            self.children
                .insert((newparent, newname.to_os_string()), ino);
        }
    }

    /// A successful `RENAME_EXCHANGE`: the two names swapped their files.
    pub fn exchanged(&mut self, parent: u64, name: &OsStr, newparent: u64, newname: &OsStr) {
        let a = self.children.remove(&(parent, name.to_os_string()));
        let b = self.children.remove(&(newparent, newname.to_os_string()));
        if let Some(a) = a {
            self.place(a, newparent, newname);
        }
        if let Some(b) = b {
            self.place(b, parent, name);
        }
    }

    fn place(&mut self, ino: u64, parent: u64, name: &OsStr) {
        if let Some(node) = self.nodes.get_mut(&ino) {
            node.parent = parent;
            node.name = name.to_os_string();
        }
        self.children.insert((parent, name.to_os_string()), ino);
    }

    /// How many inodes the kernel holds (the root included).
    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    /// Never true: the root is always there.
    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table() -> Inodes {
        Inodes::new(PathBuf::from("/backing"), (1, 1))
    }

    fn os(s: &str) -> &OsStr {
        OsStr::new(s)
    }

    #[test]
    fn paths_follow_parents() {
        let mut t = table();
        let a = t.remember(ROOT, os("a"), (1, 2));
        let b = t.remember(a, os("b"), (1, 3));
        assert_eq!(t.path(ROOT).unwrap(), PathBuf::from("/backing"));
        assert_eq!(t.path(b).unwrap(), PathBuf::from("/backing/a/b"));
        assert_eq!(
            t.child_path(b, os("c")).unwrap(),
            PathBuf::from("/backing/a/b/c")
        );
    }

    #[test]
    fn same_file_same_number_and_counted_references() {
        let mut t = table();
        let a = t.remember(ROOT, os("a"), (1, 2));
        assert_eq!(t.remember(ROOT, os("a"), (1, 2)), a);
        t.forget(a, 1);
        assert!(t.path(a).is_some());
        t.forget(a, 1);
        assert!(t.path(a).is_none());
        assert_eq!(t.len(), 1);
    }

    #[test]
    fn a_replaced_file_gets_a_fresh_number() {
        let mut t = table();
        let a = t.remember(ROOT, os("a"), (1, 2));
        let a2 = t.remember(ROOT, os("a"), (1, 9));
        assert_ne!(a, a2);
        assert!(t.path(a).is_none(), "the old one is detached");
        assert_eq!(t.path(a2).unwrap(), PathBuf::from("/backing/a"));
    }

    #[test]
    fn renaming_a_directory_moves_its_subtree() {
        let mut t = table();
        let d = t.remember(ROOT, os("d"), (1, 2));
        let f = t.remember(d, os("f"), (1, 3));
        let other = t.remember(ROOT, os("e"), (1, 4));
        t.renamed(ROOT, os("d"), ROOT, os("e"));
        assert_eq!(t.path(f).unwrap(), PathBuf::from("/backing/e/f"));
        assert!(t.path(other).is_none(), "the replaced target is detached");
        assert_eq!(t.peek(ROOT, os("e")), Some(d));
        assert_eq!(t.peek(ROOT, os("d")), None);
    }

    #[test]
    fn exchange_swaps_names() {
        let mut t = table();
        let a = t.remember(ROOT, os("a"), (1, 2));
        let b = t.remember(ROOT, os("b"), (1, 3));
        t.exchanged(ROOT, os("a"), ROOT, os("b"));
        assert_eq!(t.path(a).unwrap(), PathBuf::from("/backing/b"));
        assert_eq!(t.path(b).unwrap(), PathBuf::from("/backing/a"));
    }

    #[test]
    fn forgetting_a_detached_node_leaves_the_new_one_alone() {
        let mut t = table();
        let old = t.remember(ROOT, os("a"), (1, 2));
        t.detach(ROOT, os("a"));
        let new = t.remember(ROOT, os("a"), (1, 3));
        t.forget(old, 1);
        assert_eq!(t.peek(ROOT, os("a")), Some(new));
        assert!(t.parent(new).is_some());
    }
}
