//! Lays out every distinct schema of the conformance cases (`core/tests/conformance`, both
//! sides of every case) and a seeded sample of random Avro schemas (`random.rs`) as a schemas
//! folder, one subject per schema, and generates them into
//! one Rust file. A schema the generator cannot express is left out and listed, with the
//! generator's reason, in `unsupported.txt` in OUT_DIR; `tests/corpus.rs` compares that list
//! with the reviewed one in this crate.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

use eventschema_codegen::folder::SchemaFolder;

mod random;

/// How many random Avro schemas join the corpus, and the seed that draws them (the same
/// schemas on every build).
const RANDOM_SCHEMAS: usize = 150;
const RANDOM_SEED: u64 = 0x00e7_e175_c4e3_a001;

/// One distinct schema document.
struct Document {
    format: &'static str,
    text: String,
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let cases = Path::new("../../core/tests/conformance");
    println!("cargo:rerun-if-changed={}", cases.display());
    let mut files = Vec::new();
    for dir in [cases.to_path_buf(), cases.join("other-semantics")] {
        for entry in std::fs::read_dir(&dir)? {
            let path = entry?.path();
            if path.extension().is_some_and(|e| e == "jsonl") {
                files.push(path);
            }
        }
    }
    files.sort();
    // Identical documents once, keyed by their compact JSON (whitespace differences are
    // not different schemas).
    let mut documents: BTreeMap<(&'static str, String), Document> = BTreeMap::new();
    for file in &files {
        println!("cargo:rerun-if-changed={}", file.display());
        for line in std::fs::read_to_string(file)?.lines() {
            if line.trim().is_empty() {
                continue;
            }
            let case: serde_json::Value = serde_json::from_str(line)?;
            let format = match case["format"].as_str() {
                Some("AVRO") => "avro",
                Some("JSON") => "json",
                _ => continue,
            };
            for side in ["old", "new"] {
                let text = match &case[side] {
                    serde_json::Value::String(text) => text.clone(),
                    other => other.to_string(),
                };
                let key = serde_json::from_str::<serde_json::Value>(&text)
                    .map_or_else(|_| text.clone(), |v| v.to_string());
                documents
                    .entry((format, key))
                    .or_insert(Document { format, text });
            }
        }
    }

    let mut numbers: BTreeMap<&str, usize> = BTreeMap::new();
    let mut subjects: Vec<(String, Document)> = documents
        .into_values()
        .map(|document| {
            let number = numbers.entry(document.format).or_default();
            *number += 1;
            (format!("{}_{:03}", document.format, number), document)
        })
        .collect();
    // Shapes no peer wrote: a seeded sample of random Avro schemas (see `random`).
    let mut rng = fastrand::Rng::with_seed(RANDOM_SEED);
    for number in 1..=RANDOM_SCHEMAS {
        let text = random::schema(&mut rng, number).to_string();
        subjects.push((
            format!("random_{number:03}"),
            Document {
                format: "avro",
                text,
            },
        ));
    }

    let mut accepted = Vec::new();
    let mut unsupported = String::new();
    for (subject, document) in &subjects {
        let subject = subject.clone();
        let extension = if document.format == "avro" {
            "avsc"
        } else {
            "json"
        };
        let file = (
            format!("{subject}/1.{extension}"),
            document.text.as_bytes().to_vec(),
        );
        let verdict = SchemaFolder::from_files([file.clone()])
            .map_err(|e| e.to_string())
            .and_then(|folder| {
                eventschema_codegen::generate(&folder)
                    .map(|_| ())
                    .map_err(|e| e.to_string())
            });
        match verdict {
            Ok(()) => accepted.push((subject, document, file)),
            Err(reason) => {
                let reason = reason.replace('\n', " / ");
                writeln!(
                    unsupported,
                    "{subject}\t{}\t{reason}",
                    document.text.replace('\n', " ")
                )?;
            }
        }
    }

    let folder = SchemaFolder::from_files(accepted.iter().map(|(_, _, file)| file.clone()))?;
    let code = eventschema_codegen::generate(&folder)?;
    let out = std::env::var("OUT_DIR")?;
    let out = Path::new(&out);
    std::fs::write(out.join("corpus_generated.rs"), code.as_str())?;
    std::fs::write(out.join("unsupported.txt"), unsupported)?;

    let mut table = String::from(
        "/// The generated schemas: subject, format, text and a round trip through the generated type.\npub static CASES: &[Case] = &[\n",
    );
    for (subject, document, _) in &accepted {
        // Both formats: decode with the generated type, encode again.
        let round_trip =
            format!("|bytes| ::eventschema::Event::encode(&{subject}::decode_any(1, bytes)?)");
        // The schema the generated type registers (its canonical text), as the runtime does.
        let register = format!("|catalog| register_event_of(catalog, {subject}::decode_any)");
        writeln!(
            table,
            "    Case {{ subject: {subject:?}, format: {:?}, schema: {:?}, round_trip: {round_trip}, register: {register} }},",
            document.format, document.text
        )?;
    }
    table.push_str("];\n");
    std::fs::write(out.join("corpus_cases.rs"), table)?;
    Ok(())
}
