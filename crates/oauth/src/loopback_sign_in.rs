//! The OAuth sign-in's loopback listener (`listener.rs`), for a sign-in
//! whose authorization address someone else makes: a team server's OIDC
//! sign-in (OpenBao's `auth/<mount>/oidc/auth_url`, docs/architecture.md,
//! "Team vaults"). The same protections as the OAuth sign-in: the browser
//! opener gets only the one-shot start page (a second visit stops the
//! sign-in), a callback without this sign-in's `state` is ignored, the
//! first with it ends the wait, requests not from a trusted user's program
//! are refused (Linux), and a short page tells the browser the outcome.
//!
//! Unlike the OAuth sign-in, the port is exact (the server allows only the
//! redirect addresses its administrator listed) and the path is the
//! caller's (`/oidc/callback`, as `vault login -method=oidc` uses).

use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::Duration;

use super::error::OAuthError;
use super::listener::{Listener, Wait};
use super::OAuthSecret;

pub use super::listener::Callback;

/// A listener on `http://127.0.0.1:<port><path>`, until the sign-in ends.
pub struct LoopbackSignIn {
    listener: Listener,
    cancelled: Arc<AtomicBool>,
}

impl LoopbackSignIn {
    /// Binds 127.0.0.1:`port` (exactly: a port taken is an error saying so).
    pub fn bind(port: u16, callback_path: &'static str) -> Result<Self, OAuthError> {
        Ok(Self {
            listener: Listener::bind_exact(port, callback_path)?,
            cancelled: Arc::new(AtomicBool::new(false)),
        })
    }

    /// Where the browser is sent back to (`http://127.0.0.1:<port><path>`).
    pub fn redirect_uri(&self) -> String {
        self.listener.redirect_uri()
    }

    /// The one-shot start page: the only address to give a browser opener
    /// (it holds nothing secret).
    pub fn browser_url(&self) -> String {
        self.listener.start_url()
    }

    /// Set it to stop [`Self::wait`] with `Cancelled`.
    pub fn cancel_handle(&self) -> Arc<AtomicBool> {
        Arc::clone(&self.cancelled)
    }

    /// Stops [`Self::wait`] with `Cancelled` when `flag` is set (a flag the
    /// caller made before the listener existed: a window's Cancel button).
    pub fn cancelled_by(mut self, flag: Arc<AtomicBool>) -> Self {
        self.cancelled = flag;
        self
    }

    /// Sends the start page's first visitor on to `authorization_url` and
    /// waits for the first callback carrying `state`, which `complete` turns
    /// into the outcome (its error shown to the browser too).
    pub fn wait<T, E: From<OAuthError> + std::fmt::Display>(
        &self,
        authorization_url: &str,
        state: &OAuthSecret,
        timeout: Duration,
        complete: impl FnMut(Callback) -> Result<T, E>,
    ) -> Result<T, E> {
        let wait = Wait {
            authorization_url,
            state,
            timeout,
            cancelled: &self.cancelled,
        };
        self.listener.wait(&wait, complete)
    }
}

/// 256 random bits as 43 base64url characters (a nonce, a `state`).
pub fn random_secret() -> Result<OAuthSecret, OAuthError> {
    super::pkce::random_token()
}
