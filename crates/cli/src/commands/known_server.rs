//! `credential add --server ID`: the address, protocol and way of signing in
//! for a known server, built in or from the MCP Registry (`catalog.rs`;
//! docs/architecture.md, "Known servers"). A person names "github" instead
//! of typing an address, choosing a transport and knowing how the server
//! signs in.
//!
//! Flow: the entry's first way to sign in that can go ahead with what the
//! user gave: OAuth with registration: at once; an OAuth app the user made:
//! only with `--client-id`, signing in at the endpoints the entry pins where
//! the service publishes no metadata; a personal token: the page where it is
//! made and what to tick are printed first; API-key headers: their names.
//! "Asks the server" (what registry entries say): with sign-in options,
//! those; without, the server is asked (`ask.rs`): OAuth when it names an
//! authorization server, else the headers its publisher declared, else a
//! token. Flags the user gives (`--oauth`, `--token`, `--header`, `--basic`)
//! choose among the entry's ways. The transport: a built-in entry's (checked
//! by hand); a registry entry's is asked of the server (Streamable HTTP
//! first, then SSE), the publisher's declaration when it cannot tell.
//!
//! Limits: the registry's list is not fetched here (`catalog --refresh` does).

use keybearer_server_catalog::{Entry, Origin, SignIn, SignInKind, Transport};
use keybearer_vault::{Engine, Error, FoundTransport, Protocol};

use super::ask::{ask, gives_a_way};
use super::catalog::ways;
use crate::cli::SecretArgs;

/// What `credential add --server ID` adds.
pub struct Chosen {
    pub url: String,
    pub protocol: Protocol,
    /// The user's flags, completed by the entry (OAuth, header names, scopes).
    pub secret: SecretArgs,
}

/// The address, protocol and way to sign in for known server `id`.
pub fn choose(engine: &Engine, id: &str, args: &SecretArgs) -> Result<Chosen, Error> {
    let catalog = engine.known_servers().catalog();
    let entry = catalog.get(id).ok_or_else(|| {
        Error::invalid(
            "server",
            format!(
                "Keybearer knows no server called \"{id}\". See the known ones with: keybearer catalog (keybearer catalog --refresh first reads the MCP Registry's list), or give the address with --url."
            ),
        )
    })?;
    let way = pick(entry, args)?;
    let remote = entry.remotes_for(way.kind()).next().ok_or_else(|| {
        Error::invalid(
            "server",
            format!(
                "The catalog names no address of {} for this way of signing in.",
                entry.name
            ),
        )
    })?;
    let mut secret = args.clone();
    let declared = match remote.transport {
        Transport::StreamableHttp => Protocol::StreamableHttp,
        Transport::Sse => Protocol::Sse,
    };
    // A built-in entry's transport was checked by hand; a registry entry's
    // is asked of the server.
    let mut protocol = (entry.origin == Origin::Shipped).then_some(declared);
    match way {
        SignIn::Oauth { scopes } => signs_in(&mut secret, scopes),
        SignIn::OauthClient {
            client_secret,
            scopes,
            ..
        } => {
            signs_in(&mut secret, scopes);
            secret.client_secret |= *client_secret;
            secret.known.pinned = keybearer_vault::pinned_endpoints(entry, &remote.url);
        }
        SignIn::Token {
            token_page,
            permissions,
            header,
        } => {
            if secret.headers.is_empty() && secret.basic.is_none() {
                if let Some(header) = header {
                    // The token goes in the entry's header.
                    secret.headers = vec![header.clone()];
                    secret.token = false;
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
        SignIn::Discover if !gives_a_way(args) => {
            ask(
                &entry.name,
                &remote.url,
                Some(entry),
                &mut protocol,
                &mut secret,
            )?;
            // Asked already: what it could not tell, the publisher says.
            protocol.get_or_insert(declared);
        }
        SignIn::Discover => {}
    }
    let protocol = protocol.unwrap_or_else(|| match keybearer_vault::find_transport(&remote.url) {
        FoundTransport::Speaks(found) => found,
        FoundTransport::Unclear(_) | FoundTransport::NotAsked(_) => declared,
    });
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
    let typed = !args.headers.is_empty() || args.basic.is_some() || args.token;
    let usable = |way: &&SignIn| match way.kind() {
        SignInKind::Oauth => !typed,
        SignInKind::OauthClient => !typed && args.client_id.is_some(),
        SignInKind::Token => !args.oauth && !args.from_json,
        SignInKind::Header => !args.oauth && !args.from_json && !args.token,
        // The server is asked, or the user's flags are taken as they are.
        SignInKind::Discover => true,
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
