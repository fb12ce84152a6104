//! The KnowledgeBase page: the VULNs a query selects, from the listed entries and the synthetic
//! population's QID pool. Small (a batch of QIDs), so it is rendered whole on the first `fill`.

use std::sync::Arc;

use crate::sim::server::response::ChunkSource;
use crate::sim::tenant::Tenant;
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
        let qids: Vec<u32> = self
            .tenant
            .vmdr
            .kb_qids()
            .into_iter()
            .filter(|q| self.query.keeps(*q))
            .collect();
        if !qids.is_empty() {
            if self.query.details == KbDetails::None {
                xml_writer::open(out, 2, "ID_SET");
                for q in &qids {
                    xml_writer::leaf_u64(out, 3, "ID", u64::from(*q));
                }
                xml_writer::close(out, 2, "ID_SET");
            } else {
                xml_writer::open(out, 1, "VULN_LIST");
                for q in qids {
                    if let Some(e) = self.tenant.vmdr.kb_entry(q) {
                        render::kb_vuln(out, &e, self.tenant.vmdr.cvss_scoring);
                    }
                }
                xml_writer::close(out, 1, "VULN_LIST");
            }
        }
        render::document_tail(out, ROOT, self.ctx.year());
        self.done = true;
        Ok(false)
    }
}
