//! Facts of the FO API (`/api/N.0/fo/...` on the API server), shared by the connector and the
//! simulated server: paths, `SIMPLE_RETURN` codes and their texts, header names.
//!
//! Each fact comes from `shared/reference/api/qualys-vmdr-pc.md` (Qualys documentation and real
//! recorded responses). Where the research marks a fact uncertain, the choice made here is noted
//! next to it and in `fixtures/README.md`.

/// FO paths (the `/api/<version>` prefix is added by the caller; Qualys serves 2.0 to 5.0).
pub mod path {
    /// Host List Detection.
    pub const HOST_DETECTION: &str = "/fo/asset/host/vm/detection/";
    /// Host List.
    pub const HOST_LIST: &str = "/fo/asset/host/";
    /// KnowledgeBase vulnerability list.
    pub const KNOWLEDGE_BASE: &str = "/fo/knowledge_base/vuln/";
    /// The API version the connector calls. `/api/2.0` is what the Zscaler-era clients use;
    /// newer versions add optional elements the parser ignores or reads when present.
    pub const API_VERSION_PREFIX: &str = "/api/2.0";
    /// Cheap health/about endpoint used by several clients as a connectivity check.
    pub const MSP_ABOUT: &str = "/msp/about.php";
}

/// `SIMPLE_RETURN/RESPONSE/CODE` values and the texts Qualys sends with them.
pub mod code {
    pub const UNRECOGNIZED_PARAMETER: u32 = 1901;
    pub const MISSING_PARAMETER: u32 = 1903;
    pub const EXCLUSIVE_PARAMETERS: u32 = 1904;
    pub const INVALID_VALUE: u32 = 1905;
    pub const UNSUPPORTED_COMBINATION: u32 = 1907;
    pub const METHOD_INCOMPATIBLE: u32 = 1908;
    pub const CONCURRENCY_LIMIT: u32 = 1960;
    pub const RATE_LIMIT: u32 = 1965;
    /// Not an error: the truncation WARNING that carries the next-page URL.
    pub const TRUNCATED: u32 = 1980;
    /// Maintenance window (Qualys: "API access is temporarily disabled").
    pub const MAINTENANCE: u32 = 1999;
    pub const BAD_LOGIN: u32 = 2000;
    pub const ACCOUNT_EXPIRED: u32 = 2001;
    pub const ACCOUNT_INACTIVE: u32 = 2002;
    pub const REGISTRATION_INCOMPLETE: u32 = 2003;
    pub const SECURE_ID_REQUIRED: u32 = 2011;
    pub const LICENCE_MISSING: u32 = 2012;
    pub const INTERNAL_ERROR: u32 = 999;

    pub const BAD_LOGIN_TEXT: &str = "Bad Login/Password";
    pub const ACCOUNT_EXPIRED_TEXT: &str = "This account has expired.";
    pub const ACCOUNT_INACTIVE_TEXT: &str = "This account is inactive.";
    pub const REGISTRATION_INCOMPLETE_TEXT: &str =
        "Registration must be completed before API requests will be served for this account";
    pub const SECURE_ID_TEXT: &str =
        "SecureID authentication is required for this account, so API access is blocked";
    pub const INTERNAL_ERROR_TEXT: &str = "Internal error. Please contact customer support.";
}

/// Rate and concurrency headers sent on every FO response.
pub mod header {
    pub const RATE_LIMIT: &str = "X-RateLimit-Limit";
    pub const RATE_WINDOW: &str = "X-RateLimit-Window-Sec";
    pub const RATE_REMAINING: &str = "X-RateLimit-Remaining";
    pub const RATE_TO_WAIT: &str = "X-RateLimit-ToWait-Sec";
    pub const CONCURRENCY_LIMIT: &str = "X-Concurrency-Limit-Limit";
    pub const CONCURRENCY_RUNNING: &str = "X-Concurrency-Limit-Running";
    /// Mandatory anti-CSRF header on FO requests; any non-empty value.
    pub const REQUESTED_WITH: &str = "X-Requested-With";
}
