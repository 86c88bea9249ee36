//! `keybearer catalog [SEARCH]` and `credential add --server ID`: the
//! catalog of known remote MCP servers shipped inside Keybearer
//! (`keybearer-server-catalog`; docs/architecture.md, "Crates"). A person
//! names "github" instead of typing an address, choosing a transport and
//! knowing how the server signs in: the entry gives the address and the
//! transport, and the way to sign in is the entry's preferred one that can
//! go ahead (OAuth with registration: at once; an OAuth app the user made:
//! only with `--client-id`; a personal token: the page where it is made
//! and what to tick are printed first; API-key headers: their names).
//! Flags the user gives (`--oauth`, `--header`, `--basic`) choose among
//! the entry's ways. Needs no data folder and sends nothing anywhere.

use keybearer_server_catalog::{Catalog, Entry, SignIn, SignInKind};
use keybearer_vault::{Error, Protocol};

use crate::cli::SecretArgs;
use crate::output::{table, Output};

/// The entries whose name, id or purpose holds `search` (all without one).
pub fn list(out: &Output, search: Option<&str>) -> Result<(), Error> {
    let found = Catalog::shipped().search(search.unwrap_or(""));
    out.either(&found, || {
        if found.is_empty() {
            outln!(
                "No known server matches \"{}\". For any other server give its address: keybearer credential add --vault <vault> --url <server URL>",
                search.unwrap_or_default()
            );
            return;
        }
        let rows: Vec<Vec<String>> = found
            .iter()
            .map(|entry| {
                vec![
                    entry.id.clone(),
                    entry.name.clone(),
                    ways(entry),
                    entry.purpose.clone(),
                ]
            })
            .collect();
        table(&["ID", "NAME", "SIGN-IN", "WHAT IT IS FOR"], &rows);
        outln!();
        outln!("Add one with: keybearer credential add --vault <vault> --server <ID>");
    })
}

/// How an entry signs in, in a few words.
fn ways(entry: &Entry) -> String {
    let words: Vec<&str> = entry
        .sign_in
        .iter()
        .map(|way| match way.kind() {
            SignInKind::Oauth => "sign in",
            SignInKind::OauthClient => "your OAuth app",
            SignInKind::Token => "token",
            SignInKind::Header => "API key",
            SignInKind::Discover => "asks the server",
        })
        .collect();
    words.join(", ")
}

/// What `credential add --server ID` adds.
pub struct Chosen {
    pub url: String,
    pub protocol: Protocol,
    /// The user's flags, completed by the entry (OAuth, header names, scopes).
    pub secret: SecretArgs,
}

/// The address, protocol and way to sign in for catalog entry `id`.
pub fn choose(id: &str, args: &SecretArgs) -> Result<Chosen, Error> {
    let entry = Catalog::shipped().get(id).ok_or_else(|| {
        Error::invalid(
            "server",
            format!(
                "Keybearer knows no server called \"{id}\". See the known ones with: keybearer catalog (or give the address with --url)."
            ),
        )
    })?;
    let way = pick(entry, args)?;
    let mut secret = args.clone();
    match way {
        SignIn::Oauth { scopes } => signs_in(&mut secret, scopes),
        SignIn::OauthClient {
            client_secret,
            scopes,
            ..
        } => {
            signs_in(&mut secret, scopes);
            secret.client_secret |= *client_secret;
        }
        SignIn::Token {
            token_page,
            permissions,
            header,
        } => {
            if secret.headers.is_empty() && secret.basic.is_none() {
                if let Some(header) = header {
                    secret.headers = vec![header.clone()];
                }
                eprintln!("{} takes a personal token. Make one at:", entry.name);
                eprintln!("  {token_page}");
                if !permissions.is_empty() {
                    eprintln!("with these permissions: {}", permissions.join(", "));
                }
                eprintln!("then paste it below.");
            }
        }
        SignIn::Header { headers } => {
            if secret.headers.is_empty() {
                secret.headers = headers.iter().map(|h| h.name.clone()).collect();
                eprintln!(
                    "{} takes {}; each value is read in turn.",
                    entry.name,
                    secret.headers.join(", ")
                );
            }
        }
        SignIn::Discover => {}
    }
    let remote = entry.remotes_for(way.kind()).next().ok_or_else(|| {
        Error::invalid(
            "server",
            format!(
                "The catalog names no address of {} for this way of signing in.",
                entry.name
            ),
        )
    })?;
    let protocol = match remote.transport {
        keybearer_server_catalog::Transport::StreamableHttp => Protocol::StreamableHttp,
        keybearer_server_catalog::Transport::Sse => Protocol::Sse,
    };
    Ok(Chosen {
        url: remote.url.clone(),
        protocol,
        secret,
    })
}

/// An OAuth sign-in, asking for the entry's scopes unless the user named some.
fn signs_in(secret: &mut SecretArgs, scopes: &[String]) {
    secret.oauth = true;
    if secret.scope.is_none() && !scopes.is_empty() {
        secret.scope = Some(scopes.join(" "));
    }
}

/// The entry's first way to sign in that the user's flags allow and that
/// can go ahead with what was given.
fn pick<'e>(entry: &'e Entry, args: &SecretArgs) -> Result<&'e SignIn, Error> {
    let typed = !args.headers.is_empty() || args.basic.is_some();
    let usable = |way: &&SignIn| match way.kind() {
        SignInKind::Oauth => !typed,
        SignInKind::OauthClient => !typed && args.client_id.is_some(),
        SignInKind::Token | SignInKind::Header => !args.oauth && !args.from_json,
        SignInKind::Discover => false,
    };
    if let Some(way) = entry.sign_in.iter().find(usable) {
        return Ok(way);
    }
    // Say what would work.
    if let Some(SignIn::OauthClient { client_page, .. }) = entry
        .sign_in
        .iter()
        .find(|way| way.kind() == SignInKind::OauthClient)
    {
        if !typed {
            return Err(Error::invalid(
                "server",
                format!(
                    "{} signs in with an OAuth app that you create: make one at {client_page} (its callback address: http://127.0.0.1/callback; the port is chosen at each sign-in), then run this again with --oauth --client-id <its client id>{}.",
                    entry.name,
                    if entry.sign_in.iter().any(|way| matches!(way, SignIn::OauthClient { client_secret: true, .. })) {
                        " (its client secret is then read like a token)"
                    } else {
                        ""
                    }
                ),
            ));
        }
    }
    let offered = ways(entry);
    Err(Error::invalid(
        "server",
        format!(
            "{} cannot be added that way; it offers: {offered}. Leave out the sign-in options to use the first, or give its address with --url.",
            entry.name
        ),
    ))
}
