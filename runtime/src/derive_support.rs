//! Hidden support for the code `eventschema-macros` expands to: compile-time checks and the
//! conversion of handler results. Not a stable API.

use crate::error::HandlerError;
use crate::event::Event;

/// `str` equality in a const context (for `previous = ..` checks).
pub const fn str_eq(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    let mut i = 0;
    while i < a.len() {
        if a[i] != b[i] {
            return false;
        }
        i += 1;
    }
    true
}

/// Names the bound a handler's event type must meet, so the error points at the type.
pub fn assert_event<E: Event>() {}

/// What a consumer's handler method may return.
#[diagnostic::on_unimplemented(
    message = "a handler must return `()` or `Result<(), HandlerError>`, not `{Self}`",
    label = "handler return type",
    note = "transient errors are retried, permanent ones dead-lettered: HandlerError::transient(e) / HandlerError::permanent(e)"
)]
pub trait HandlerOutput {
    fn into_result(self) -> Result<(), HandlerError>;
}

impl HandlerOutput for () {
    fn into_result(self) -> Result<(), HandlerError> {
        Ok(())
    }
}

impl HandlerOutput for Result<(), HandlerError> {
    fn into_result(self) -> Result<(), HandlerError> {
        self
    }
}
