//! The `build.rs` front end, modelled on prost-build: read a schemas folder, generate, and
//! write the file into `OUT_DIR` only when its content changed (so an unchanged schema does
//! not rebuild the crate), telling cargo to rerun when any input changes.

use std::path::{Path, PathBuf};

use crate::folder::{CONFIG_FILE, FolderErrors, SchemaFolder};
use crate::generate::{GenerateErrors, generate, generate_with_ids};
use crate::lock::{LOCK_FILE, Lock, LockError, cache_dir};

/// Why a build failed.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    #[error("no output directory: call `out_dir` or run from a build script (OUT_DIR)")]
    NoOutDir,
    #[error("{0}")]
    Folder(#[from] FolderErrors),
    #[error("{0}")]
    Generate(#[from] GenerateErrors),
    #[error("{0}")]
    Lock(#[from] LockError),
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// Configures and runs code generation from a build script:
///
/// ```no_run
/// # fn main() -> Result<(), eventschema_codegen::BuildError> {
/// let written = eventschema_codegen::Builder::new()
///     .schemas_dir("schemas")
///     .generate()?; // into $OUT_DIR/eventschema_generated.rs
/// # let _ = written; Ok(()) }
/// ```
///
/// and in the crate: `include!(concat!(env!("OUT_DIR"), "/eventschema_generated.rs"));`
///
/// From a registry instead of a folder, pinned by `eventschema.lock` (fetching needs the
/// `registry` feature; once the lock exists, builds are offline):
///
/// ```no_run
/// # fn main() -> Result<(), eventschema_codegen::BuildError> {
/// eventschema_codegen::Builder::new()
///     .registry("http://127.0.0.1:8081")
///     .subjects(["orders-value", "payments-value"])
///     .generate()?;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct Builder {
    schemas_dir: PathBuf,
    out_dir: Option<PathBuf>,
    file_name: String,
    rerun_if_changed: bool,
    registry: Option<String>,
    subjects: Vec<String>,
    lock_file: Option<PathBuf>,
    update_lock: bool,
}

impl Default for Builder {
    fn default() -> Self {
        Self::new()
    }
}

impl Builder {
    /// Defaults: `schemas/`, `$OUT_DIR`, `eventschema_generated.rs`, rerun lines on.
    pub fn new() -> Self {
        Builder {
            schemas_dir: PathBuf::from("schemas"),
            out_dir: None,
            file_name: "eventschema_generated.rs".to_owned(),
            rerun_if_changed: true,
            registry: None,
            subjects: Vec::new(),
            lock_file: None,
            update_lock: false,
        }
    }

    /// Generates from the registry at `url` (through the lock file) instead of a folder.
    pub fn registry(mut self, url: impl Into<String>) -> Self {
        self.registry = Some(url.into());
        self
    }

    /// The registry subjects to generate (every version of each).
    pub fn subjects<I, S>(mut self, subjects: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.subjects = subjects.into_iter().map(Into::into).collect();
        self
    }

    /// The lock file; default `eventschema.lock` in `CARGO_MANIFEST_DIR` (or the current
    /// directory). Its cache folder `.eventschema/` sits next to it.
    pub fn lock_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.lock_file = Some(path.into());
        self
    }

    /// Fetch again and rewrite the lock even if it exists (off by default: a locked build
    /// never connects).
    pub fn update_lock(mut self, on: bool) -> Self {
        self.update_lock = on;
        self
    }

    fn lock_path(&self) -> PathBuf {
        self.lock_file.clone().unwrap_or_else(|| {
            std::env::var_os("CARGO_MANIFEST_DIR")
                .map(PathBuf::from)
                .unwrap_or_default()
                .join(LOCK_FILE)
        })
    }

    /// The lock to build from: the existing one, or a fresh fetch when there is none, when
    /// asked to update, or (an error otherwise) when a requested subject is not locked.
    fn locked(&self, url: &str, path: &Path) -> Result<Lock, BuildError> {
        match Lock::read(path)? {
            Some(lock) if !self.update_lock => match lock.missing(&self.subjects) {
                Some(subject) => Err(LockError::NotLocked {
                    path: path.to_owned(),
                    subject: subject.to_owned(),
                }
                .into()),
                None => Ok(lock),
            },
            _ => self.fetch(url, path),
        }
    }

    #[cfg(feature = "registry")]
    fn fetch(&self, url: &str, path: &Path) -> Result<Lock, BuildError> {
        let fetched = crate::lock::fetch(url, &self.subjects)?;
        Ok(Lock::write(path, url, &fetched)?)
    }

    #[cfg(not(feature = "registry"))]
    fn fetch(&self, _url: &str, path: &Path) -> Result<Lock, BuildError> {
        Err(LockError::CannotFetch {
            path: path.to_owned(),
        }
        .into())
    }

    pub fn schemas_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.schemas_dir = dir.into();
        self
    }

    pub fn out_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.out_dir = Some(dir.into());
        self
    }

    /// The name of the generated file inside the output directory.
    pub fn file_name(mut self, name: impl Into<String>) -> Self {
        self.file_name = name.into();
        self
    }

    /// Whether to print `cargo:rerun-if-changed` lines (on by default; off outside build
    /// scripts, where stdout is not cargo's).
    pub fn emit_rerun_if_changed(mut self, on: bool) -> Self {
        self.rerun_if_changed = on;
        self
    }

    /// Reads, generates and writes; returns the path of the generated file.
    pub fn generate(&self) -> Result<PathBuf, BuildError> {
        if self.rerun_if_changed && self.registry.is_none() {
            // Printed before reading so that a broken folder is retried once fixed; only
            // our inputs, never the whole package (prost-build's lesson).
            self.print_rerun_lines();
        }
        let code = match &self.registry {
            Some(url) => {
                let path = self.lock_path();
                if self.rerun_if_changed {
                    println!("cargo:rerun-if-changed={}", path.display());
                }
                let lock = self.locked(url, &path)?;
                let (folder, ids) = lock.load(&path)?;
                if self.rerun_if_changed {
                    let cache = cache_dir(&path);
                    for locked in &lock.schemas {
                        println!(
                            "cargo:rerun-if-changed={}",
                            cache.join(locked.cache_path()).display()
                        );
                    }
                }
                generate_with_ids(&folder, &ids)?
            }
            None => generate(&SchemaFolder::read_dir(&self.schemas_dir)?)?,
        };
        let out_dir = match &self.out_dir {
            Some(dir) => dir.clone(),
            None => std::env::var_os("OUT_DIR")
                .map(PathBuf::from)
                .ok_or(BuildError::NoOutDir)?,
        };
        let path = out_dir.join(&self.file_name);
        write_if_changed(&path, code.as_str())?;
        Ok(path)
    }

    fn print_rerun_lines(&self) {
        let root = &self.schemas_dir;
        // The folder itself and each subject folder: adding or removing a file changes them.
        println!("cargo:rerun-if-changed={}", root.display());
        println!(
            "cargo:rerun-if-changed={}",
            root.join(CONFIG_FILE).display()
        );
        for subject in sorted_entries(root) {
            println!("cargo:rerun-if-changed={}", subject.display());
            if subject.is_dir() {
                for file in sorted_entries(&subject) {
                    println!("cargo:rerun-if-changed={}", file.display());
                }
            }
        }
    }
}

/// Directory entries sorted by path (unreadable directories give none: reading the folder
/// reports the error properly).
fn sorted_entries(dir: &Path) -> Vec<PathBuf> {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|read| read.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default();
    entries.sort();
    entries
}

/// Writes `content` unless the file already holds exactly it (keeps its mtime, so cargo
/// does not recompile the including crate).
pub(crate) fn write_if_changed(path: &Path, content: &str) -> Result<bool, BuildError> {
    if std::fs::read(path).is_ok_and(|old| old == content.as_bytes()) {
        return Ok(false);
    }
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(|source| BuildError::Io {
            path: parent.to_owned(),
            source,
        })?;
    }
    std::fs::write(path, content).map_err(|source| BuildError::Io {
        path: path.to_owned(),
        source,
    })?;
    Ok(true)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[test]
    fn writes_only_when_the_content_changes() {
        let dir = tempfile::tempdir().unwrap();
        let schemas = dir.path().join("schemas");
        std::fs::create_dir_all(schemas.join("s.e")).unwrap();
        std::fs::write(
            schemas.join("s.e/1.avsc"),
            r#"{"type":"record","name":"E","fields":[]}"#,
        )
        .unwrap();
        let builder = Builder::new()
            .schemas_dir(&schemas)
            .out_dir(dir.path().join("out"))
            .emit_rerun_if_changed(false);
        let path = builder.generate().unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.starts_with("// @generated"));
        assert!(!write_if_changed(&path, &text).unwrap());
        assert!(write_if_changed(&path, "changed").unwrap());
    }

    #[test]
    fn a_broken_folder_is_an_error_naming_the_file() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("s.e")).unwrap();
        std::fs::write(dir.path().join("s.e/1.avsc"), "{").unwrap();
        let err = Builder::new()
            .schemas_dir(dir.path())
            .out_dir(dir.path().join("out"))
            .emit_rerun_if_changed(false)
            .generate()
            .unwrap_err();
        assert!(err.to_string().contains("s.e/1.avsc"), "{err}");
    }
}
