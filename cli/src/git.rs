//! Reads a schemas folder as it was at a git revision, through the `git` command (so any
//! repository layout, worktree or shallow clone that git understands works).

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use anyhow::{Context, bail};

fn git(dir: &Path, args: &[&str]) -> anyhow::Result<Vec<u8>> {
    let output = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .output()
        .context("cannot run git (is it installed and on PATH?)")?;
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        if stderr.trim().is_empty() {
            bail!("git {} failed", args.join(" "));
        }
        bail!("git {} failed: {}", args.join(" "), stderr.trim());
    }
    Ok(output.stdout)
}

fn text(bytes: Vec<u8>) -> anyhow::Result<String> {
    Ok(String::from_utf8(bytes)
        .context("git printed something that is not UTF-8")?
        .trim_end_matches('\n')
        .to_owned())
}

/// The files under `dir` at `rev`, keyed by their path relative to `dir` (`/`-separated).
/// A folder that did not exist at `rev` gives an empty map.
pub fn files_at(dir: &Path, rev: &str) -> anyhow::Result<BTreeMap<String, Vec<u8>>> {
    let root = text(
        git(dir, &["rev-parse", "--show-toplevel"])
            .with_context(|| format!("{} is not inside a git repository", dir.display()))?,
    )?;
    let prefix = text(git(dir, &["rev-parse", "--show-prefix"])?)?;
    let commit = format!("{rev}^{{commit}}");
    git(dir, &["rev-parse", "--verify", "--quiet", &commit])
        .with_context(|| format!("unknown git revision '{rev}'"))?;
    let root = Path::new(&root);
    let pathspec = if prefix.is_empty() {
        "."
    } else {
        prefix.as_str()
    };
    let listing = git(
        root,
        &[
            "ls-tree",
            "-r",
            "-z",
            "--full-tree",
            "--name-only",
            rev,
            "--",
            pathspec,
        ],
    )?;
    let mut files = BTreeMap::new();
    for name in listing.split(|b| *b == 0).filter(|n| !n.is_empty()) {
        let name = String::from_utf8(name.to_vec()).context("a file name is not UTF-8")?;
        let Some(relative) = name.strip_prefix(prefix.as_str()) else {
            continue;
        };
        let content = git(root, &["cat-file", "blob", &format!("{rev}:{name}")])?;
        files.insert(relative.to_owned(), content);
    }
    Ok(files)
}
