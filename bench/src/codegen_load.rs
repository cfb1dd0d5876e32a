//! Code generation benchmark: the time to read and generate 1,000 synthetic schemas
//! (`--subjects` subjects of `--versions` versions each: records with nested records,
//! enums, arrays, maps, optional and logical-type fields, each version adding a field with
//! a default, so every subject also gets upcasters). With `--write-crate DIR` it also writes
//! a crate holding the generated code, whose compile time `bench/compile-generated.sh`
//! measures.
//!
//! Run: `cargo build --release -p eventschema-bench && target/release/codegen-load`

use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use clap::Parser;
use eventschema_codegen::folder::SchemaFolder;

#[derive(Debug, Parser)]
struct Args {
    #[arg(long, default_value_t = 250)]
    subjects: usize,
    #[arg(long, default_value_t = 4)]
    versions: usize,
    /// Timed runs (the median is reported).
    #[arg(long, default_value_t = 5)]
    runs: usize,
    /// Also write a crate with the generated code here (for compile-generated.sh).
    #[arg(long)]
    write_crate: Option<PathBuf>,
    /// The runtime crate the written crate depends on.
    #[arg(long, default_value = "runtime")]
    runtime_path: PathBuf,
}

/// Version `version` (1-based) of synthetic subject `subject`.
fn schema(subject: usize, version: usize) -> String {
    let mut fields = vec![
        r#"{"name":"id","type":{"type":"string","logicalType":"uuid"}}"#.to_owned(),
        r#"{"name":"at","type":{"type":"long","logicalType":"timestamp-millis"}}"#.to_owned(),
        r#"{"name":"amount","type":"long"}"#.to_owned(),
        r#"{"name":"note","type":["null","string"],"default":null}"#.to_owned(),
        r#"{"name":"status","type":{"type":"enum","name":"Status","symbols":["NEW","DONE"],"default":"NEW"}}"#
            .to_owned(),
        r#"{"name":"customer","type":{"type":"record","name":"Customer","fields":[{"name":"name","type":"string"},{"name":"email","type":["null","string"],"default":null}]}}"#
            .to_owned(),
        r#"{"name":"lines","type":{"type":"array","items":{"type":"record","name":"Line","fields":[{"name":"sku","type":"string"},{"name":"qty","type":"int"}]}}}"#
            .to_owned(),
        r#"{"name":"tags","type":{"type":"map","values":"string"},"default":{}}"#.to_owned(),
    ];
    for added in 2..=version {
        fields.push(format!(
            r#"{{"name":"extra_{added}","type":"string","default":"v{added}"}}"#
        ));
    }
    format!(
        r#"{{"type":"record","name":"Event{subject}","namespace":"bench.s{subject}","fields":[{}]}}"#,
        fields.join(",")
    )
}

fn files(args: &Args) -> Vec<(String, Vec<u8>)> {
    let mut files = Vec::new();
    for subject in 0..args.subjects {
        for version in 1..=args.versions {
            files.push((
                format!("bench.subject-{subject:04}/{version}.avsc"),
                schema(subject, version).into_bytes(),
            ));
        }
    }
    files
}

fn median(mut times: Vec<Duration>) -> Duration {
    times.sort();
    times.get(times.len() / 2).copied().unwrap_or_default()
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let inputs = files(&args);
    let count = inputs.len();
    let (mut read_times, mut generate_times) = (Vec::new(), Vec::new());
    let mut output = String::new();
    for _ in 0..args.runs.max(1) {
        let start = Instant::now();
        let folder = SchemaFolder::from_files(inputs.clone()).context("synthetic folder")?;
        read_times.push(start.elapsed());
        let start = Instant::now();
        let code = eventschema_codegen::generate(&folder).context("generate")?;
        generate_times.push(start.elapsed());
        output = code.into_string();
    }
    let (read, generate) = (median(read_times), median(generate_times));
    println!(
        "schemas: {count} ({} subjects x {} versions)",
        args.subjects, args.versions
    );
    println!(
        "read folder (layout + TOML): {:.1} ms",
        read.as_secs_f64() * 1e3
    );
    println!(
        "generate (parse, types, upcasters, prettyplease): {:.1} ms ({:.0} schemas/s)",
        generate.as_secs_f64() * 1e3,
        count as f64 / generate.as_secs_f64()
    );
    println!(
        "output: {} lines, {} KiB",
        output.lines().count(),
        output.len() / 1024
    );
    if let Some(dir) = &args.write_crate {
        let runtime = std::fs::canonicalize(&args.runtime_path)
            .with_context(|| format!("runtime crate at {}", args.runtime_path.display()))?;
        std::fs::create_dir_all(dir.join("src"))?;
        std::fs::write(
            dir.join("Cargo.toml"),
            format!(
                "[package]\nname = \"eventschema-generated-bench\"\nversion = \"0.0.0\"\nedition = \"2024\"\npublish = false\n\n[dependencies]\neventschema = {{ path = {:?} }}\n\n[workspace]\n",
                runtime.display().to_string()
            ),
        )?;
        std::fs::write(
            dir.join("src/lib.rs"),
            "//! Generated by codegen-load for compile-generated.sh.\ninclude!(\"generated.rs\");\n",
        )?;
        std::fs::write(dir.join("src/generated.rs"), &output)?;
        println!("crate written to {}", dir.display());
    }
    Ok(())
}
