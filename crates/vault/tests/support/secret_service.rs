//! The tests that need the OS keychain run under a private Secret Service
//! (`scripts/with-secret-service.sh`); shared by the engine's and the
//! session crate's tests.

pub fn require_secret_service() {
    assert_eq!(
        std::env::var("KEYBEARER_KEYRING_SESSION").as_deref(),
        Ok("ready"),
        "these tests need a real Secret Service: run them with `make test` \
         (or scripts/with-secret-service.sh cargo test)"
    );
}
