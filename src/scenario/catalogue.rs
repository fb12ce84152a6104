//! Finding scenarios: files and directories given by the user, or the bundled catalogue.
//!
//! The bundled catalogue (`scenarios/` and the `fixtures/` it refers to) is compiled into the
//! binary, so `qharness conform` works from any directory. It is written out to a temporary
//! directory to run, keeping relative paths (fixture sets, tenant files) intact.

use std::path::{Path, PathBuf};

use include_dir::{Dir, include_dir};

use super::runner::Scenario;
use crate::error::{Error, Result};

static SCENARIOS: Dir<'_> = include_dir!("$CARGO_MANIFEST_DIR/scenarios");
static FIXTURES: Dir<'_> = include_dir!("$CARGO_MANIFEST_DIR/fixtures");

/// Loads every scenario under `paths` (files or directories, searched recursively; `snapshots`
/// directories are skipped). Finding none is an error: an empty run proves nothing.
pub fn discover(paths: &[PathBuf]) -> Result<Vec<Scenario>> {
    let mut files = Vec::new();
    for p in paths {
        if p.is_dir() {
            collect(p, &mut files)?;
        } else if p.is_file() {
            files.push(p.clone());
        } else {
            return Err(Error::InvalidFile {
                path: p.clone(),
                problem: "no such scenario file or directory".into(),
            });
        }
    }
    files.sort();
    files.dedup();
    if files.is_empty() {
        return Err(Error::InvalidFile {
            path: paths.first().cloned().unwrap_or_default(),
            problem: "no scenario (*.toml) found; give scenario files or directories holding them"
                .into(),
        });
    }
    files.iter().map(|f| Scenario::load(f)).collect()
}

fn collect(dir: &Path, out: &mut Vec<PathBuf>) -> Result<()> {
    let entries = std::fs::read_dir(dir).map_err(|e| Error::io("listing", dir, e))?;
    for entry in entries {
        let entry = entry.map_err(|e| Error::io("listing", dir, e))?;
        let path = entry.path();
        if path.is_dir() {
            if path.file_name().is_some_and(|n| n == "snapshots") {
                continue;
            }
            collect(&path, out)?;
        } else if path.extension().is_some_and(|e| e == "toml") {
            out.push(path);
        }
    }
    Ok(())
}

/// The bundled catalogue, written out under `root` (`root/scenarios`, `root/fixtures`).
/// Returns the scenarios directory.
pub fn extract_bundled(root: &Path) -> Result<PathBuf> {
    let scenarios = root.join("scenarios");
    let fixtures = root.join("fixtures");
    for (dir, target) in [(&SCENARIOS, &scenarios), (&FIXTURES, &fixtures)] {
        std::fs::create_dir_all(target).map_err(|e| Error::io("creating", target, e))?;
        dir.extract(target)
            .map_err(|e| Error::io("writing the bundled catalogue to", target, e))?;
    }
    Ok(scenarios)
}

/// Number of scenario files in the bundled catalogue.
pub fn bundled_count() -> usize {
    fn count(d: &Dir<'_>) -> usize {
        d.files()
            .filter(|f| f.path().extension().is_some_and(|e| e == "toml"))
            .count()
            + d.dirs()
                .filter(|s| s.path().file_name().is_none_or(|n| n != "snapshots"))
                .map(count)
                .sum::<usize>()
    }
    count(&SCENARIOS)
}
