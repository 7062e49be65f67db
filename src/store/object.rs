//! The object-storage backend: S3, Google Cloud Storage and Azure Blob Storage (and S3-compatible
//! servers) through the `object_store` crate. Credentials, region and endpoint come from the
//! usual `AWS_*`, `GOOGLE_*` and `AZURE_*` environment variables (`AWS_ENDPOINT_URL` and
//! `AWS_ALLOW_HTTP=true` for a local S3 server). An object appears whole on put, so puts are
//! atomic; the async client runs on a small runtime of its own, hidden behind blocking calls.

use object_store::path::Path;
use object_store::{ObjectStoreExt, PutPayload};

use super::{ChunkStore, StoreError};

pub struct ObjectStore {
    url: String,
    store: Box<dyn object_store::ObjectStore>,
    prefix: Path,
    runtime: tokio::runtime::Runtime,
}

/// The environment variables object storage is configured with.
fn config_from_env() -> Vec<(String, String)> {
    std::env::vars()
        .filter(|(name, _)| ["AWS_", "GOOGLE_", "AZURE_"].iter().any(|p| name.starts_with(p)))
        .map(|(name, value)| (name.to_ascii_lowercase(), value))
        .collect()
}

impl ObjectStore {
    pub fn open(spec: &str) -> Result<Self, StoreError> {
        let bad = |problem: String| StoreError::Spec { spec: spec.into(), problem };
        let url = url::Url::parse(spec).map_err(|e| bad(format!("not a URL: {e}")))?;
        if !matches!(url.scheme(), "s3" | "s3a" | "gs" | "az" | "adl" | "azure" | "abfs" | "abfss" | "http" | "https") {
            return Err(bad("not a folder, nor an s3://, gs:// or az:// URL".into()));
        }
        let (store, prefix) =
            object_store::parse_url_opts(&url, config_from_env()).map_err(|e| bad(first_line(&e.to_string())))?;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| bad(format!("cannot start the I/O runtime: {e}")))?;
        Ok(Self { url: spec.trim_end_matches('/').to_string(), store, prefix, runtime })
    }

    fn path(&self, name: &str) -> Path {
        name.split('/').fold(self.prefix.clone(), |path, part| path.join(part))
    }

    fn remote_error(&self, name: &str, error: &object_store::Error) -> StoreError {
        StoreError::Remote { location: self.location(name), problem: first_line(&error.to_string()) }
    }
}

/// The first line of a message (the client's errors run over several).
fn first_line(message: &str) -> String {
    message.lines().next().unwrap_or_default().to_string()
}

impl ChunkStore for ObjectStore {
    fn location(&self, name: &str) -> String {
        format!("{}/{name}", self.url)
    }

    fn get(&self, name: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let path = self.path(name);
        let fetched = self.runtime.block_on(async {
            let result = self.store.get(&path).await?;
            result.bytes().await
        });
        match fetched {
            Ok(bytes) => Ok(Some(bytes.to_vec())),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(self.remote_error(name, &e)),
        }
    }

    fn put(&self, name: &str, bytes: &[u8]) -> Result<(), StoreError> {
        let path = self.path(name);
        let payload = PutPayload::from(bytes.to_vec());
        self.runtime.block_on(self.store.put(&path, payload)).map(|_| ()).map_err(|e| self.remote_error(name, &e))
    }

    fn exists(&self, name: &str) -> Result<bool, StoreError> {
        match self.runtime.block_on(self.store.head(&self.path(name))) {
            Ok(_) => Ok(true),
            Err(object_store::Error::NotFound { .. }) => Ok(false),
            Err(e) => Err(self.remote_error(name, &e)),
        }
    }
}
