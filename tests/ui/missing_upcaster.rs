//! The generated code of `fixtures/manual-upcast` without the hand-written
//! `UpcastCustomerRenamedV1ToV2`: the build must fail naming the subject, the versions and
//! the fields (`tests/compile_fail.rs`).

include!("manual_upcast_generated.in");

fn main() {}
