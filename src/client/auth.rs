//! How a request proves who sent it.
//!
//! The API server (FO and QPS families) takes HTTP Basic on every request. The API gateway
//! takes a bearer token: the client logs in once (`POST /auth` with the form fields `username`,
//! `password` and `token=true`; the body of the 201 answer is the JWT), reuses the token for
//! every gateway request, and when the gateway answers 401 "JWT expired" logs in again exactly
//! once and repeats the request ([`QualysClient::fetch`]).
//!
//! The password and the token are [`SecretString`]s: never logged, printed, journaled or
//! stored anywhere but here. The login form is built and sent in one place so that the password
//! never sits in a [`super::Request`], whose parameters are logged at debug level.

use std::sync::atomic::{AtomicU64, Ordering};

use reqwest::header::CONTENT_TYPE;
use secrecy::zeroize::Zeroize;
use secrecy::{ExposeSecret, SecretString};
use tokio::sync::Mutex;

use super::{QualysClient, error_reader, read_bounded};
use crate::error::{Error, Exchange, Result};
use crate::qualys::endpoint::{self, Endpoint, Family};

/// The user's credentials.
pub(crate) struct Credentials {
    pub username: String,
    pub password: SecretString,
}

/// What one request carries to authenticate.
pub(crate) enum Authorization {
    /// HTTP Basic with the credentials (API server).
    Basic,
    /// A bearer token of the gateway session; `generation` tells tokens apart when one expires.
    Bearer {
        token: SecretString,
        generation: u64,
    },
}

/// The gateway session: the current token, if logged in.
#[derive(Default)]
pub(crate) struct Session {
    token: Mutex<Option<(SecretString, u64)>>,
    logins: AtomicU64,
}

impl Session {
    /// Logins so far (each one a `POST /auth`).
    pub(crate) fn logins(&self) -> u64 {
        self.logins.load(Ordering::Relaxed)
    }
}

impl QualysClient {
    /// The authorization a request to `endpoint` carries, logging in to the gateway first when
    /// the session has no token yet. Concurrent requests wait for the one login.
    pub(crate) async fn authorization(&self, endpoint: &Endpoint) -> Result<Authorization> {
        if endpoint.family != Family::Gateway {
            return Ok(Authorization::Basic);
        }
        let mut current = self.session.token.lock().await;
        if let Some((token, generation)) = &*current {
            return Ok(Authorization::Bearer {
                token: token.clone(),
                generation: *generation,
            });
        }
        let token = self.login().await?;
        let generation = self.session.logins.fetch_add(1, Ordering::Relaxed) + 1;
        *current = Some((token.clone(), generation));
        Ok(Authorization::Bearer { token, generation })
    }

    /// Forgets the token of `generation` because the gateway said it expired, unless another
    /// request has already replaced it; the next [`authorization`](Self::authorization) logs in
    /// again.
    pub(crate) async fn expire_token(&self, generation: u64) {
        let mut current = self.session.token.lock().await;
        if current.as_ref().is_some_and(|(_, g)| *g == generation) {
            *current = None;
        }
    }

    /// `POST /auth` on the gateway, with the client's retries for transient failures; a refused
    /// login is an account error and is not retried.
    async fn login(&self) -> Result<SecretString> {
        let path = endpoint::GATEWAY_AUTH.path();
        self.retrying(&path, None, async || self.login_attempt(&path).await)
            .await
    }

    async fn login_attempt(&self, path: &str) -> Result<SecretString> {
        let mut exchange = Exchange {
            endpoint: path.to_string(),
            status: None,
            page: None,
        };
        let form = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("username", &self.credentials.username)
            .append_pair("password", self.credentials.password.expose_secret())
            .append_pair("token", "true")
            .finish();
        self.live.requests.fetch_add(1, Ordering::Relaxed);
        tracing::debug!(endpoint = %path, "POST (gateway login)");
        let sent = self
            .http
            .post(self.url(path, &[]))
            .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(form)
            .send()
            .await;
        let mut response = sent.map_err(|source| Error::Http {
            exchange: exchange.clone(),
            during: "sending the login request",
            source,
        })?;
        let status = response.status().as_u16();
        exchange.status = Some(status);
        let facts = self
            .facts(
                &endpoint::GATEWAY_AUTH,
                exchange.clone(),
                response.headers(),
            )
            .await;
        let mut body = read_bounded(&mut response, &exchange).await?;
        if !response.status().is_success() {
            return Err(error_reader::read(&facts, &body));
        }
        let token = std::str::from_utf8(&body)
            .ok()
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .map(SecretString::from);
        body.zeroize();
        token.ok_or_else(|| Error::Unexpected {
            origin: exchange.to_string(),
            offset: 0,
            problem: format!(
                "the gateway accepted the login (HTTP {status}) but its body holds no token"
            ),
        })
    }
}
