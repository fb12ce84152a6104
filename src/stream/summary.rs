//! What a run did, reported at the end (stderr for the CLI, a value for scenarios and tests).

use serde::Serialize;

use super::StreamKind;
use crate::client::QualysClient;

/// Counts and notices of one run. Every record that was read but not emitted is counted here,
/// so nothing disappears silently.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct RunSummary {
    pub stream: Option<StreamKind>,
    /// Records written to the sink.
    pub records: u64,
    /// Pages (responses of the paginated endpoint) that completed.
    pub pages: u64,
    pub hosts: u64,
    /// Policies whose postures were fetched (Policy Compliance).
    pub policies: u64,
    /// Detections read, of every type.
    pub detections_read: u64,
    /// Information-gathered detections a server sent although they were not requested.
    pub info_dropped: u64,
    /// Detections of a TYPE other than Confirmed, Potential or Info (dropped, see warnings).
    pub unknown_type_dropped: u64,
    /// KnowledgeBase requests sent and QIDs asked for.
    pub kb_requests: u64,
    pub kb_qids: u64,
    /// QIDs the KnowledgeBase did not know (their KB fields are null).
    pub kb_missing: u64,
    /// HTTP requests, retries and body bytes.
    pub requests: u64,
    pub retries: u64,
    pub bytes: u64,
    /// Time spent waiting on backoff and rate limits.
    pub waited_ms: u64,
    /// Forbidden XML characters replaced by U+FFFD.
    pub invalid_chars_replaced: u64,
    /// Notices for the user (configuration warnings, repairs, drops).
    pub warnings: Vec<String>,
}

impl RunSummary {
    /// A one-paragraph human summary.
    pub fn describe(&self) -> String {
        // Hosts are VMDR's unit; a WAS run has none to report.
        let hosts = if self.hosts > 0 {
            format!(", {} host(s)", self.hosts)
        } else {
            String::new()
        };
        let mut s = format!(
            "{} records from {} page(s){hosts}; {} request(s), {} retr{}, {:.1} MB",
            self.records,
            self.pages,
            self.requests,
            self.retries,
            if self.retries == 1 { "y" } else { "ies" },
            self.bytes as f64 / 1e6
        );
        if self.policies > 0 {
            s.push_str(&format!(
                "; {} polic{}",
                self.policies,
                if self.policies == 1 { "y" } else { "ies" }
            ));
        }
        if self.kb_requests > 0 {
            s.push_str(&format!(
                "; KnowledgeBase: {} QID(s) in {} request(s), {} unknown",
                self.kb_qids, self.kb_requests, self.kb_missing
            ));
        }
        if self.info_dropped > 0 {
            s.push_str(&format!(
                "; {} information-gathered detection(s) dropped",
                self.info_dropped
            ));
        }
        if self.waited_ms > 0 {
            s.push_str(&format!("; waited {:.1}s", self.waited_ms as f64 / 1000.0));
        }
        for w in &self.warnings {
            s.push_str("\nwarning: ");
            s.push_str(w);
        }
        s
    }

    /// Fills the HTTP counters and the notices every stream reports.
    pub(crate) async fn finish(&mut self, client: &QualysClient) {
        let live = client.live();
        self.requests = live.get(&live.requests);
        self.retries = live.get(&live.retries);
        self.bytes = live.get(&live.bytes);
        self.waited_ms = client.waited().await.as_millis() as u64;
        if self.info_dropped > 0 {
            self.warnings.push(format!(
                "the server returned {} information-gathered detection(s) although none were requested; they were dropped",
                self.info_dropped
            ));
        }
        if self.unknown_type_dropped > 0 {
            self.warnings.push(format!(
                "{} detection(s) had a TYPE other than Confirmed, Potential or Info and were dropped",
                self.unknown_type_dropped
            ));
        }
        if self.invalid_chars_replaced > 0 {
            self.warnings.push(format!(
                "{} character(s) not allowed in XML 1.0 were replaced by U+FFFD",
                self.invalid_chars_replaced
            ));
        }
        if self.kb_missing > 0 {
            self.warnings.push(format!(
                "{} QID(s) were not found in the KnowledgeBase; their title, CVEs and CVSS are null",
                self.kb_missing
            ));
        }
    }
}
