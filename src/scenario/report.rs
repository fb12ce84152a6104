//! Reports: the failure report of one scenario, the summary table, and JUnit XML for CI.

use std::fmt::Write as _;
use std::path::Path;

use quick_junit::{NonSuccessKind, Report, TestCase, TestCaseStatus, TestSuite};

use super::runner::{Scenario, ScenarioOutcome, Verdict};
use crate::error::{Error, Result};
use crate::sim::JournalEntry;

/// Everything a reader needs to see why a scenario failed.
pub fn failure_report(
    scenario: &Scenario,
    failures: &[String],
    journal: &[JournalEntry],
    stderr_tail: Option<&str>,
) -> String {
    let mut r = String::new();
    let _ = writeln!(r, "FAILED {} ({})", scenario.id(), scenario.path.display());
    let _ = writeln!(r, "  {}", scenario.file.description);
    let _ = writeln!(r, "  what did not hold:");
    for f in failures {
        let _ = writeln!(r, "    - {f}");
    }
    if journal.is_empty() {
        let _ = writeln!(r, "  the simulator received no request");
    } else {
        let _ = writeln!(r, "  requests the simulator received ({}):", journal.len());
        for e in journal {
            let params: Vec<String> = e.params.iter().map(|(k, v)| format!("{k}={v}")).collect();
            let _ = writeln!(
                r,
                "    #{} {} {} user={} -> {} ({} bytes{}{}) [{}]",
                e.seq + 1,
                e.method,
                e.path,
                e.user.as_deref().unwrap_or("-"),
                e.status,
                e.bytes,
                if e.cut() { ", cut by fault" } else { "" },
                if e.faults.is_empty() {
                    String::new()
                } else {
                    format!(", faults: {}", e.faults.join("+"))
                },
                params.join(" ")
            );
        }
    }
    if let Some(tail) = stderr_tail {
        let lines: Vec<&str> = tail.lines().collect();
        let shown = &lines[lines.len().saturating_sub(STDERR_LINES)..];
        if shown.is_empty() {
            let _ = writeln!(r, "  the connector wrote nothing to stderr");
        } else {
            let _ = writeln!(
                r,
                "  the connector's stderr (last {} of {} lines):",
                shown.len(),
                lines.len()
            );
            for line in shown {
                let _ = writeln!(r, "    | {line}");
            }
        }
    }
    r
}

/// Lines of an external connector's stderr shown in a failure report.
const STDERR_LINES: usize = 40;

/// The summary table printed by `qharness conform`.
pub fn table(results: &[(Scenario, ScenarioOutcome)]) -> String {
    let width = results
        .iter()
        .map(|(s, _)| s.id().len())
        .max()
        .unwrap_or(8)
        .max(8);
    let mut t = String::new();
    let _ = writeln!(t, "{:<width$}  {:<7}  {:>8}", "scenario", "result", "time");
    for (s, o) in results {
        let result = match &o.verdict {
            Verdict::Passed => "ok",
            Verdict::Failed => "FAILED",
            Verdict::Skipped(_) => "skipped",
        };
        let _ = writeln!(
            t,
            "{:<width$}  {:<7}  {:>7.2}s",
            s.id(),
            result,
            o.duration.as_secs_f64()
        );
        for n in &o.notes {
            let _ = writeln!(t, "{:<width$}    {n}", "");
        }
        if let Verdict::Skipped(why) = &o.verdict {
            let _ = writeln!(t, "{:<width$}    {why}", "");
        }
    }
    let passed = results.iter().filter(|(_, o)| o.passed()).count();
    let failed = results
        .iter()
        .filter(|(_, o)| o.verdict == Verdict::Failed)
        .count();
    let skipped = results.len() - passed - failed;
    let _ = writeln!(
        t,
        "\n{} scenarios: {passed} passed, {failed} failed, {skipped} skipped",
        results.len()
    );
    t
}

/// Writes a JUnit XML report.
pub fn write_junit(results: &[(Scenario, ScenarioOutcome)], path: &Path) -> Result<()> {
    let mut report = Report::new("qharness conform");
    let mut suites: Vec<TestSuite> = Vec::new();
    for (s, o) in results {
        let status = match &o.verdict {
            Verdict::Passed => TestCaseStatus::success(),
            Verdict::Failed => {
                let mut st = TestCaseStatus::non_success(NonSuccessKind::Failure);
                st.set_message(o.failures.first().cloned().unwrap_or_default());
                st.set_description(o.report.clone());
                st
            }
            Verdict::Skipped(why) => {
                let mut st = TestCaseStatus::skipped();
                st.set_message(why.clone());
                st
            }
        };
        let mut case = TestCase::new(s.name.clone(), status);
        case.set_classname(s.group.clone());
        case.set_time(o.duration);
        if !o.notes.is_empty() {
            case.set_system_out(o.notes.join("\n"));
        }
        match suites.iter_mut().find(|t| t.name.as_str() == s.group) {
            Some(suite) => {
                suite.add_test_case(case);
            }
            None => {
                let mut suite = TestSuite::new(s.group.clone());
                suite.add_test_case(case);
                suites.push(suite);
            }
        }
    }
    report.add_test_suites(suites);
    let xml = report.to_string().map_err(|e| Error::Unexpected {
        origin: path.display().to_string(),
        offset: 0,
        problem: format!("could not render the JUnit report: {e}"),
    })?;
    std::fs::write(path, xml).map_err(|e| Error::io("writing the JUnit report to", path, e))
}
