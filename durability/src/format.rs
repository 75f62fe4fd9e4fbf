//! Framing shared by the snapshot and WAL formats: file headers and checksummed
//! blocks. Every integer on disk is little-endian.

use engine_api::codec::VALUE_CODEC_VERSION;
use engine_api::{Error, ErrorKind, Result};

pub use engine_api::image::DatabaseId;

/// Common header fields: magic (8 bytes), format version (u16), value codec version
/// (u16), database id (16 bytes), two u64 fields whose meaning depends on the file,
/// and a CRC-32 of everything before it. 48 bytes.
pub const HEADER_LEN: usize = 48;

/// A parsed header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    /// Format version.
    pub version: u16,
    /// The database the file belongs to.
    pub database: DatabaseId,
    /// First file-specific field.
    pub a: u64,
    /// Second file-specific field.
    pub b: u64,
}

/// Why a header does not read.
#[derive(Debug)]
pub enum HeaderError {
    /// The magic does not match. Whether that makes the file foreign or damaged is
    /// the caller's decision: a file that carries one of our names is ours whatever
    /// its bytes say, so [`decode_named_header`] turns this into Corrupt.
    NotOurs,
    /// The file is ours but damaged or of an unknown version.
    Bad(Error),
}

/// Encodes a header with `magic` and `version`; `h.version` is ignored.
pub fn encode_header(magic: &[u8; 8], version: u16, h: &Header) -> [u8; HEADER_LEN] {
    let mut out = [0u8; HEADER_LEN];
    out[..8].copy_from_slice(magic);
    out[8..10].copy_from_slice(&version.to_le_bytes());
    out[10..12].copy_from_slice(&VALUE_CODEC_VERSION.to_le_bytes());
    out[12..28].copy_from_slice(&h.database.0);
    out[28..36].copy_from_slice(&h.a.to_le_bytes());
    out[36..44].copy_from_slice(&h.b.to_le_bytes());
    let crc = crc32fast::hash(&out[..44]);
    out[44..48].copy_from_slice(&crc.to_le_bytes());
    out
}

pub(crate) fn u16_at(b: &[u8], at: usize) -> u16 {
    let mut a = [0u8; 2];
    a.copy_from_slice(&b[at..at + 2]);
    u16::from_le_bytes(a)
}

pub(crate) fn u32_at(b: &[u8], at: usize) -> u32 {
    let mut a = [0u8; 4];
    a.copy_from_slice(&b[at..at + 4]);
    u32::from_le_bytes(a)
}

pub(crate) fn u64_at(b: &[u8], at: usize) -> u64 {
    let mut a = [0u8; 8];
    a.copy_from_slice(&b[at..at + 8]);
    u64::from_le_bytes(a)
}

/// Parses a header of `what` (a file name for messages); `bytes` may be short.
/// `versions` are the format versions this build reads.
pub fn decode_header(
    magic: &[u8; 8],
    versions: std::ops::RangeInclusive<u16>,
    what: &str,
    bytes: &[u8],
) -> Result<Header, HeaderError> {
    let n = bytes.len().min(8);
    if bytes[..n] != magic[..n] {
        return Err(HeaderError::NotOurs);
    }
    if bytes.len() < HEADER_LEN {
        return Err(HeaderError::Bad(corrupt(
            what,
            bytes.len() as u64,
            "file ends inside its header",
        )));
    }
    if crc32fast::hash(&bytes[..44]) != u32_at(bytes, 44) {
        return Err(HeaderError::Bad(corrupt(
            what,
            0,
            "header checksum mismatch",
        )));
    }
    let v = u16_at(bytes, 8);
    if !versions.contains(&v) {
        let reads = if versions.start() == versions.end() {
            versions.start().to_string()
        } else {
            format!("{} to {}", versions.start(), versions.end())
        };
        return Err(HeaderError::Bad(corrupt(
            what,
            8,
            &format!("format version {v} is not supported (this build reads {reads})"),
        )));
    }
    engine_api::codec::check_codec_version(u16_at(bytes, 10))
        .map_err(|e| HeaderError::Bad(corrupt(what, 10, e.message())))?;
    let mut id = [0u8; 16];
    id.copy_from_slice(&bytes[12..28]);
    Ok(Header {
        version: v,
        database: DatabaseId(id),
        a: u64_at(bytes, 28),
        b: u64_at(bytes, 36),
    })
}

/// Parses the header of a file whose *name* says it is ours (`kind`, e.g. "WAL
/// segment", for the message): a wrong magic is damage, never a reason to ignore the
/// file, since ignoring it would silently drop what it holds.
pub fn decode_named_header(
    magic: &[u8; 8],
    versions: std::ops::RangeInclusive<u16>,
    what: &str,
    kind: &str,
    bytes: &[u8],
) -> Result<Header> {
    decode_header(magic, versions, what, bytes).map_err(|e| match e {
        HeaderError::NotOurs => corrupt(
            what,
            0,
            &format!("named as a {kind} of ours, but its magic number is not ours"),
        ),
        HeaderError::Bad(e) => e,
    })
}

/// Reads up to the first [`HEADER_LEN`] bytes of a file (fewer if it is shorter).
pub fn read_header_bytes(path: &std::path::Path, what: &str) -> Result<Vec<u8>> {
    use std::io::Read;
    let f = std::fs::File::open(path).map_err(|e| io_error(&format!("cannot open {what}"), e))?;
    let mut head = Vec::with_capacity(HEADER_LEN);
    f.take(HEADER_LEN as u64)
        .read_to_end(&mut head)
        .map_err(|e| io_error(&format!("cannot read {what}"), e))?;
    Ok(head)
}

/// A Corrupt error naming the file and the offset.
pub fn corrupt(what: &str, offset: u64, reason: &str) -> Error {
    Error::new(
        ErrorKind::Corrupt,
        format!("{what}: {reason} at offset {offset}"),
    )
}

/// An Io error naming what was being done.
pub fn io_error(what: &str, e: std::io::Error) -> Error {
    Error::new(ErrorKind::Io, format!("{what}: {e}")).with_source(e)
}

/// Appends a string as a varint length and its bytes.
pub(crate) fn put_str(out: &mut Vec<u8>, s: &str) {
    engine_api::codec::put_uvarint(out, s.len() as u64);
    out.extend_from_slice(s.as_bytes());
}
