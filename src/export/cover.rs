//! The cover image an M4B or MP3 carries: `--cover FILE`, or the EPUB's own cover, handed to
//! ffmpeg as a file and attached as a picture (`covr` in MP4, `APIC` in ID3).

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use super::ExportError;
use crate::hash;
use crate::ingest::Cover as BookCover;

/// A cover ready for ffmpeg.
#[derive(Debug)]
pub struct Cover {
    path: PathBuf,
    /// JPEG and PNG go in as they are; anything else ffmpeg can read is turned into PNG.
    copy: bool,
    /// sha256 of the image, part of each output's key.
    pub sha256: String,
    /// The embedded cover, written out for ffmpeg; removed when this is dropped.
    _temp: Option<tempfile::TempPath>,
}

impl Cover {
    /// `--cover FILE` when given, else the book's cover if it is a JPEG or PNG (an SVG or other
    /// cover of an EPUB is left out rather than fail the build). `scratch` holds the temp file.
    pub fn prepare(file: Option<&Path>, book: Option<&BookCover>, scratch: &Path) -> Result<Option<Self>, ExportError> {
        if let Some(path) = file {
            let bytes = std::fs::read(path).map_err(|source| ExportError::Cover { path: path.into(), source })?;
            return Ok(Some(Self {
                path: path.into(),
                copy: is_jpeg_or_png(&bytes),
                sha256: hash::sha256_hex(&bytes),
                _temp: None,
            }));
        }
        let Some(cover) = book.filter(|c| is_jpeg_or_png(&c.bytes)) else { return Ok(None) };
        let io_err = |source| ExportError::Io { path: scratch.into(), source };
        let mut temp = tempfile::Builder::new().prefix("cover-").tempfile_in(scratch).map_err(io_err)?;
        std::io::Write::write_all(&mut temp, &cover.bytes).map_err(io_err)?;
        let temp = temp.into_temp_path();
        Ok(Some(Self {
            path: temp.to_path_buf(),
            copy: true,
            sha256: hash::sha256_hex(&cover.bytes),
            _temp: Some(temp),
        }))
    }

    /// ffmpeg arguments that add the cover as an input (they go before the output options).
    pub fn input_args(&self) -> Vec<OsString> {
        vec!["-i".into(), self.path.clone().into_os_string()]
    }

    /// ffmpeg output arguments that map input `index` (the cover) as an attached picture.
    pub fn output_args(&self, index: usize) -> Vec<OsString> {
        let map = format!("{index}:v:0");
        let codec = if self.copy { "copy" } else { "png" };
        ["-map", map.as_str(), "-c:v", codec, "-disposition:v:0", "attached_pic"].map(OsString::from).to_vec()
    }
}

fn is_jpeg_or_png(bytes: &[u8]) -> bool {
    bytes.starts_with(&[0xff, 0xd8, 0xff]) || bytes.starts_with(b"\x89PNG\r\n\x1a\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_epub_cover_is_used_only_when_it_is_a_jpeg_or_png() {
        let dir = tempfile::tempdir().unwrap();
        let svg = BookCover { media_type: "image/svg+xml".into(), bytes: b"<svg/>".to_vec() };
        assert!(Cover::prepare(None, Some(&svg), dir.path()).unwrap().is_none());
        let png = BookCover { media_type: "image/png".into(), bytes: b"\x89PNG\r\n\x1a\nrest".to_vec() };
        let cover = Cover::prepare(None, Some(&png), dir.path()).unwrap().unwrap();
        assert_eq!(std::fs::read(&cover.path).unwrap(), png.bytes);
        let path = cover.path.clone();
        drop(cover);
        assert!(!path.exists(), "the temp copy goes with the cover");
    }

    #[test]
    fn a_missing_cover_file_is_named() {
        let err = Cover::prepare(Some(Path::new("/no/such/cover.jpg")), None, Path::new(".")).unwrap_err();
        assert!(err.to_string().contains("/no/such/cover.jpg"), "{err}");
    }
}
