//! Fuzz target: arbitrary text through the JSON Schema parser; whatever parses must print
//! canonical and normalized strings that parse again to the same strings.
#![no_main]

use eventschema_core::Limits;
use eventschema_core::json::JsonSchema;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let Ok(schema) = JsonSchema::parse(&text, &[], &Limits::DEFAULT) else {
        return;
    };
    let canonical = schema.canonical_string();
    let again = JsonSchema::parse(&canonical, &[], &Limits::DEFAULT).unwrap_or_else(|err| {
        panic!("the canonical string does not parse: {err}\ninput: {text}\ncanonical: {canonical}")
    });
    assert_eq!(
        again.canonical_string(),
        canonical,
        "the canonical string is not a fixpoint; input: {text}"
    );
    let normalized = schema.normalized_string();
    let renormalized = JsonSchema::parse(&normalized, &[], &Limits::DEFAULT)
        .unwrap_or_else(|err| {
            panic!("the normalized string does not parse: {err}\ninput: {text}\nnormalized: {normalized}")
        })
        .normalized_string();
    assert_eq!(
        renormalized, normalized,
        "the normalized string is not a fixpoint; input: {text}"
    );
});
