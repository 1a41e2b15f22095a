//! The watcher thread's side of the feed: raw `notify` events gathered into bursts until the
//! tree is quiet ([`DEBOUNCE`], at most [`DEBOUNCE_MAX`]), one change per servable path, named
//! by its URL path; what a client can never request (dotfiles, editor scratch files) is dropped.

use std::collections::HashMap;
use std::path::{Component, Path, PathBuf};
use std::sync::mpsc;
use std::time::Instant;

use notify::event::{CreateKind, EventKind, ModifyKind, RemoveKind, RenameMode};
use percent_encoding::{utf8_percent_encode, AsciiSet, CONTROLS};
use tracing::{debug, warn};

use super::{ChangeKind, Shared, DEBOUNCE, DEBOUNCE_MAX, NEW_TREE_MAX};

/// Collects raw events into bursts and publishes each burst once the tree is quiet.
pub(super) fn debounce_loop(
    raw: mpsc::Receiver<notify::Result<notify::Event>>,
    root: &Path,
    shared: &Shared,
) {
    while let Ok(first) = raw.recv() {
        // Reads (a server answering requests from the root) are events too: they must neither
        // start a burst nor keep one from going quiet, or a busy site delays every change by
        // DEBOUNCE_MAX.
        if is_read(&first) {
            continue;
        }
        let mut burst = Burst::default();
        burst.add(first);
        let started = Instant::now();
        let mut last_change = started;
        let mut open = true;
        loop {
            let quiet_left = DEBOUNCE.saturating_sub(last_change.elapsed());
            if quiet_left.is_zero() || started.elapsed() >= DEBOUNCE_MAX {
                break;
            }
            match raw.recv_timeout(quiet_left) {
                Ok(event) if is_read(&event) => {}
                Ok(event) => {
                    last_change = Instant::now();
                    burst.add(event);
                }
                Err(mpsc::RecvTimeoutError::Timeout) => break,
                Err(mpsc::RecvTimeoutError::Disconnected) => {
                    open = false;
                    break;
                }
            }
        }
        shared.publish(burst.changes(root));
        if !open {
            break;
        }
    }
    debug!("change watcher stopped");
}

/// An event that changes nothing: a file opened, read or closed without writing.
fn is_read(event: &notify::Result<notify::Event>) -> bool {
    matches!(event, Ok(e) if matches!(e.kind, EventKind::Access(_) | EventKind::Other))
}

/// The paths touched in one burst, in the order first seen.
#[derive(Default)]
struct Burst {
    order: Vec<PathBuf>,
    /// Whether the path's first event in the burst brought it into existence.
    created: HashMap<PathBuf, bool>,
}

impl Burst {
    fn add(&mut self, event: notify::Result<notify::Event>) {
        let event = match event {
            Ok(event) => event,
            Err(err) => return warn!(cause = %err, "file watcher error"),
        };
        if event.need_rescan() {
            warn!("file watcher queue overflowed: some changes were not seen");
        }
        let created = match event.kind {
            EventKind::Create(CreateKind::Folder) => {
                // Files written into a new directory before the watcher got to it raise no
                // events of their own: report whatever is already there.
                for dir in event.paths {
                    self.add_tree(&dir);
                }
                return;
            }
            // Directories themselves are not served; their files report their own changes.
            EventKind::Remove(RemoveKind::Folder) => return,
            EventKind::Access(_) | EventKind::Other => return,
            EventKind::Create(_) => true,
            EventKind::Modify(ModifyKind::Name(RenameMode::To)) => true,
            _ => false,
        };
        let both = matches!(
            event.kind,
            EventKind::Modify(ModifyKind::Name(RenameMode::Both))
        );
        for (i, path) in event.paths.into_iter().enumerate() {
            // A rename reported with both paths: the second one is the new name.
            self.touch(path, created || (both && i == 1));
        }
    }

    /// Every file under a new directory, as created (at most [`NEW_TREE_MAX`] entries).
    fn add_tree(&mut self, dir: &Path) {
        let mut pending = vec![dir.to_path_buf()];
        let mut seen = 0;
        while let Some(dir) = pending.pop() {
            let Ok(entries) = std::fs::read_dir(&dir) else {
                continue;
            };
            for entry in entries.flatten() {
                seen += 1;
                if seen > NEW_TREE_MAX {
                    return warn!(dir = %dir.display(), "new directory too large to scan for changes");
                }
                let path = entry.path();
                match entry.file_type() {
                    Ok(t) if t.is_dir() => pending.push(path),
                    Ok(_) => self.touch(path, true),
                    Err(_) => {}
                }
            }
        }
    }

    /// Notes `path`, unless it was already seen in this burst.
    fn touch(&mut self, path: PathBuf, created: bool) {
        if !self.created.contains_key(&path) {
            self.created.insert(path.clone(), created);
            self.order.push(path);
        }
    }

    /// One change per servable path, its kind decided by whether the file exists now.
    fn changes(self, root: &Path) -> Vec<(String, ChangeKind)> {
        let mut out = Vec::new();
        for path in self.order {
            let Some(url) = path.strip_prefix(root).ok().and_then(url_path) else {
                continue;
            };
            let created = self.created[&path];
            let kind = match std::fs::symlink_metadata(&path) {
                Ok(meta) if meta.is_dir() => continue,
                Ok(_) if created => ChangeKind::Created,
                Ok(_) => ChangeKind::Modified,
                // Made and deleted within the burst: nobody could have seen it.
                Err(_) if created => continue,
                Err(_) => ChangeKind::Removed,
            };
            out.push((url, kind));
        }
        out
    }
}

/// Characters escaped in a path segment: the URL path percent-encode set plus `%` and `/`.
const SEGMENT: &AsciiSet = &CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'#')
    .add(b'%')
    .add(b'/')
    .add(b'<')
    .add(b'>')
    .add(b'?')
    .add(b'`')
    .add(b'{')
    .add(b'}');

/// The URL path for a path relative to the root, or `None` for what is never served or is an
/// editor's scratch file: dotfiles and dot-directories, `*~` backups, swap files, vim's `4913`.
fn url_path(rel: &Path) -> Option<String> {
    let mut url = String::new();
    for component in rel.components() {
        let Component::Normal(name) = component else {
            return None;
        };
        let name = name.to_str()?;
        if name.starts_with('.') || name.is_empty() {
            return None;
        }
        url.push('/');
        url.extend(utf8_percent_encode(name, SEGMENT));
    }
    let file = rel.file_name()?.to_str()?;
    let scratch = file.ends_with('~')
        || file == "4913"
        || [".swp", ".swx", ".swo"].iter().any(|s| file.ends_with(s))
        || (file.starts_with('#') && file.ends_with('#'));
    (!scratch).then_some(url)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn editor_scratch_and_dotfiles_are_ignored() {
        let url = |p: &str| url_path(Path::new(p));
        assert_eq!(url("css/site.css").as_deref(), Some("/css/site.css"));
        assert_eq!(url("a b/c#d.html").as_deref(), Some("/a%20b/c%23d.html"));
        for ignored in [
            ".git/index",
            "css/.site.css.swp",
            "site.css~",
            "4913",
            "dir/.hidden/x.css",
            "notes.swo",
            "#index.html#",
        ] {
            assert_eq!(url(ignored), None, "{ignored}");
        }
    }

    #[test]
    fn a_burst_becomes_one_change_per_file() {
        let dir = tempfile::TempDir::new().unwrap();
        let root = dir.path();
        std::fs::write(root.join("kept.css"), "x").unwrap();
        std::fs::write(root.join("new.html"), "x").unwrap();
        let event = |kind, name: &str| Ok(notify::Event::new(kind).add_path(root.join(name)));
        let mut burst = Burst::default();
        burst.add(event(EventKind::Create(CreateKind::File), "new.html"));
        burst.add(event(EventKind::Modify(ModifyKind::Any), "new.html"));
        burst.add(event(EventKind::Modify(ModifyKind::Any), "kept.css"));
        burst.add(event(EventKind::Modify(ModifyKind::Any), "kept.css"));
        burst.add(event(EventKind::Create(CreateKind::File), "gone.tmp"));
        burst.add(event(EventKind::Remove(RemoveKind::File), "deleted.js"));
        burst.add(event(EventKind::Create(CreateKind::File), ".x.swp"));
        assert_eq!(
            burst.changes(root),
            vec![
                ("/new.html".to_string(), ChangeKind::Created),
                ("/kept.css".to_string(), ChangeKind::Modified),
                ("/deleted.js".to_string(), ChangeKind::Removed),
            ]
        );
    }
}
