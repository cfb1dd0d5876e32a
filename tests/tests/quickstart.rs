//! `docs/quickstart.md`, followed to the letter. The page itself is read (never a copy):
//! its ```` ```sh ```` blocks become one bash script, in order; its
//! ```` ```toml file=PATH ```` and ```` ```rust file=PATH ```` blocks are written to PATH
//! at their place in it; the ```` ```text output ```` block must be what the run prints.
//! Only three things are adapted: the registry's port (`127.0.0.1:8081` becomes a free
//! one), the crate's `eventschema*` dependencies (the page's registry versions become
//! paths to this workspace, the workspace's `Cargo.lock` is reused and cargo runs
//! offline), and `PATH` (the freshly built `eventschema` first).
//!
//! SLOW: compiles the quickstart crate (sharing the workspace's target directory, so only
//! the feature combinations it adds are built). Needs `bash`, `curl` and `git` (for
//! `cargo new`).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use eventschema_tests::{binary, target_and_profile, workspace_root};

/// One fenced block of the page.
#[derive(Debug)]
enum Block {
    Shell(String),
    File { path: String, text: String },
    Output(String),
}

/// The fenced blocks the test acts on; other blocks (none today) are prose.
fn blocks(markdown: &str) -> Vec<Block> {
    let mut out = Vec::new();
    let mut lines = markdown.lines();
    while let Some(line) = lines.next() {
        let Some(info) = line.strip_prefix("```") else {
            continue;
        };
        let info = info.trim().to_owned();
        let mut body = String::new();
        for line in lines.by_ref() {
            if line.starts_with("```") {
                break;
            }
            body.push_str(line);
            body.push('\n');
        }
        let mut words = info.split_whitespace();
        let language = words.next().unwrap_or_default();
        let attribute = words.next();
        match (language, attribute) {
            ("sh", None) => out.push(Block::Shell(body)),
            ("text", Some("output")) => out.push(Block::Output(body)),
            (_, Some(file)) if file.starts_with("file=") => out.push(Block::File {
                path: file["file=".len()..].to_owned(),
                text: body,
            }),
            _ => panic!("quickstart.md: a ```{info} block the test does not know how to run"),
        }
    }
    out
}

/// The manifest with the published versions replaced by this workspace's crates.
fn with_workspace_paths(manifest: &str) -> String {
    let root = workspace_root();
    let mut replaced = manifest.to_owned();
    for (line, folder) in [
        ("eventschema = \"0.1\"", "runtime"),
        ("eventschema-codegen = \"0.1\"", "codegen"),
    ] {
        assert!(
            manifest.lines().any(|l| l.trim() == line),
            "quickstart.md's Cargo.toml no longer has `{line}`"
        );
        let name = line.split(' ').next().unwrap();
        let path = root.join(folder);
        replaced = replaced.replace(
            line,
            &format!("{name} = {{ path = {:?} }}", path.display().to_string()),
        );
    }
    replaced
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Kills the script's process group (the background registry included) on every exit.
struct Group(u32);

impl Drop for Group {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-KILL", "--", &format!("-{}", self.0)])
            .stderr(Stdio::null())
            .status();
    }
}

#[test]
fn the_quickstart_runs_as_written() {
    let page = std::fs::read_to_string(workspace_root().join("docs/quickstart.md")).unwrap();
    let blocks = blocks(&page);
    let port = free_port();
    let lock = workspace_root().join("Cargo.lock");
    // Whatever happens, the background registry goes too (else its open stdout would
    // keep the test waiting).
    let mut script =
        String::from("set -euo pipefail\ntrap 'kill $(jobs -p) 2>/dev/null || true' EXIT\n");
    let mut expected = Vec::new();
    for block in &blocks {
        match block {
            Block::Shell(commands) => script.push_str(commands),
            Block::File { path, text } => {
                let text = if path.ends_with("Cargo.toml") {
                    with_workspace_paths(text)
                } else {
                    text.clone()
                };
                assert!(!text.contains("QUICKSTART_EOF"));
                script.push_str(&format!(
                    "cat > {path} <<'QUICKSTART_EOF'\n{text}QUICKSTART_EOF\n"
                ));
                if path.ends_with("Cargo.toml") {
                    let crate_dir = Path::new(path).parent().unwrap();
                    script.push_str(&format!(
                        "cp {:?} {}/Cargo.lock\n",
                        lock.display().to_string(),
                        crate_dir.display()
                    ));
                }
            }
            Block::Output(text) => expected.push(text.clone()),
        }
    }
    assert!(
        blocks
            .iter()
            .any(|b| matches!(b, Block::File { path, .. } if path.ends_with("build.rs"))),
        "the quickstart lost its build.rs"
    );
    assert_eq!(expected.len(), 1, "one output block");
    let script = script.replace("127.0.0.1:8081", &format!("127.0.0.1:{port}"));

    let eventschema_dir = binary("eventschema").parent().unwrap().to_path_buf();
    let cargo = PathBuf::from(std::env::var_os("CARGO").unwrap_or_else(|| env!("CARGO").into()));
    let mut path = vec![eventschema_dir];
    if let Some(dir) = cargo.parent() {
        path.push(dir.to_path_buf());
    }
    path.extend(std::env::split_paths(
        &std::env::var_os("PATH").unwrap_or_default(),
    ));
    let (target, _) = target_and_profile();
    let dir = tempfile::tempdir().unwrap();
    let child = Command::new("bash")
        .arg("-c")
        .arg(&script)
        .current_dir(dir.path())
        .env("PATH", std::env::join_paths(path).unwrap())
        .env("CARGO_TARGET_DIR", &target)
        .env("CARGO_NET_OFFLINE", "true")
        .env("NO_COLOR", "1")
        .env("RUST_LOG", "warn")
        .env_remove("CARGO_MANIFEST_DIR")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .spawn()
        .unwrap();
    let _group = Group(child.id());
    let output = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "the quickstart failed ({}):\n--- stdout\n{stdout}\n--- stderr\n{stderr}\n--- script\n{script}",
        output.status
    );
    assert!(
        stdout.contains(&expected[0]),
        "expected\n{}\nin the output:\n{stdout}",
        expected[0]
    );
    // The registry holds both versions, registered by the page's `push`es.
    assert!(stdout.contains("[1,2]"), "{stdout}");
}
