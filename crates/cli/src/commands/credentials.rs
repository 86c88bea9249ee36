//! credential add | list | delete | replace | check | test.

use keybearer_vault::{ConnectionOutcome, Credential, Engine, Error, ErrorCode, NewCredential};
use serde::Serialize;
use serde_json::json;

use crate::cli::{ProtocolArg, SecretArgs};
use crate::input;
use crate::output::{table, when, Output};

pub fn print_table(credentials: &[Credential]) {
    if credentials.is_empty() {
        outln!("No credentials in this vault yet. Add one with: keybearer credential add --vault <vault> --url <server URL>");
        return;
    }
    let rows: Vec<Vec<String>> = credentials
        .iter()
        .map(|credential| {
            vec![
                credential.id.clone(),
                credential.mcp_server_url.clone(),
                credential.protocol.to_string(),
                match credential.credential_type {
                    keybearer_vault::CredentialType::StaticBearer => "bearer".to_string(),
                    keybearer_vault::CredentialType::Headers => {
                        format!("headers: {}", credential.header_names.join(", "))
                    }
                    keybearer_vault::CredentialType::McpOauth if credential.needs_sign_in => {
                        "oauth: SIGN IN AGAIN".to_string()
                    }
                    keybearer_vault::CredentialType::McpOauth => match &credential.wanted_scope {
                        Some(scope) => format!("oauth: MORE ACCESS ASKED ({scope})"),
                        None => "oauth".to_string(),
                    },
                },
                credential.created_at.to_rfc3339(),
                when(credential.last_used_at),
            ]
        })
        .collect();
    table(
        &["ID", "SERVER URL", "PROTOCOL", "TYPE", "ADDED", "LAST USED"],
        &rows,
    );
}

/// Which server `credential add` is for: an address, or a catalog entry.
pub enum Server<'a> {
    Url(&'a str, &'a ProtocolArg),
    Known(&'a str),
}

pub fn add(
    engine: &mut Engine,
    out: &Output,
    vault: &str,
    server: Server<'_>,
    secret: &SecretArgs,
) -> Result<(), Error> {
    // Check everything the user typed before asking for the secret.
    let vault = engine.catalog().vault(vault)?;
    let (url, mut protocol, mut secret, typed) = match server {
        Server::Url(url, protocol) => (
            url.to_string(),
            super::vaults::parse_protocol(protocol)?,
            secret.clone(),
            true,
        ),
        Server::Known(id) => {
            let chosen = super::known_server::choose(engine, id, secret)?;
            (chosen.url, Some(chosen.protocol), chosen.secret, false)
        }
    };
    if vault.team.is_some() {
        return super::team_credentials::add(engine, out, &vault, &url, protocol, &secret);
    }
    let url = keybearer_vault::normalize_server_url(&url)?;
    // Before any secret is asked for or made (an OAuth sign-in in the browser).
    engine.catalog().refuse_duplicate(&vault.id, &url)?;
    if typed {
        // What the user did not say, the server is asked (`ask.rs`).
        let name = format!("the server at {url}");
        super::ask::ask(&name, &url, None, &mut protocol, &mut secret)?;
    }
    super::unlock(engine)?;
    let secret = input::read_credential_secret(&secret, None, &url)?;
    let credential = engine.catalog().add_credential(
        &vault.id,
        NewCredential {
            mcp_server_url: url,
            protocol,
            secret,
        },
    )?;
    out.either(&credential, || {
        outln!(
            "Added credential {} for {} ({}) to \"{}\". The token is encrypted and will not be shown again.",
            credential.id, credential.mcp_server_url, credential.protocol, vault.display_name
        );
    })
}

/// A team credential's id (`tcr_…`): its commands go to the team server.
fn is_team(id: &str) -> bool {
    id.trim()
        .starts_with(keybearer_team_vaults::CREDENTIAL_ID_PREFIX)
}

pub fn list(engine: &mut Engine, out: &Output, vault: &str) -> Result<(), Error> {
    let found = engine.catalog().vault(vault)?;
    if found.team.is_some() {
        return super::team_credentials::list(engine, out, &found);
    }
    let credentials = engine.catalog().credentials(vault)?;
    out.either(&credentials, || print_table(&credentials))
}

pub fn delete(engine: &mut Engine, out: &Output, id: &str, yes: bool) -> Result<(), Error> {
    if is_team(id) {
        return super::team_credentials::delete(engine, out, id, yes);
    }
    let credential = engine.catalog().credential(id)?;
    if !yes {
        input::confirm(
            &format!(
                "Delete the credential for {}? Sessions using it lose access at once. This cannot be undone.",
                credential.mcp_server_url
            ),
            "delete",
        )?;
    }
    let deleted = engine.catalog().delete_credential(&credential.id)?;
    out.either(&json!({ "deleted": deleted }), || {
        outln!("Deleted the credential for {}.", deleted.mcp_server_url);
    })
}

pub fn replace(
    engine: &mut Engine,
    out: &Output,
    id: &str,
    secret: &SecretArgs,
) -> Result<(), Error> {
    if is_team(id) {
        return super::team_credentials::replace(engine, out, id, secret);
    }
    let old = engine.catalog().credential(id)?;
    super::unlock(engine)?;
    let same = (old.credential_type == keybearer_vault::CredentialType::Headers)
        .then_some(old.header_names.as_slice());
    // An OAuth credential is replaced by signing in again, unless told otherwise.
    let told = super::ask::gives_a_way(secret);
    let mut args = secret.clone();
    let oauth = old.credential_type == keybearer_vault::CredentialType::McpOauth;
    args.oauth |= oauth && !told;
    // As the same OAuth app the user made, unless another client is named:
    // its id, secret and endpoints stay sealed with the credential.
    if args.oauth && oauth && args.client_id.is_none() {
        args.known.client = Some(engine.catalog().sign_in_again_client(&old.id)?);
    }
    // The server asked for more access: the new sign-in asks for it.
    if args.oauth && args.scope.is_none() {
        if let Some(scope) = &old.wanted_scope {
            eprintln!("The server asked for more access; signing in for: {scope}");
            args.scope = Some(scope.clone());
        }
    }
    let secret = input::read_credential_secret(&args, same, &old.mcp_server_url)?;
    let new = engine.catalog().replace_secret(&old.id, secret)?;
    out.either(&json!({ "replaced": old.id, "credential": new }), || {
        outln!(
            "Replaced the token for {}. New credential id: {} (the old id {} no longer exists).",
            new.mcp_server_url,
            new.id,
            old.id
        );
    })
}

pub fn check(engine: &mut Engine, out: &Output, vault: Option<&str>) -> Result<(), Error> {
    super::unlock(engine)?;
    let checks = engine.catalog().check_credentials(vault)?;
    let first_failure = checks
        .iter()
        .find(|check| !check.ok)
        .map(|check| check.credential_id.clone());
    out.either(&checks, || {
        for check in &checks {
            match &check.error {
                None => outln!("ok       {}  {}", check.credential_id, check.mcp_server_url),
                Some(error) => outln!(
                    "DAMAGED  {}  {}  {}",
                    check.credential_id,
                    check.mcp_server_url,
                    error
                ),
            }
        }
        if checks.is_empty() {
            outln!("No credentials to check.");
        }
    })?;
    match first_failure {
        Some(credential_id) => Err(Error::Integrity { credential_id }),
        None => Ok(()),
    }
}

/// The exit status of `credential test` when any credential failed its test
/// (the command itself worked; see `exit_code` in main.rs for the others).
pub const TEST_FAILED: u8 = 10;

/// What `credential test` needs to test.
pub enum TestTarget<'a> {
    One(&'a str),
    /// Every credential of every vault, or of this vault only.
    All {
        vault: Option<&'a str>,
    },
}

/// One credential's result, as `--json` prints it. Never holds a token.
#[derive(Serialize)]
struct TestedCredential {
    credential_id: String,
    vault_id: String,
    #[serde(skip)]
    vault_name: String,
    url: String,
    outcome: String,
    message: String,
    protocol_version: Option<String>,
    http_status: Option<u16>,
    server_name: Option<String>,
}

impl TestedCredential {
    fn of(credential: Credential, vault_name: String) -> Self {
        Self {
            credential_id: credential.id,
            vault_id: credential.vault_id,
            vault_name,
            url: credential.mcp_server_url,
            outcome: String::new(),
            message: String::new(),
            protocol_version: None,
            http_status: None,
            server_name: None,
        }
    }

    fn fill(&mut self, test: keybearer_vault::ConnectionTest) {
        self.outcome = outcome_name(test.outcome);
        self.message = test.message;
        self.protocol_version = test.protocol_version;
        self.http_status = test.http_status;
        self.server_name = test.server_name;
    }

    fn ok(&self) -> bool {
        self.outcome == outcome_name(ConnectionOutcome::Ok)
    }
}

fn outcome_name(outcome: ConnectionOutcome) -> String {
    serde_json::to_value(outcome)
        .ok()
        .and_then(|value| value.as_str().map(str::to_string))
        .unwrap_or_default()
}

/// Sends each credential's token to its own server (an MCP `server/discover`
/// or `initialize`) and reports whether the server accepted it. Returns the
/// exit status: 0 when every test passed, [`TEST_FAILED`] otherwise.
pub fn test(engine: &mut Engine, out: &Output, target: TestTarget<'_>) -> Result<u8, Error> {
    // Team credentials are tested from their server (no local key needed).
    let mut team_results = Vec::new();
    let target = match target {
        TestTarget::One(id) if is_team(id) => {
            let (credential, test) = keybearer_team_vaults::test_credential(engine, id)?;
            let vault = engine.catalog().vault(&credential.vault_id)?;
            team_results.push((credential, vault.display_name, Ok(test)));
            None
        }
        TestTarget::All { vault } => {
            let vaults = match vault {
                Some(vault) => vec![engine.catalog().vault(vault)?],
                None => engine.catalog().vaults(None)?,
            };
            for vault in vaults.iter().filter(|vault| vault.team.is_some()) {
                for (credential, test) in keybearer_team_vaults::test_vault(engine, vault)? {
                    team_results.push((credential, vault.display_name.clone(), test));
                }
            }
            let local = vaults.iter().any(|vault| vault.team.is_none());
            local.then_some(TestTarget::All { vault })
        }
        one => Some(one),
    };
    // Resolve what was named before asking for the key.
    let credentials: Vec<(Credential, String)> = match target {
        None => Vec::new(),
        Some(TestTarget::One(id)) => {
            let credential = engine.catalog().credential(id)?;
            let vault = engine.catalog().vault(&credential.vault_id)?;
            vec![(credential, vault.display_name)]
        }
        Some(TestTarget::All { vault }) => {
            let vaults = match vault {
                Some(vault) => vec![engine.catalog().vault(vault)?],
                None => engine.catalog().vaults(None)?,
            };
            let mut all = Vec::new();
            for vault in vaults.into_iter().filter(|vault| vault.team.is_none()) {
                for credential in engine.catalog().credentials(&vault.id)? {
                    all.push((credential, vault.display_name.clone()));
                }
            }
            all
        }
    };
    if !credentials.is_empty() {
        super::unlock(engine)?;
    }
    let single = credentials.len() + team_results.len() == 1;
    let mut results = Vec::with_capacity(credentials.len() + team_results.len());
    for (credential, vault_name, test) in team_results {
        let mut tested = TestedCredential::of(credential, vault_name);
        match test {
            Ok(test) => tested.fill(test),
            Err(error) if !single => {
                tested.outcome = error.code().to_string();
                tested.message = error.to_string();
            }
            Err(error) => return Err(error),
        }
        results.push(tested);
    }
    for (credential, vault_name) in credentials {
        let id = credential.id.clone();
        let mut tested = TestedCredential::of(credential, vault_name);
        match engine.catalog().test_saved_credential(&id) {
            Ok(test) => tested.fill(test),
            // One damaged token, or one deleted meanwhile, does not stop the others.
            Err(error)
                if !single
                    && matches!(error.code(), ErrorCode::Integrity | ErrorCode::NotFound) =>
            {
                tested.outcome = error.code().to_string();
                tested.message = error.to_string();
            }
            Err(error) => return Err(error),
        }
        results.push(tested);
    }
    let all_ok = results.iter().all(TestedCredential::ok);
    out.either(&results, || {
        if results.is_empty() {
            outln!("No credentials to test.");
            return;
        }
        let rows: Vec<Vec<String>> = results
            .iter()
            .map(|tested| {
                vec![
                    tested.vault_name.clone(),
                    tested.url.clone(),
                    tested.outcome.clone(),
                    tested.message.clone(),
                ]
            })
            .collect();
        table(&["VAULT", "SERVER URL", "RESULT", "MESSAGE"], &rows);
    })?;
    Ok(if all_ok { 0 } else { TEST_FAILED })
}
