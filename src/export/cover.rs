//! The cover image every encoded output carries: `--cover FILE`, or the EPUB's own cover, handed
//! to ffmpeg as a file and attached as a picture (`covr` in MP4, `APIC` in ID3), or for Ogg Opus
//! written as a `METADATA_BLOCK_PICTURE` comment, since ffmpeg's Ogg muxer takes no picture stream.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use base64::Engine as _;

use super::ExportError;
use super::metadata::escape;
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

    /// An FFMETADATA file holding the cover as the Ogg comment `METADATA_BLOCK_PICTURE`, for
    /// ffmpeg to read as an extra input. A file, not `-metadata`, because a cover's base64 easily
    /// passes the 128 KiB the kernel allows one command-line argument.
    pub fn ogg_comment_file(&self, ffmpeg: &Path, scratch: &Path) -> Result<tempfile::TempPath, ExportError> {
        let image = if self.copy {
            std::fs::read(&self.path).map_err(|source| ExportError::Cover { path: self.path.clone(), source })?
        } else {
            self.to_png(ffmpeg)?
        };
        let block = picture_block(&image).ok_or_else(|| ExportError::Cover {
            path: self.path.clone(),
            source: std::io::Error::new(std::io::ErrorKind::InvalidData, "not a readable JPEG or PNG"),
        })?;
        let comment = base64::engine::general_purpose::STANDARD.encode(block);
        let text = format!(";FFMETADATA1\nMETADATA_BLOCK_PICTURE={}\n", escape(&comment));
        let io_err = |source| ExportError::Io { path: scratch.into(), source };
        let mut file = tempfile::Builder::new().prefix("cover-").suffix(".txt").tempfile_in(scratch).map_err(io_err)?;
        std::io::Write::write_all(&mut file, text.as_bytes()).map_err(io_err)?;
        Ok(file.into_temp_path())
    }

    /// The cover converted to PNG by ffmpeg, for an image that is neither JPEG nor PNG.
    fn to_png(&self, ffmpeg: &Path) -> Result<Vec<u8>, ExportError> {
        let output = Command::new(ffmpeg)
            .args(["-hide_banner", "-loglevel", "error", "-i"])
            .arg(&self.path)
            .args(["-frames:v", "1", "-c:v", "png", "-f", "image2pipe", "pipe:1"])
            .stdin(Stdio::null())
            .output()
            .map_err(|source| ExportError::Spawn { path: self.path.clone(), source })?;
        if !output.status.success() || output.stdout.is_empty() {
            let last_line = super::ffmpeg::last_line(&output.stderr).unwrap_or_else(|| "no image".into());
            return Err(ExportError::Ffmpeg { path: self.path.clone(), last_line });
        }
        Ok(output.stdout)
    }
}

/// A FLAC picture block (RFC 9639, section 8.8) of a JPEG or PNG front cover: big-endian type,
/// MIME type, description, width, height, bits per pixel, palette size, then the image.
fn picture_block(image: &[u8]) -> Option<Vec<u8>> {
    let mime: &[u8] = if image.starts_with(b"\x89PNG") { b"image/png" } else { b"image/jpeg" };
    let size = imagesize::blob_size(image).ok()?;
    let description = b"Cover (front)";
    let be = |n: usize| u32::try_from(n).unwrap_or(u32::MAX).to_be_bytes();
    let parts: [&[u8]; 10] = [
        &be(3), // front cover
        &be(mime.len()),
        mime,
        &be(description.len()),
        description,
        &be(size.width),
        &be(size.height),
        &be(bits_per_pixel(image)),
        &be(0), // no palette
        &be(image.len()),
    ];
    let mut block = parts.concat();
    block.extend_from_slice(image);
    Some(block)
}

/// A PNG's bits per pixel from its header (depth x channels of its colour type); 24 for a JPEG,
/// whose covers are 8-bit RGB.
fn bits_per_pixel(image: &[u8]) -> usize {
    let (Some(&depth), Some(&colour)) = (image.get(24), image.get(25)) else { return 24 };
    if !image.starts_with(b"\x89PNG") {
        return 24;
    }
    let channels = match colour {
        2 => 3,
        4 => 2,
        6 => 4,
        _ => 1, // grey, or palette indices
    };
    usize::from(depth) * channels
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
    fn a_picture_block_names_the_front_cover_its_type_size_and_bytes() {
        // A 3x2 RGBA PNG's signature and header chunk are all the block reads besides the bytes.
        let mut png = b"\x89PNG\r\n\x1a\n\0\0\0\x0dIHDR".to_vec();
        png.extend_from_slice(&[0, 0, 0, 3, 0, 0, 0, 2, 8, 6, 0, 0, 0]);
        let block = picture_block(&png).unwrap();
        let word = |at: usize| u32::from_be_bytes(block[at..at + 4].try_into().unwrap());
        assert_eq!(word(0), 3, "front cover");
        assert_eq!(&block[8..8 + word(4) as usize], b"image/png");
        let at = 17 + word(17) as usize + 4;
        assert_eq!([word(at), word(at + 4), word(at + 8), word(at + 12)], [3, 2, 32, 0]);
        assert_eq!(word(at + 16) as usize, png.len());
        assert_eq!(&block[at + 20..], &png[..]);
        assert!(picture_block(b"not an image").is_none());
    }

    #[test]
    fn a_missing_cover_file_is_named() {
        let err = Cover::prepare(Some(Path::new("/no/such/cover.jpg")), None, Path::new(".")).unwrap_err();
        assert!(err.to_string().contains("/no/such/cover.jpg"), "{err}");
    }
}
