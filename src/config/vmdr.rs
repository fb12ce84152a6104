//! The VMDR module's settings: the Host List and Host List Detection filters, paging and the
//! KnowledgeBase join. Which of them apply to which VMDR stream is in the stream registry
//! ([`crate::stream::StreamRow::settings`]).

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::qualys::filter::{
    ArfKernelFilter, InvalidValue, StatusSet, TagFilter, TagSelector, parse_tag_list,
};

settings_section! {
    /// The VMDR section of the settings.
    pub struct VmdrSettings {
        /// Vulnerability statuses: `"New,Active"` or `["New", "Active"]`. Default: all four.
        status: StatusList,
        /// Asset tag names to include, comma-separated.
        tag_include: String,
        /// Asset tag names to exclude, comma-separated.
        tag_exclude: String,
        tag_include_selector: String,
        tag_exclude_selector: String,
        /// 0-3 (see [`ArfKernelFilter`]).
        arf_kernel_filter: i64,
        /// Hosts per page (Qualys `truncation_limit`); 0 asks for everything in one response.
        truncation_limit: u32,
        /// Also return detections a user marked ignored (Qualys `include_ignored`; default false,
        /// as Qualys's own default).
        include_ignored: bool,
        /// Also return disabled detections (Qualys `include_disabled`; default false).
        include_disabled: bool,
        /// QIDs per KnowledgeBase request.
        kb_batch_size: usize,
        /// Join KnowledgeBase facts onto detections (default true).
        knowledge_base: bool,
    }
}

/// A status list written either as one comma-separated string or as a TOML array.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(untagged)]
pub enum StatusList {
    Text(String),
    List(Vec<String>),
}

impl StatusList {
    fn joined(&self) -> String {
        match self {
            StatusList::Text(s) => s.clone(),
            StatusList::List(v) => v.join(","),
        }
    }
}

/// The checked VMDR settings, with Qualys's defaults filled in.
#[derive(Debug, Clone)]
pub struct VmdrConfig {
    pub statuses: StatusSet,
    pub tags: TagFilter,
    pub arf_kernel_filter: Option<ArfKernelFilter>,
    pub truncation_limit: u32,
    pub include_ignored: bool,
    pub include_disabled: bool,
    pub kb_batch_size: usize,
    pub knowledge_base: bool,
}

impl VmdrSettings {
    /// Checks every value that is set (whichever stream is selected: a wrong value is wrong
    /// everywhere) and fills in the defaults.
    pub(super) fn check(&self) -> Result<VmdrConfig> {
        let statuses = self.check_status()?;
        let tags = self.check_tags()?;
        let arf_kernel_filter = match self.arf_kernel_filter {
            None => None,
            Some(v @ 0..=3) => Some(ArfKernelFilter::try_from(v as u8).map_err(|e| {
                Error::config("arf_kernel_filter", e.to_string(), "use 0, 1, 2 or 3")
            })?),
            Some(v) => {
                return Err(Error::config(
                    "arf_kernel_filter",
                    format!("{v} is out of range"),
                    "use 0 (no kernel filtering), 1 (exclude vulnerabilities on non-running kernels), \
                     2 (only those on non-running kernels) or 3 (only those on running kernels)",
                ));
            }
        };
        let kb_batch_size = self.kb_batch_size.unwrap_or(300);
        if !(1..=1000).contains(&kb_batch_size) {
            return Err(Error::config(
                "kb_batch_size",
                format!("{kb_batch_size} is out of range"),
                "use 1 to 1000 QIDs per KnowledgeBase request (300 is a safe default)",
            ));
        }
        Ok(VmdrConfig {
            statuses,
            tags,
            arf_kernel_filter,
            truncation_limit: self.truncation_limit.unwrap_or(1000),
            include_ignored: self.include_ignored.unwrap_or(false),
            include_disabled: self.include_disabled.unwrap_or(false),
            kb_batch_size,
            knowledge_base: self.knowledge_base.unwrap_or(true),
        })
    }

    fn check_status(&self) -> Result<StatusSet> {
        let Some(list) = &self.status else {
            return Ok(StatusSet::ALL);
        };
        let joined = list.joined();
        StatusSet::parse_list(&joined).map_err(|e| {
            Error::config(
                "status",
                e.to_string(),
                "use a comma-separated subset of New, Active, Re-Opened, Fixed (default: all four)",
            )
        })
    }

    fn check_tags(&self) -> Result<TagFilter> {
        const RULE: &str = "the connector documentation says the asset tag set to include and the \
                            asset tag set to exclude each require the other";
        let include = self
            .tag_include
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty());
        let exclude = self
            .tag_exclude
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty());
        match (include, exclude) {
            (Some(_), None) => {
                return Err(Error::config(
                    "tag_exclude",
                    format!("tag_include is set but tag_exclude is missing; {RULE}"),
                    "set tag_exclude (--tag-exclude) as well, or remove tag_include",
                ));
            }
            (None, Some(_)) => {
                return Err(Error::config(
                    "tag_include",
                    format!("tag_exclude is set but tag_include is missing; {RULE}"),
                    "set tag_include (--tag-include) as well, or remove tag_exclude",
                ));
            }
            _ => {}
        }
        let list = |setting: &str, v: Option<&str>| -> Result<Vec<String>> {
            match v {
                None => Ok(Vec::new()),
                Some(v) => parse_tag_list(v).map_err(|e| {
                    Error::config(
                        setting,
                        e.to_string(),
                        "separate tag names with commas, e.g. \"Prod,PCI & Card\"",
                    )
                }),
            }
        };
        let selector = |setting: &str, v: &Option<String>| -> Result<TagSelector> {
            match v {
                None => Ok(TagSelector::Any),
                Some(v) => v.parse().map_err(|e: InvalidValue| {
                    Error::config(setting, e.to_string(), "use any or all")
                }),
            }
        };
        Ok(TagFilter {
            include: list("tag_include", include)?,
            include_selector: selector("tag_include_selector", &self.tag_include_selector)?,
            exclude: list("tag_exclude", exclude)?,
            exclude_selector: selector("tag_exclude_selector", &self.tag_exclude_selector)?,
        })
    }
}

/// The flags of the VMDR module's settings ([`VmdrSettings`]).
#[derive(clap::Args, Debug, Clone, Default)]
pub struct VmdrFlags {
    /// Vulnerability statuses, comma-separated: New,Active,Re-Opened,Fixed (default: all).
    #[arg(long)]
    pub status: Option<String>,
    /// Asset tag names to include, comma-separated (requires --tag-exclude).
    #[arg(long)]
    pub tag_include: Option<String>,
    /// Asset tag names to exclude, comma-separated (requires --tag-include).
    #[arg(long)]
    pub tag_exclude: Option<String>,
    /// any (default) or all.
    #[arg(long)]
    pub tag_include_selector: Option<String>,
    /// any (default) or all.
    #[arg(long)]
    pub tag_exclude_selector: Option<String>,
    /// 0 no filter, 1 exclude non-running kernels, 2 only non-running, 3 only running kernels.
    #[arg(long, allow_negative_numbers = true)]
    pub arf_kernel_filter: Option<i64>,
    /// Hosts per page (default 1000).
    #[arg(long)]
    pub truncation_limit: Option<u32>,
    /// Also return detections marked ignored (Qualys include_ignored=1).
    #[arg(long)]
    pub include_ignored: bool,
    /// Also return disabled detections (Qualys include_disabled=1).
    #[arg(long)]
    pub include_disabled: bool,
    /// QIDs per KnowledgeBase request (default 300).
    #[arg(long)]
    pub kb_batch_size: Option<usize>,
    /// Do not join KnowledgeBase facts (title, CVEs, CVSS) onto detections.
    #[arg(long)]
    pub no_knowledge_base: bool,
}

impl VmdrFlags {
    /// The section these flags set (a flag not given is a key not set).
    pub fn settings(&self) -> VmdrSettings {
        VmdrSettings {
            status: self.status.clone().map(StatusList::Text),
            tag_include: self.tag_include.clone(),
            tag_exclude: self.tag_exclude.clone(),
            tag_include_selector: self.tag_include_selector.clone(),
            tag_exclude_selector: self.tag_exclude_selector.clone(),
            arf_kernel_filter: self.arf_kernel_filter,
            truncation_limit: self.truncation_limit,
            include_ignored: self.include_ignored.then_some(true),
            include_disabled: self.include_disabled.then_some(true),
            kb_batch_size: self.kb_batch_size,
            knowledge_base: self.no_knowledge_base.then_some(false),
        }
    }
}
