//! End-to-end tests across the Eventschema crates, and the workspace's tidy checks
//! (dependency rules, file headers). The library holds only what the end-to-end tests
//! share (std only): the workspace's real binaries, a registry process on an ephemeral
//! port, and a minimal HTTP GET.
//!
//! Architecture invariant: nothing depends on this crate.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// The workspace root (this crate's parent folder).
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ sits in the workspace")
        .to_path_buf()
}

/// The cargo running these tests (`CARGO` at run time, else the one that built them).
pub fn cargo() -> Command {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| env!("CARGO").into());
    Command::new(cargo)
}

/// The target directory and profile the running test executable was built into
/// (`<target>/<profile>/deps/<test>`), so that `CARGO_TARGET_DIR` and `--release` are
/// honoured without being passed around.
pub fn target_and_profile() -> (PathBuf, String) {
    let exe = std::env::current_exe().expect("the test executable's path");
    let profile_dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("tests run from <target>/<profile>/deps");
    let profile = profile_dir
        .file_name()
        .expect("a profile folder")
        .to_string_lossy()
        .into_owned();
    let target = profile_dir.parent().expect("a target folder").to_path_buf();
    (target, profile)
}

/// The workspace binaries the end-to-end tests run: `eventschema` (the CLI) and
/// `orders-example`. Built once per test process with the cargo and target directory of
/// the tests (a no-op when they are fresh), so a test never runs a stale binary.
pub fn binary(name: &str) -> PathBuf {
    static BUILT: OnceLock<PathBuf> = OnceLock::new();
    let dir = BUILT.get_or_init(|| {
        let (target, profile) = target_and_profile();
        let mut command = cargo();
        command
            .current_dir(workspace_root())
            .env("CARGO_TARGET_DIR", &target)
            .args([
                "build",
                "-p",
                "eventschema-cli",
                "-p",
                "orders-example",
                "--bins",
            ]);
        if profile == "release" {
            command.arg("--release");
        } else if profile != "debug" {
            command.args(["--profile", &profile]);
        }
        let output = command.output().expect("run cargo build");
        assert!(
            output.status.success(),
            "building the binaries failed:\n{}",
            String::from_utf8_lossy(&output.stderr)
        );
        target.join(profile)
    });
    let path = dir.join(format!("{name}{}", std::env::consts::EXE_SUFFIX));
    assert!(path.is_file(), "no binary at {}", path.display());
    path
}

/// The `eventschema` CLI, quiet and without colour.
pub fn eventschema() -> Command {
    let mut command = Command::new(binary("eventschema"));
    command.env("NO_COLOR", "1").env("RUST_LOG", "warn");
    command
}

/// What a run printed and how it exited.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

/// Runs `command` to completion.
pub fn run(command: &mut Command) -> Run {
    let output = command.output().expect("run the command");
    Run {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

/// A running `eventschema serve` on an ephemeral port, killed on drop.
#[derive(Debug)]
pub struct RegistryProcess {
    child: Child,
    /// `http://127.0.0.1:PORT`.
    pub url: String,
}

impl RegistryProcess {
    /// Starts `eventschema serve --listen 127.0.0.1:0` on `database_url`, reads the URL
    /// from its banner and waits until `/ready` answers 200.
    pub fn start(database_url: &str) -> RegistryProcess {
        let mut child = eventschema()
            .args([
                "serve",
                "--listen",
                "127.0.0.1:0",
                "--database-url",
                database_url,
            ])
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start eventschema serve");
        let stdout = child.stdout.take().expect("stdout");
        let mut reader = BufReader::new(stdout);
        let mut banner = String::new();
        reader.read_line(&mut banner).expect("read the banner");
        // Keep reading: the server logs to stdout, and a closed pipe would fail its writes.
        std::thread::spawn(move || std::io::copy(&mut reader, &mut std::io::sink()));
        let url = banner
            .trim()
            .rsplit(' ')
            .next()
            .filter(|url| url.starts_with("http://"))
            .unwrap_or_else(|| panic!("unexpected banner: {banner}"))
            .to_owned();
        let registry = RegistryProcess { child, url };
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if matches!(http_get(&format!("{}/ready", registry.url)), Ok((200, _))) {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "{} never became ready",
                registry.url
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        registry
    }
}

impl Drop for RegistryProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `GET url` over HTTP/1.0 (status, body): enough for the registry's JSON answers.
pub fn http_get(url: &str) -> std::io::Result<(u16, String)> {
    let rest = url
        .strip_prefix("http://")
        .ok_or_else(|| std::io::Error::other(format!("not an http URL: {url}")))?;
    let (host, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    let mut stream = TcpStream::connect(host)?;
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    write!(
        stream,
        "GET {path} HTTP/1.0\r\nHost: {host}\r\nAccept: application/json\r\n\r\n"
    )?;
    let mut response = String::new();
    stream.read_to_string(&mut response)?;
    let status = response
        .split(' ')
        .nth(1)
        .and_then(|code| code.parse().ok())
        .ok_or_else(|| std::io::Error::other(format!("no status line: {response}")))?;
    let body = response
        .split_once("\r\n\r\n")
        .map(|(_, body)| body.to_owned())
        .unwrap_or_default();
    Ok((status, body))
}

/// Copies a folder tree (schemas folders in temporary directories).
pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}
