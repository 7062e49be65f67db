//! The shared chunk store: rendered chunks kept by key where every machine of a sharded build
//! can reach them (a local or NFS folder, or object storage), so shards render in parallel and
//! one `assemble` writes the book from their chunks.
//!
//! Input: a `--store` path or URL. Output: a [`ChunkStore`] of named blobs (the backends:
//! `folder`, `object`) and [`Chunks`], which keeps each chunk compressed and checked (`blob`).
//! Blobs are content-addressed by the chunk key, so a put is idempotent: two machines rendering
//! the same chunk write the same bytes, and the second write changes nothing.

mod blob;
mod folder;
mod object;

use std::path::PathBuf;

pub use self::blob::{BlobError, decode as decode_blob, encode as encode_blob};

/// Why the store could not be used.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("--store {spec}: {problem}")]
    Spec { spec: String, problem: String },
    #[error("{}: {source}", path.display())]
    Io { path: PathBuf, source: std::io::Error },
    #[error("{location}: {problem}")]
    Remote { location: String, problem: String },
    #[error("{location}: corrupt chunk in the store ({problem}); delete it and rerun the shard that owns it")]
    Corrupt { location: String, problem: BlobError },
}

/// Named blobs, shared between machines. Every put is atomic (a reader sees no blob or all of
/// it) and may be repeated with the same bytes.
pub trait ChunkStore: Send + Sync {
    /// Where a blob lives, for messages.
    fn location(&self, name: &str) -> String;
    /// A blob's bytes, or `None` when there is none.
    fn get(&self, name: &str) -> Result<Option<Vec<u8>>, StoreError>;
    /// Stores a blob atomically.
    fn put(&self, name: &str, bytes: &[u8]) -> Result<(), StoreError>;
    /// Whether a blob exists.
    fn exists(&self, name: &str) -> Result<bool, StoreError>;
}

/// Opens the store a `--store` names: `s3://`, `gs://`, `az://`, `abfs://`, `http(s)://` URLs go
/// to object storage, anything else (or `file://`) is a folder.
pub fn open(spec: &str) -> Result<Box<dyn ChunkStore>, StoreError> {
    if spec.trim().is_empty() {
        return Err(StoreError::Spec { spec: spec.into(), problem: "empty path or URL".into() });
    }
    if let Some(path) = spec.strip_prefix("file://") {
        return Ok(Box::new(folder::FolderStore::open(path.into())?));
    }
    match spec.split_once("://") {
        Some((scheme, _)) if !scheme.is_empty() && scheme.chars().all(|c| c.is_ascii_alphanumeric()) => {
            Ok(Box::new(object::ObjectStore::open(spec)?))
        }
        _ => Ok(Box::new(folder::FolderStore::open(spec.into())?)),
    }
}

/// The chunks in a store: each one compressed losslessly, with a hash over its key and bytes
/// that every read checks.
pub struct Chunks {
    store: Box<dyn ChunkStore>,
}

impl Chunks {
    pub fn new(store: Box<dyn ChunkStore>) -> Self {
        Self { store }
    }

    fn name(key: &str) -> String {
        format!("chunks/{key}.abz")
    }

    /// Where a chunk's blob lives, for messages.
    pub fn location(&self, key: &str) -> String {
        self.store.location(&Self::name(key))
    }

    /// Whether the store holds the chunk (not checked: [`Chunks::get`] checks).
    pub fn contains(&self, key: &str) -> Result<bool, StoreError> {
        self.store.exists(&Self::name(key))
    }

    /// Stores a chunk file's bytes (as `JobDir` writes them) under its key; returns the bytes
    /// stored.
    pub fn put(&self, key: &str, chunk: &[u8]) -> Result<usize, StoreError> {
        let blob = blob::encode(key, chunk);
        self.store.put(&Self::name(key), &blob)?;
        Ok(blob.len())
    }

    /// A chunk file's bytes, checked against the hash stored with them; `None` when absent.
    pub fn get(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let name = Self::name(key);
        let Some(blob) = self.store.get(&name)? else { return Ok(None) };
        blob::decode(key, &blob)
            .map(Some)
            .map_err(|problem| StoreError::Corrupt { location: self.store.location(&name), problem })
    }

    /// A small JSON record (a shard's report, a plan's shard count).
    pub fn get_record(&self, name: &str) -> Result<Option<Vec<u8>>, StoreError> {
        self.store.get(name)
    }

    /// Stores a small JSON record.
    pub fn put_record(&self, name: &str, bytes: &[u8]) -> Result<(), StoreError> {
        self.store.put(name, bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_folders_and_urls_are_object_stores() {
        let dir = tempfile::tempdir().unwrap();
        let chunks = Chunks::new(open(dir.path().to_str().unwrap()).unwrap());
        assert_eq!(chunks.get("k").unwrap(), None);
        let bytes: Vec<u8> = (0..4000u32).flat_map(|i| ((i as f32).sin() * 0.3).to_le_bytes()).collect();
        chunks.put("k", &bytes).unwrap();
        chunks.put("k", &bytes).unwrap(); // idempotent
        assert!(chunks.contains("k").unwrap());
        assert_eq!(chunks.get("k").unwrap().unwrap(), bytes);
        assert!(matches!(open(""), Err(StoreError::Spec { .. })));
        let err = open("ftp://host/x").err().unwrap().to_string();
        assert!(err.starts_with("--store ftp://host/x:"), "{err}");
    }

    #[test]
    fn a_damaged_blob_is_named_not_returned() {
        let dir = tempfile::tempdir().unwrap();
        let chunks = Chunks::new(open(dir.path().to_str().unwrap()).unwrap());
        chunks.put("k", &[7u8; 1000]).unwrap();
        let path = dir.path().join("chunks/k.abz");
        let mut blob = std::fs::read(&path).unwrap();
        let middle = 48 + (blob.len() - 48) / 2; // inside the compressed data, past the header
        blob[middle] ^= 0x40;
        std::fs::write(&path, &blob).unwrap();
        let err = chunks.get("k").unwrap_err().to_string();
        assert!(err.contains("chunks/k.abz") && err.contains("corrupt"), "{err}");
    }
}
