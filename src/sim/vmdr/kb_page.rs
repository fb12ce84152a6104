//! The KnowledgeBase page: the VULNs a query selects, from the listed entries and the synthetic
//! population's QID pool. Small (a batch of QIDs), so it is rendered whole on the first `fill`.

use std::sync::Arc;

use crate::sim::server::response::ChunkSource;
use crate::sim::tenant::{SimVuln, Tenant};
use crate::sim::vmdr::host_pages::PageContext;
use crate::sim::vmdr::params::{KbDetails, KbQuery};
use crate::sim::vmdr::render::{self, dtd};
use crate::sim::xml_writer;

/// A KnowledgeBase page (small: rendered whole on the first `fill`).
pub struct KbPage {
    tenant: Arc<Tenant>,
    query: KbQuery,
    ctx: PageContext,
    done: bool,
}

impl KbPage {
    pub fn new(tenant: Arc<Tenant>, query: KbQuery, ctx: PageContext) -> KbPage {
        KbPage {
            tenant,
            query,
            ctx,
            done: false,
        }
    }
}

impl ChunkSource for KbPage {
    fn fill(&mut self, out: &mut Vec<u8>) -> std::io::Result<bool> {
        if self.done {
            return Ok(false);
        }
        const ROOT: &str = "KNOWLEDGE_BASE_VULN_LIST_OUTPUT";
        render::document_head(
            out,
            ROOT,
            &self.ctx.origin,
            dtd::KNOWLEDGE_BASE,
            self.ctx.now,
            self.ctx.echo.as_ref(),
        );
        let vmdr = &self.tenant.vmdr;
        let entries: Vec<SimVuln> = vmdr
            .kb_qids()
            .into_iter()
            .filter(|q| self.query.keeps(*q))
            .filter_map(|q| vmdr.kb_entry(q))
            .filter(|e| self.query.keeps_entry(e))
            .collect();
        // Qualys omits the list from an answer with nothing in it.
        if !entries.is_empty() {
            if self.query.details == KbDetails::None {
                xml_writer::open(out, 2, "ID_SET");
                for e in &entries {
                    xml_writer::leaf_u64(out, 3, "ID", u64::from(e.qid));
                }
                xml_writer::close(out, 2, "ID_SET");
            } else {
                xml_writer::open(out, 1, "VULN_LIST");
                for e in &entries {
                    render::kb_vuln(out, e, vmdr.cvss_scoring);
                }
                xml_writer::close(out, 1, "VULN_LIST");
            }
        }
        render::document_tail(out, ROOT, self.ctx.year());
        self.done = true;
        Ok(false)
    }
}
