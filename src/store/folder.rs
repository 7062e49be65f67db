//! The folder backend: blobs as files under a local or NFS folder, each written to a temp file
//! beside it and renamed into place (atomic on one file system, NFS included).

use std::fs;
use std::io;
use std::path::{Component, Path, PathBuf};

use super::{ChunkStore, StoreError};
use crate::atomic;

pub struct FolderStore {
    root: PathBuf,
}

impl FolderStore {
    /// Creates the folder if needed.
    pub fn open(root: PathBuf) -> Result<Self, StoreError> {
        if root.exists() && !root.is_dir() {
            return Err(StoreError::Spec {
                spec: root.display().to_string(),
                problem: "is a file, not a folder".into(),
            });
        }
        fs::create_dir_all(&root).map_err(|source| StoreError::Io { path: root.clone(), source })?;
        Ok(Self { root })
    }

    fn path(&self, name: &str) -> PathBuf {
        // Names are ours (keys are hex), but never let one climb out of the folder.
        let relative: PathBuf = Path::new(name).components().filter(|c| matches!(c, Component::Normal(_))).collect();
        self.root.join(relative)
    }
}

impl ChunkStore for FolderStore {
    fn location(&self, name: &str) -> String {
        self.path(name).display().to_string()
    }

    fn get(&self, name: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let path = self.path(name);
        match fs::read(&path) {
            Ok(bytes) => Ok(Some(bytes)),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(source) => Err(StoreError::Io { path, source }),
        }
    }

    fn put(&self, name: &str, bytes: &[u8]) -> Result<(), StoreError> {
        let path = self.path(name);
        atomic::write(&path, bytes).map_err(|source| StoreError::Io { path, source })
    }

    fn exists(&self, name: &str) -> Result<bool, StoreError> {
        Ok(self.path(name).is_file())
    }
}
