//! Helpers shared by the CLI's end-to-end tests: a running `eventschema serve` process, a
//! temporary git repository with a schemas folder, and running the binary.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

/// The `eventschema` binary under test.
pub fn bin() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_eventschema"));
    command.env("NO_COLOR", "1").env("RUST_LOG", "warn");
    command
}

/// A running registry process and its base URL.
pub struct Server {
    pub child: Child,
    pub base: String,
}

impl Server {
    /// Starts `eventschema serve` on a free port and waits for its banner.
    pub fn start(database_url: &str) -> Server {
        let mut child = bin()
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
        let mut line = String::new();
        BufReader::new(stdout)
            .read_line(&mut line)
            .expect("read banner");
        let base = line
            .trim()
            .rsplit(' ')
            .next()
            .filter(|url| url.starts_with("http://"))
            .unwrap_or_else(|| panic!("unexpected banner: {line}"))
            .to_owned();
        Server { child, base }
    }

    /// A registry on an in-memory database.
    pub fn in_memory() -> Server {
        Server::start("sqlite::memory:")
    }

    /// SIGTERM, and the process must exit 0.
    pub fn terminate(mut self) {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .expect("kill -TERM");
        assert!(status.success());
        let exit = self.child.wait().expect("wait");
        assert!(
            exit.success(),
            "graceful shutdown should exit 0, got {exit}"
        );
    }

    /// SIGKILL.
    pub fn kill_hard(mut self) {
        self.child.kill().expect("kill -9");
        self.child.wait().expect("wait");
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// What a run of the binary printed and how it exited.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

/// A temporary git repository whose schemas live in `schemas/`.
pub struct Repo {
    pub dir: tempfile::TempDir,
}

impl Repo {
    pub fn new() -> Repo {
        let repo = Repo {
            dir: tempfile::tempdir().unwrap(),
        };
        repo.git(&["init", "-q"]);
        repo
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Writes `schemas/<relative>`, creating folders.
    pub fn write(&self, relative: &str, text: &str) -> PathBuf {
        let path = self.path().join("schemas").join(relative);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, text).unwrap();
        path
    }

    pub fn git(&self, args: &[&str]) {
        let status = Command::new("git")
            .args(args)
            .current_dir(self.path())
            .stdout(Stdio::null())
            .status()
            .expect("run git");
        assert!(status.success(), "git {args:?}");
    }

    /// Commits everything.
    pub fn commit(&self, message: &str) {
        self.git(&["add", "-A"]);
        self.git(&[
            "-c",
            "user.name=t",
            "-c",
            "user.email=t@t",
            "commit",
            "-q",
            "--no-gpg-sign",
            "-m",
            message,
        ]);
    }

    /// Runs `eventschema ARGS` in the repository's root.
    pub fn run(&self, args: &[&str]) -> Run {
        let output = bin()
            .args(args)
            .current_dir(self.path())
            .output()
            .expect("run eventschema");
        Run {
            code: output.status.code().unwrap_or(-1),
            stdout: String::from_utf8(output.stdout).unwrap(),
            stderr: String::from_utf8(output.stderr).unwrap(),
        }
    }
}
