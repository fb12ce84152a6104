//! Host pages: the answers of Host List Detection and Host List, rendered incrementally as
//! [`ChunkSource`]s, so a page of millions of hosts streams in bounded memory.
//!
//! A page walks the host source from its `id_min`, keeps the hosts (and detections) the query
//! and the caller's asset-group scope select, as they stand at the page's moment (the tenant's
//! clock), renders each as it goes, and after `truncation_limit` hosts looks ahead for the next
//! matching host: if there is one, the page ends with the truncation WARNING pointing at it;
//! if not, the page is the last and has no WARNING. `HOST_LIST` is opened only when a first host
//! matches, since Qualys omits it from an empty answer.

use std::sync::Arc;

use crate::sim::server::response::{CHUNK_TARGET, ChunkSource};
use crate::sim::tenant::{Tenant, VmdrData};
use crate::sim::timestamp::Timestamp;
use crate::sim::vmdr::host_source::{DetectionView, HostCursor, HostRef, HostView, SynthScratch};
use crate::sim::vmdr::params::{DetectionQuery, HostDetails, HostFilter, HostListQuery};
use crate::sim::vmdr::render::{self, Echo, HldShape, HostListShape, dtd};
use crate::sim::vmdr::truncation::next_page_url;
use crate::sim::xml_writer;

/// Where a page is served and who asked: the parts of the request a page repeats.
#[derive(Debug, Clone)]
pub struct PageContext {
    pub origin: String,
    /// The request path (with its API version), repeated in the WARNING URL.
    pub path: String,
    pub params: Vec<(String, String)>,
    pub now: Timestamp,
    pub echo: Option<Echo>,
    /// The `cursor_stuck` fault: the WARNING URL repeats the request's own `id_min`.
    pub cursor_stuck: bool,
}

impl PageContext {
    /// The year of the CONFIDENTIAL comment's copyright.
    pub fn year(&self) -> i32 {
        self.now.to_string()[..4].parse().unwrap_or(2024)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stage {
    Head,
    Hosts,
    Done,
}

/// A host of the tenant as a view at `now`, or `None` when it does not exist yet or `hosts`
/// (and, for detection pages, the detection filter) leaves nothing of it.
fn matching_view<'a>(
    vmdr: &'a VmdrData,
    r: HostRef,
    scratch: &'a mut SynthScratch,
    hosts: &HostFilter,
    detections: Option<&DetectionQuery>,
    now: Timestamp,
) -> Option<HostView<'a>> {
    let mut v = match r {
        HostRef::Listed(i) => HostView::at(&vmdr.hosts[i], vmdr, now)?,
        HostRef::Synthetic(i) => vmdr.synthetic.as_ref()?.host(i, scratch),
    };
    if !hosts.keeps(&v, vmdr) {
        return None;
    }
    let Some(q) = detections else { return Some(v) };
    match r {
        HostRef::Listed(i) => {
            let h = &vmdr.hosts[i];
            v.detections.extend(
                h.detections
                    .iter()
                    .filter_map(|d| DetectionView::at(d, h.appears_at, now)),
            )
        }
        HostRef::Synthetic(i) => {
            if let Some(s) = vmdr.synthetic.as_ref() {
                s.fill_detections(i, &mut v)
            }
        }
    }
    v.detections.retain(|d| q.detections.keeps(d));
    (!v.detections.is_empty()).then_some(v)
}

/// Which kind of host page.
#[derive(Debug, Clone)]
enum HostPageQuery {
    Detection {
        query: DetectionQuery,
        shape: HldShape,
    },
    HostList {
        query: HostListQuery,
        shape: HostListShape,
    },
}

/// A Host List Detection or Host List page.
pub struct HostPage {
    tenant: Arc<Tenant>,
    kind: HostPageQuery,
    ctx: PageContext,
    cursor: HostCursor,
    stage: Stage,
    emitted: u64,
    list_open: bool,
    first_id: Option<u64>,
    /// Pending `ID_SET` run (details=None).
    run: Option<(u64, u64)>,
}

impl HostPage {
    /// A Host List Detection page.
    pub fn detection(
        tenant: Arc<Tenant>,
        query: DetectionQuery,
        api_version: u8,
        ctx: PageContext,
    ) -> HostPage {
        let shape = HldShape {
            show_tags: query.show_tags,
            show_results: query.show_results,
            show_asset_id: query.show_asset_id,
            show_reopened_info: query.show_reopened_info,
            affect_running_kernel: query.detections.arf_kernel.is_some(),
            unique_vuln_id: api_version >= 5,
            show_qds: query.show_qds,
        };
        let start = query.hosts.first_candidate();
        HostPage::new(
            tenant,
            start,
            HostPageQuery::Detection { query, shape },
            ctx,
        )
    }

    fn new(tenant: Arc<Tenant>, start: u64, kind: HostPageQuery, ctx: PageContext) -> HostPage {
        HostPage {
            cursor: HostCursor::from_id(&tenant.vmdr, start),
            tenant,
            kind,
            ctx,
            stage: Stage::Head,
            emitted: 0,
            list_open: false,
            first_id: None,
            run: None,
        }
    }

    /// A Host List page.
    pub fn host_list(
        tenant: Arc<Tenant>,
        query: HostListQuery,
        api_version: u8,
        ctx: PageContext,
    ) -> HostPage {
        let shape = HostListShape {
            details: query.details,
            show_tags: query.show_tags,
            show_asset_id: query.show_asset_id,
            serial_number: api_version >= 3 && query.details == HostDetails::All,
            asset_group_ids: query.show_asset_groups,
        };
        let start = query.hosts.first_candidate();
        HostPage::new(tenant, start, HostPageQuery::HostList { query, shape }, ctx)
    }

    fn root(&self) -> (&'static str, &'static str) {
        match self.kind {
            HostPageQuery::Detection { .. } => {
                ("HOST_LIST_VM_DETECTION_OUTPUT", dtd::HOST_LIST_VM_DETECTION)
            }
            HostPageQuery::HostList { .. } => ("HOST_LIST_OUTPUT", dtd::HOST_LIST),
        }
    }

    fn host_filter(&self) -> &HostFilter {
        match &self.kind {
            HostPageQuery::Detection { query, .. } => &query.hosts,
            HostPageQuery::HostList { query, .. } => &query.hosts,
        }
    }

    fn limit(&self) -> u64 {
        match &self.kind {
            HostPageQuery::Detection { query, .. } => query.truncation_limit,
            HostPageQuery::HostList { query, .. } => query.truncation_limit,
        }
    }

    fn is_id_set(&self) -> bool {
        matches!(&self.kind, HostPageQuery::HostList { query, .. } if query.details == HostDetails::None)
    }

    fn list_name(&self) -> &'static str {
        if self.is_id_set() {
            "ID_SET"
        } else {
            "HOST_LIST"
        }
    }

    fn flush_run(&mut self, out: &mut Vec<u8>) {
        if let Some((a, b)) = self.run.take() {
            render::id_set_entry(out, a, b);
        }
    }
}

impl ChunkSource for HostPage {
    fn fill(&mut self, out: &mut Vec<u8>) -> std::io::Result<bool> {
        let (root, dtd_path) = self.root();
        // Sources append: measure this call's output from where the buffer stood.
        let start = out.len();
        if self.stage == Stage::Head {
            render::document_head(
                out,
                root,
                &self.ctx.origin,
                dtd_path,
                self.ctx.now,
                self.ctx.echo.as_ref(),
            );
            self.stage = Stage::Hosts;
        }
        if self.stage == Stage::Done {
            return Ok(false);
        }
        let tenant = Arc::clone(&self.tenant);
        let limit = self.limit();
        let id_set = self.is_id_set();
        let list_name = self.list_name();
        let mut scratch = SynthScratch::default();
        // Some(next) once the page is over: next is the ID of the first host of the next page.
        let mut end: Option<Option<u64>> = None;
        {
            let (hosts, det, hld, hl) = match &self.kind {
                HostPageQuery::Detection { query, shape } => {
                    (&query.hosts, Some(query), Some(shape), None)
                }
                HostPageQuery::HostList { query, shape } => (&query.hosts, None, None, Some(shape)),
            };
            while out.len() - start < CHUNK_TARGET {
                let Some((r, id)) = self.cursor.peek(&tenant.vmdr) else {
                    end = Some(None);
                    break;
                };
                if hosts.id_max.is_some_and(|m| id > m) {
                    end = Some(None);
                    break;
                }
                let Some(view) =
                    matching_view(&tenant.vmdr, r, &mut scratch, hosts, det, self.ctx.now)
                else {
                    self.cursor.advance(r);
                    continue;
                };
                if limit > 0 && self.emitted == limit {
                    end = Some(Some(id));
                    break;
                }
                if !self.list_open {
                    xml_writer::open(out, 2, list_name);
                    self.list_open = true;
                    self.first_id = Some(id);
                }
                if id_set {
                    self.run = match self.run {
                        Some((a, b)) if b + 1 == id => Some((a, id)),
                        previous => {
                            if let Some((a, b)) = previous {
                                render::id_set_entry(out, a, b);
                            }
                            Some((id, id))
                        }
                    };
                } else if let Some(shape) = hld {
                    render::hld_host(out, &view, shape);
                } else if let Some(shape) = hl {
                    let mut groups: Vec<u64> = if shape.asset_group_ids {
                        tenant
                            .vmdr
                            .groups_of(view.asset_groups, view.ip)
                            .map(|g| g.id)
                            .collect()
                    } else {
                        Vec::new()
                    };
                    groups.sort_unstable();
                    render::host_list_host(out, &view, shape, &groups);
                }
                self.emitted += 1;
                self.cursor.advance(r);
            }
        }
        match end {
            Some(next) => {
                self.finish(out, next);
                Ok(false)
            }
            None => Ok(true),
        }
    }
}

impl HostPage {
    /// Closes the list, adds the WARNING when `next` is the ID of a host left for a later page,
    /// and closes the document.
    fn finish(&mut self, out: &mut Vec<u8>, next: Option<u64>) {
        let (root, _) = self.root();
        self.flush_run(out);
        if self.list_open {
            xml_writer::close(out, 2, self.list_name());
        }
        if let Some(next) = next {
            let id_min = if self.ctx.cursor_stuck {
                self.host_filter().id_min.or(self.first_id).unwrap_or(next)
            } else {
                next
            };
            let url = next_page_url(&self.ctx.origin, &self.ctx.path, &self.ctx.params, id_min);
            render::warning(out, self.limit(), &url);
        }
        render::document_tail(out, root, self.ctx.year());
        self.stage = Stage::Done;
    }
}
