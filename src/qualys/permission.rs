//! The module permissions a Qualys user needs, named as the console names them.

/// The Qualys module permission a stream needs, named as the user sees it in the console.
///
/// Tenant files spell them `manage_vm`, `manage_web_applications` and `manage_pc`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Permission {
    ManageVm,
    ManageWebApplications,
    ManagePc,
}

impl Permission {
    /// Every permission, in console order.
    pub const ALL: [Permission; 3] = [
        Permission::ManageVm,
        Permission::ManageWebApplications,
        Permission::ManagePc,
    ];

    pub fn label(self) -> &'static str {
        match self {
            Permission::ManageVm => "Manage VM module",
            Permission::ManageWebApplications => "Manage Web Applications",
            Permission::ManagePc => "Manage PC module",
        }
    }
}

impl std::fmt::Display for Permission {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.label())
    }
}
