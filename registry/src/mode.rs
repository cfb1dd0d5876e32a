//! Registry modes (READWRITE, READONLY, READONLY_OVERRIDE, IMPORT), global or per subject.

use std::fmt;
use std::str::FromStr;

/// What writes a scope accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Mode {
    ReadWrite,
    ReadOnly,
    /// Read-only, and not overridable by a subject-level mode.
    ReadOnlyOverride,
    /// Registrations carry their own ids and versions; no compatibility check.
    Import,
}

impl Mode {
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::ReadWrite => "READWRITE",
            Mode::ReadOnly => "READONLY",
            Mode::ReadOnlyOverride => "READONLY_OVERRIDE",
            Mode::Import => "IMPORT",
        }
    }

    pub fn is_read_only(self) -> bool {
        matches!(self, Mode::ReadOnly | Mode::ReadOnlyOverride)
    }
}

impl fmt::Display for Mode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An unknown mode name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid mode '{0}' (expected one of READWRITE, READONLY, READONLY_OVERRIDE, IMPORT)")]
pub struct InvalidMode(pub String);

impl FromStr for Mode {
    type Err = InvalidMode;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_uppercase().as_str() {
            "READWRITE" => Ok(Mode::ReadWrite),
            "READONLY" => Ok(Mode::ReadOnly),
            "READONLY_OVERRIDE" => Ok(Mode::ReadOnlyOverride),
            "IMPORT" => Ok(Mode::Import),
            _ => Err(InvalidMode(s.to_owned())),
        }
    }
}
