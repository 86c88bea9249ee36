//! Asking a server what the user did not say (docs/architecture.md, "Known
//! servers"): for `credential add --url`, and `--server` with an entry that
//! says "ask the server" (what MCP Registry entries say).
//!
//! Flow: `keybearer_vault::ask_the_server` (nothing secret is sent): the
//! transport, Streamable HTTP first, then SSE; then how it signs in — OAuth
//! when its 401 names resource metadata, else the headers its entry's
//! publisher declared, else a token (a plain 401). What the user gave
//! (`--protocol`, `--oauth`, `--token`, `--header`, `--basic`,
//! `--from-json`) is kept; only the rest is filled in.
//!
//! Limits: a server that cannot be asked leaves the protocol to the caller
//! (the address's guess, or the entry's) and the way to a token, and says
//! why.

use keybearer_server_catalog::Entry;
use keybearer_vault::{Error, Protocol, SignInWay};

use crate::cli::SecretArgs;

/// Whether the user's flags say how to sign in.
pub fn gives_a_way(args: &SecretArgs) -> bool {
    args.oauth || args.token || args.from_json || args.basic.is_some() || !args.headers.is_empty()
}

/// Asks the server at `url` (`name` names it: "GitHub", "the server at …")
/// for the transport when `protocol` is `None` and for the way to sign in
/// when `secret` names none.
pub fn ask(
    name: &str,
    url: &str,
    entry: Option<&Entry>,
    protocol: &mut Option<Protocol>,
    secret: &mut SecretArgs,
) -> Result<(), Error> {
    let wants_way = !gives_a_way(secret);
    if protocol.is_some() && !wants_way {
        return Ok(());
    }
    if wants_way {
        eprintln!("Asking {name} how it signs in…");
    } else {
        eprintln!("Asking {name} which protocol it speaks…");
    }
    let asked = keybearer_vault::ask_the_server(url, entry)?;
    let name = sentence(name);
    if let Some(problem) = &asked.problem {
        eprintln!("{problem}");
    }
    if protocol.is_none() {
        *protocol = asked.protocol;
        match asked.protocol {
            Some(Protocol::StreamableHttp) => eprintln!("{name} answers over Streamable HTTP."),
            Some(Protocol::Sse) => eprintln!("{name} answers over SSE."),
            None => {}
        }
    }
    if !wants_way {
        return Ok(());
    }
    match asked.way {
        SignInWay::Oauth => {
            eprintln!("{name} signs in with OAuth (to paste a token instead, run this again with --token).");
            secret.oauth = true;
        }
        SignInWay::Headers { names } => {
            eprintln!(
                "{name} takes {}; each value is read in turn.",
                names.join(", ")
            );
            secret.headers = names;
        }
        SignInWay::Token => eprintln!(
            "{name} does not offer an OAuth sign-in: paste its token below (for an API-key header instead, run this again with --header NAME)."
        ),
    }
    Ok(())
}

/// `name` at the start of a sentence.
fn sentence(name: &str) -> String {
    let mut chars = name.chars();
    chars
        .next()
        .map(|first| first.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}
