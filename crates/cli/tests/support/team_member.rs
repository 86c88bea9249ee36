//! A data folder that knows the test's OpenBao as the team server `acme`
//! (`team add`), and one signed in to it with `userpass` (`team sign-in`):
//! what every team test through the real binary starts from. Included by
//! path beside `bao.rs` (crates/team/tests/support), which it needs.

#![allow(dead_code)] // each test file uses part of it

use crate::bao::{self, Bao};
use crate::support::session::Home;

/// A new data folder with `acme` added (not signed in).
pub fn with_server(bao: &Bao) -> Home {
    let h = Home::new();
    h.run(
        &[
            "team",
            "add",
            &bao.address,
            "--name",
            "acme",
            "--mount",
            bao::MOUNT,
        ],
        "",
    )
    .code(0);
    h
}

/// A new data folder with `acme` added and signed in as `user`.
pub fn signed_in_as(bao: &Bao, user: &str, password: &str) -> Home {
    let h = with_server(bao);
    h.run(
        &["team", "sign-in", "acme", "--user", user],
        &format!("{password}\n"),
    )
    .code(0);
    h
}
