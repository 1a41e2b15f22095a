//! Reading small bodies into memory on the blocking pool, with the rest of a request's
//! file-system work, so the transport can send them without touching the file again.

use std::io::{self, Read, Seek, SeekFrom};

use bytes::Bytes;

use crate::config::BODY_CHUNK;
use crate::reply::Body;

/// Bodies up to this size are read whole on the blocking pool, with the rest of the request's
/// file-system work, instead of through the async file reader chunk by chunk.
pub const INLINE_BODY_MAX: u64 = BODY_CHUNK as u64;

/// Reads a small file body into memory. Blocking: call where `resolve` runs.
pub fn inline_small(body: Body) -> io::Result<Body> {
    match body {
        Body::File {
            mut file,
            offset,
            len,
        } if len <= INLINE_BODY_MAX => {
            file.seek(SeekFrom::Start(offset))?;
            let mut buf = vec![0; len as usize];
            file.read_exact(&mut buf)?;
            Ok(Body::Bytes(Bytes::from(buf)))
        }
        other => Ok(other),
    }
}
