//! The gateway's handlers, one per endpoint.
//!
//! | endpoint | answer | refusals of its own |
//! |---|---|---|
//! | `POST /auth` | 201, `text/plain`: the JWT | (the engine refuses bad logins and account states first) |
//! | `GET posture/policy/list` | `{"subscriptionId":..,"policyList":[..]}`, each policy's `lastEvaluatedDate` its latest evaluation at the clock | `lastEvaluationDate` is not modelled: 400 code 1905 |
//! | `GET posture/hostids?policyId=a,b` | `[{"policyId","subscriptionId","hostIds"}]` (hosts evaluated by the clock), a per-policy `"error"` for an unknown policy | non-numeric ID: 400 code 1905 naming `policy_ids` (documented); more than 10 IDs: 400 code 1905 |
//! | `POST posture/postureInfo` | the posture array at the clock, gzip'd unless `compressionRequired=0`; with `lastEvaluationDate` only the postures last evaluated at or after it; 204 when it would be empty | `evidenceRequired`/`compressionRequired` other than 0 or 1: 404 `{"message":"Invalid input Parameter."}` (documented); a `lastEvaluationDate` not in `YYYY-MM-DD[THH:MM:SSZ]` form: 400 code 1905 naming it; the other documented filters: 400 code 1905, not modelled |
//!
//! `lastEvaluationDate` on `postureInfo` is read as "postures whose `lastEvaluatedDate` is at or
//! after the moment", in the form the policy list documents for its parameter of the same name
//! (`YYYY-MM-DD[THH:MM:SSZ]`, UTC). Qualys documents neither the comparison nor the format for
//! `postureInfo`; the choice is recorded in fixtures/README.md.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;

use super::postures::{AnswerView, PolicyRef, PostureAnswer, Segment};
use crate::sim::engine::accounts::JwtSessions;
use crate::sim::engine::handler::{Call, Handler, Rejection};
use crate::sim::server::response::{SimResponse, content_type};
use crate::sim::tenant::Tenant;
use crate::sim::tenant::pc::PolicyStatus;
use crate::sim::vmdr::params::parse_date;

/// Policy IDs one `hostids` request may carry (documented).
const MAX_POLICIES_PER_REQUEST: usize = 10;

/// `POST /auth`: issues a JWT for the user the engine authenticated from the form.
#[derive(Debug, Clone)]
pub struct AuthHandler {
    pub sessions: Arc<JwtSessions>,
}

impl Handler for AuthHandler {
    fn respond(&self, call: &Call<'_>) -> Result<SimResponse, Rejection> {
        if call.request.method != "POST" {
            return Err(Rejection::method_not_allowed(&call.request.method));
        }
        let lifetime = Duration::from_secs(call.tenant.pc.token_lifetime_secs);
        let token = self.sessions.issue(&call.user.login, lifetime, call.now);
        Ok(SimResponse::new(201, content_type::TEXT, token))
    }
}

/// The value of a query or form parameter.
fn param<'c>(call: &'c Call<'_>, name: &str) -> Option<&'c str> {
    call.request
        .params
        .iter()
        .rev()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

/// Rejects parameters outside `known`; documented ones the simulator does not model get a
/// 1905 that says so.
fn check_params(call: &Call<'_>, known: &[&str], not_modelled: &[&str]) -> Result<(), Rejection> {
    for (k, v) in &call.request.params {
        if not_modelled.contains(&k.as_str()) {
            return Err(Rejection::not_modelled_parameter(k, v));
        }
    }
    let unknown: Vec<&str> = call
        .request
        .params
        .iter()
        .map(|(k, _)| k.as_str())
        .filter(|k| !known.contains(k) && !not_modelled.contains(k))
        .collect();
    if unknown.is_empty() {
        Ok(())
    } else {
        Err(Rejection::unknown(&unknown))
    }
}

fn json(status: u16, value: &Value) -> SimResponse {
    SimResponse::new(status, content_type::JSON, value.to_string())
}

/// `GET /pcrs/N.0/posture/policy/list`.
#[derive(Debug, Clone, Copy, Default)]
pub struct PolicyListHandler;

impl Handler for PolicyListHandler {
    fn respond(&self, call: &Call<'_>) -> Result<SimResponse, Rejection> {
        check_params(call, &[], &["lastEvaluationDate"])?;
        let pc = &call.tenant.pc;
        let mut list: Vec<Value> = pc
            .policies
            .iter()
            .map(|p| {
                serde_json::json!({
                    "id": p.id.to_string(),
                    "title": p.title,
                    "createdBy": p.created_by.as_deref().unwrap_or("quays_ab1"),
                    "createdDate": crate::sim::timestamp::Timestamp(pc.evaluated_at.0 - 400 * 86_400).to_string(),
                    "modifiedBy": p.created_by.as_deref().unwrap_or("quays_ab1"),
                    "modifiedDate": crate::sim::timestamp::Timestamp(pc.evaluated_at.0 - 30 * 86_400).to_string(),
                    "lastEvaluatedDate": pc.policy_evaluated_at(p, call.now).to_string(),
                    "status": match p.status { PolicyStatus::Active => "active", PolicyStatus::Inactive => "inactive" },
                    "locked": 0,
                })
            })
            .collect();
        if let Some(s) = pc.synthetic {
            list.push(serde_json::json!({
                "id": s.policy_id.to_string(),
                "title": "Synthetic Policy (qharness)",
                "createdBy": "quays_ab1",
                "lastEvaluatedDate": pc.evaluated_at.to_string(),
                "status": "active",
                "locked": 0,
            }));
        }
        Ok(json(
            200,
            &serde_json::json!({
                "subscriptionId": pc.subscription_id.to_string(),
                "policyList": list,
            }),
        ))
    }
}

/// The policy with this ID: listed, or the synthetic one.
fn find_policy(tenant: &Tenant, id: u64) -> Option<PolicyRef> {
    if let Some(i) = tenant.pc.policies.iter().position(|p| p.id == id) {
        return Some(PolicyRef::Listed(i));
    }
    tenant
        .pc
        .synthetic
        .filter(|s| s.policy_id == id)
        .map(|_| PolicyRef::Synthetic)
}

/// `GET /pcrs/N.0/posture/hostids?policyId=...`.
#[derive(Debug, Clone, Copy, Default)]
pub struct HostIdsHandler;

impl Handler for HostIdsHandler {
    fn respond(&self, call: &Call<'_>) -> Result<SimResponse, Rejection> {
        check_params(call, &["policyId"], &["lastScanDate"])?;
        let raw = param(call, "policyId").ok_or_else(|| Rejection::missing("policyId"))?;
        let mut ids = Vec::new();
        for item in raw.split(',').map(str::trim) {
            // The documented answer for a non-numeric ID names `policy_ids`.
            let id = item.parse::<u64>().map_err(|_| {
                Rejection::invalid("policy_ids", item, format!("Invalid value: {item}"))
            })?;
            ids.push(id);
        }
        if ids.len() > MAX_POLICIES_PER_REQUEST {
            return Err(Rejection::invalid(
                "policy_ids",
                raw,
                format!("at most {MAX_POLICIES_PER_REQUEST} policy IDs per request"),
            ));
        }
        let pc = &call.tenant.pc;
        let subscription = pc.subscription_id.to_string();
        let answer: Vec<Value> = ids
            .iter()
            .map(|&id| {
                let found = find_policy(call.tenant, id);
                let missing = match found {
                    Some(PolicyRef::Listed(i)) => pc.policies[i].missing_at_hostids,
                    Some(PolicyRef::Synthetic) => false,
                    None => true,
                };
                if missing {
                    return serde_json::json!({
                        "policyId": id.to_string(),
                        "subscriptionId": subscription,
                        "hostIds": [],
                        "error": "Error: Compliance Policy does not exist.",
                    });
                }
                let hosts: Vec<String> = match found {
                    Some(PolicyRef::Listed(i)) => pc.policies[i]
                        .hosts
                        .iter()
                        .filter(|h| pc.host_visible(**h, call.now))
                        .map(u64::to_string)
                        .collect(),
                    Some(PolicyRef::Synthetic) => {
                        let s = pc.synthetic.expect("found means present");
                        (0..s.hosts).map(|i| s.host_id(i).to_string()).collect()
                    }
                    None => Vec::new(),
                };
                serde_json::json!({
                    "policyId": id.to_string(),
                    "subscriptionId": subscription,
                    "hostIds": hosts,
                })
            })
            .collect();
        Ok(json(200, &Value::Array(answer)))
    }
}

/// `POST /pcrs/N.0/posture/postureInfo`.
#[derive(Debug, Clone, Copy, Default)]
pub struct PostureInfoHandler;

/// A documented 0/1 flag: its value, the default when absent, `None` when it is neither (the
/// gateway's 404, [`invalid_input_parameter`]).
fn flag(call: &Call<'_>, name: &str, default: bool) -> Option<bool> {
    match param(call, name) {
        None => Some(default),
        Some("0") => Some(false),
        Some("1") => Some(true),
        Some(_) => None,
    }
}

/// The documented answer to a bad `evidenceRequired` or `compressionRequired`.
fn invalid_input_parameter() -> SimResponse {
    json(
        404,
        &serde_json::json!({"message": "Invalid input Parameter."}),
    )
}

/// An ID written as a string or a number.
fn id_of(v: &Value) -> Option<u64> {
    match v {
        Value::Number(n) => n.as_u64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

impl Handler for PostureInfoHandler {
    fn respond(&self, call: &Call<'_>) -> Result<SimResponse, Rejection> {
        if call.request.method != "POST" {
            return Err(Rejection::method_not_allowed(&call.request.method));
        }
        check_params(
            call,
            &[
                "evidenceRequired",
                "compressionRequired",
                "lastEvaluationDate",
            ],
            &[
                "lastScanDate",
                "lastScanDateFrom",
                "lastScanDateTo",
                "statusChangedSince",
                "extendedEvidenceRequired",
                "qdScoreRequired",
                "evidenceTruncationLimit",
            ],
        )?;
        let (Some(evidence), Some(gzip)) = (
            flag(call, "evidenceRequired", false),
            flag(call, "compressionRequired", true),
        ) else {
            return Ok(invalid_input_parameter());
        };
        let evaluated_since = param(call, "lastEvaluationDate")
            .map(|v| parse_date(v).map_err(|r| Rejection::invalid("lastEvaluationDate", v, r)))
            .transpose()?;
        let view = AnswerView {
            now: call.now,
            evaluated_since,
        };
        let body: Value = serde_json::from_slice(&call.request.body).map_err(|e| {
            Rejection::invalid(
                "body",
                "(request body)",
                format!("not the JSON array of the Resolve Host IDs answer: {e}"),
            )
        })?;
        let Value::Array(entries) = body else {
            return Err(Rejection::invalid(
                "body",
                "(request body)",
                "not a JSON array of {\"policyId\", \"subscriptionId\", \"hostIds\"} objects",
            ));
        };
        let tenant = call.tenant;
        let mut segments = Vec::new();
        for entry in &entries {
            let Some(policy_id) = entry.get("policyId").and_then(id_of) else {
                return Err(Rejection::invalid(
                    "policyId",
                    &entry
                        .get("policyId")
                        .map(Value::to_string)
                        .unwrap_or_default(),
                    "each element needs a numeric policyId",
                ));
            };
            let requested: Vec<u64> = entry
                .get("hostIds")
                .and_then(Value::as_array)
                .map(|hosts| hosts.iter().filter_map(id_of).collect())
                .unwrap_or_default();
            // An unknown policy, and hosts the policy does not cover, have no postures.
            let Some(policy) = find_policy(tenant, policy_id) else {
                continue;
            };
            let hosts = match policy {
                PolicyRef::Listed(i) => {
                    let p = &tenant.pc.policies[i];
                    if p.missing_at_hostids {
                        continue;
                    }
                    let position: HashMap<u64, usize> =
                        p.hosts.iter().enumerate().map(|(i, h)| (*h, i)).collect();
                    requested
                        .iter()
                        .filter(|h| tenant.pc.host_visible(**h, call.now))
                        .filter_map(|h| position.get(h).map(|&pos| (*h, pos)))
                        .collect()
                }
                PolicyRef::Synthetic => {
                    let s = tenant.pc.synthetic.expect("found means present");
                    requested
                        .iter()
                        .filter(|&&h| h >= s.first_host_id && (h - s.first_host_id) % 2 == 0)
                        .map(|&h| (h, ((h - s.first_host_id) / 2) as usize))
                        .filter(|&(_, pos)| (pos as u64) < s.hosts)
                        .collect()
                }
            };
            segments.push(Segment { policy, hosts });
        }
        if PostureAnswer::is_empty(tenant, &segments, &view) {
            return Ok(SimResponse::new(204, content_type::JSON, ""));
        }
        let answer = PostureAnswer::new(Arc::clone(tenant), segments, evidence, view);
        Ok(if gzip {
            SimResponse::streamed_gzip(200, content_type::JSON, answer)
        } else {
            SimResponse::streamed(200, content_type::JSON, answer)
        })
    }
}
