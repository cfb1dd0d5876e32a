//! What the integration tests share: where the conformance corpus lives.

use std::path::PathBuf;

/// The peer-written conformance cases, kept in the repository (see its README) so that the
/// tests read nothing outside it.
pub fn conformance_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/conformance")
}
