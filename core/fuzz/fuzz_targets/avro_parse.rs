//! Fuzz target: arbitrary text through the Avro parser; whatever parses must print a
//! canonical string that parses again to the same canonical string and the same Parsing
//! Canonical Form.
#![no_main]

use eventschema_core::Limits;
use eventschema_core::avro::AvroSchema;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let Ok(schema) = AvroSchema::parse(&text, &[], &Limits::DEFAULT) else {
        return;
    };
    let canonical = schema.canonical_string();
    let again = AvroSchema::parse(&canonical, &[], &Limits::DEFAULT).unwrap_or_else(|err| {
        panic!("the canonical string does not parse: {err}\ninput: {text}\ncanonical: {canonical}")
    });
    assert_eq!(
        again.canonical_string(),
        canonical,
        "the canonical string is not a fixpoint; input: {text}"
    );
    let _ = schema.normalized_string();
    let _ = schema.name();
    let form = schema.parsing_canonical_form();
    assert_eq!(
        again.parsing_canonical_form(),
        form,
        "re-parsing the canonical string changed the Parsing Canonical Form; input: {text}"
    );
    // The form itself need not re-parse to the same form: it drops `namespace` and writes
    // full names, so a type in the null namespace inside a namespaced one (`".fn"`) is
    // written `"fn"` and read back in the enclosing namespace, as with Java's
    // `SchemaNormalization`. It must still be JSON.
    assert!(
        serde_json::from_str::<serde_json::Value>(&form).is_ok(),
        "the Parsing Canonical Form is not JSON: {form}"
    );
    let _ = (
        schema.fingerprint_rabin(),
        schema.fingerprint_sha256(),
        schema.fingerprint_md5(),
    );
});
