//! The simulator's registry rows: how each API family authenticates and says no, and which
//! handler answers each endpoint of the endpoint registry ([`crate::qualys::endpoint`]).
//!
//! Adding a family or an endpoint is adding rows here; the engine reads the table and never
//! names an endpoint. A registered endpoint without a handler row answers "not modelled" in its
//! family's dialect. A stream whose answers can be synthesised at any size (`qharness synth`,
//! the throughput scenarios) has a row in [`SYNTH_WRITERS`].

use std::sync::Arc;

use crate::qualys::endpoint::{self, Family};
use crate::qualys::fo::header;
use crate::sim::dialect::fo::FoDialect;
use crate::sim::dialect::gateway::GatewayDialect;
use crate::sim::dialect::qps::QpsDialect;
use crate::sim::engine::accounts::{BasicAuth, GatewayAuth, JwtSessions};
use crate::sim::engine::routing::RoutingTable;
use crate::sim::synthetic::SynthWriter;
use crate::sim::{pc, vmdr, was};
use crate::stream::StreamKind;

/// The streams with a synthetic answer, and how each is written and summed up.
pub static SYNTH_WRITERS: &[SynthWriter] = &[
    SynthWriter {
        stream: StreamKind::VmdrVulnerabilities,
        write: vmdr::synthetic::write_detections,
        describe: vmdr::synthetic::describe,
    },
    SynthWriter {
        stream: StreamKind::VmdrAssets,
        write: vmdr::synthetic::write_hosts,
        describe: vmdr::synthetic::describe,
    },
    SynthWriter {
        stream: StreamKind::PcPosture,
        write: |opts, w| pc::synthetic::write_answer(opts, w),
        describe: pc::synthetic::describe,
    },
    SynthWriter {
        stream: StreamKind::WasFindings,
        write: |opts, w| was::synthetic::write_page(opts, w),
        describe: was::synthetic::describe,
    },
];

/// The routing table the simulator serves with.
pub fn routing_table() -> RoutingTable {
    // One session store: /auth issues the tokens the gateway's authentication checks.
    let sessions = Arc::new(JwtSessions::default());
    RoutingTable::new()
        .family(Family::Fo, BasicAuth, FoDialect)
        // Only when the tenant sets require_requested_with (the refusal is not documented).
        .header_required_by(Family::Fo, header::REQUESTED_WITH)
        .family(Family::Qps, BasicAuth, QpsDialect)
        .family(
            Family::Gateway,
            GatewayAuth::new(&endpoint::GATEWAY_AUTH, sessions.clone()),
            GatewayDialect,
        )
        // Paths outside the registry (a replayed fixture's fault) speak the API server's own.
        .default_family(Family::Fo)
        .answer(&endpoint::HOST_DETECTION, vmdr::HostDetectionHandler)
        .answer(&endpoint::HOST_LIST, vmdr::HostListHandler)
        .answer(&endpoint::KNOWLEDGE_BASE, vmdr::KnowledgeBaseHandler)
        .answer_without_limits(&endpoint::ABOUT, vmdr::AboutHandler)
        // API limits do not apply to /auth (Qualys); the PCRS endpoints have their own budget.
        .answer_without_limits(&endpoint::GATEWAY_AUTH, pc::AuthHandler { sessions })
        .answer(&endpoint::PCRS_POLICY_LIST, pc::PolicyListHandler)
        .answer(&endpoint::PCRS_HOST_IDS, pc::HostIdsHandler)
        .answer(&endpoint::PCRS_POSTURE_INFO, pc::PostureInfoHandler)
        // WAS is outside the Qualys API limits ("not APIs for Qualys apps like ... WAS").
        .answer_without_limits(&endpoint::WAS_WEBAPP_SEARCH, was::WebAppSearchHandler)
        .answer_without_limits(&endpoint::WAS_WEBAPP_COUNT, was::WebAppCountHandler)
        .answer_without_limits(&endpoint::WAS_WEBAPP_GET, was::WebAppGetHandler)
        .answer_without_limits(&endpoint::WAS_FINDING_SEARCH, was::FindingSearchHandler)
        .answer_without_limits(&endpoint::WAS_FINDING_COUNT, was::FindingCountHandler)
        .answer_without_limits(&endpoint::WAS_FINDING_GET, was::FindingGetHandler)
        .answer_without_limits(&endpoint::QPS_PORTAL_VERSION, was::PortalVersionHandler)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_family_of_the_endpoint_registry_has_a_row() {
        routing_table().assert_covers_registry();
    }

    #[test]
    fn every_vmdr_endpoint_has_a_handler_and_only_about_php_is_outside_the_limits() {
        let table = routing_table();
        for e in [
            &endpoint::HOST_DETECTION,
            &endpoint::HOST_LIST,
            &endpoint::KNOWLEDGE_BASE,
        ] {
            assert!(table.handler(e).is_some_and(|h| h.limited), "{}", e.name);
        }
        assert!(table.handler(&endpoint::ABOUT).is_some_and(|h| !h.limited));
    }

    #[test]
    fn every_qps_endpoint_has_a_handler_outside_the_limits() {
        let table = routing_table();
        for e in endpoint::ENDPOINTS
            .iter()
            .filter(|e| e.family == Family::Qps)
        {
            assert!(table.handler(e).is_some_and(|h| !h.limited), "{}", e.name);
        }
    }

    #[test]
    fn every_gateway_endpoint_has_a_handler_and_only_auth_is_outside_the_limits() {
        let table = routing_table();
        for e in [
            &endpoint::PCRS_POLICY_LIST,
            &endpoint::PCRS_HOST_IDS,
            &endpoint::PCRS_POSTURE_INFO,
        ] {
            assert!(table.handler(e).is_some_and(|h| h.limited), "{}", e.name);
        }
        assert!(
            table
                .handler(&endpoint::GATEWAY_AUTH)
                .is_some_and(|h| !h.limited)
        );
    }
}
