//! What the `vault move` tests share (team_move.rs, team_move_local.rs):
//! a member signed in to the test's OpenBao, a secret's name in a folder,
//! the vault's credentials as the CLI lists them.

use crate::bao::Bao;
use crate::support::session::Home;

pub fn signed_in(bao: &mut Bao) -> Home {
    let password = bao.add_user("erin", "member-rw", "1h", "2h");
    crate::member::signed_in_as(bao, "erin", password.expose())
}

/// The name of `url`'s secret in a team vault's folder (as
/// `keybearer_team::credential_key` makes it).
pub fn key(url: &str) -> String {
    use sha2::{Digest, Sha256};
    let readable: String = url
        .split_once("://")
        .map_or(url, |(_, rest)| rest)
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '.' || c == '-' {
                c.to_ascii_lowercase()
            } else {
                '_'
            }
        })
        .collect();
    format!(
        "{}-{}",
        readable.trim_matches('_'),
        &data_encoding::HEXLOWER.encode(&Sha256::digest(url.as_bytes()))[..8]
    )
}

pub fn local_credentials(h: &Home) -> usize {
    h.run(&["--json", "credential", "list", "--vault", "Tools"], "")
        .code(0)
        .json()
        .as_array()
        .expect("list")
        .len()
}
