//! Team vaults in Keybearer (docs/architecture.md, "Team vaults"): the
//! wiring of this computer's catalog (`keybearer-vault`: the rows of team
//! servers and team vaults, the sealed last good values) and the team
//! servers themselves (`keybearer-team`: the OpenBao / HashiCorp Vault
//! client, the sign-in in the OS keychain, the cached source), for the CLI,
//! the desktop shell, sessions and app connections.
//!
//! Modules: `servers` (add with the CA's fingerprints shown first, sign in
//! and out, remove), `vaults` (a team vault's row and folder), `credentials`
//! (list, add, replace, delete, test, as for local vaults), `moving` (a
//! local vault moved to a team server and back, losing nothing on a
//! failure),
//! `sources` (the credential source of a session or an app connection with
//! team vaults).
//!
//! Owns: nothing stored of its own. May use the engine and the team crate;
//! the proxy and the bridge never reach it (they ask the source it builds).

mod credentials;
mod moving;
mod servers;
mod sources;
mod vaults;

pub use credentials::{
    add as add_credential, delete as delete_credential, find as find_credential,
    list as list_credentials, replace as replace_credential, team_secret, test as test_credential,
    test_vault, Found, CREDENTIAL_ID_PREFIX,
};
pub use keybearer_team::{
    Access, Attached, Health, HistoryEntry, OidcOptions, TeamServer, Who, DEFAULT_OIDC_MOUNT,
    DEFAULT_OIDC_PORT,
};
pub use moving::local::{
    copy as copy_to_local, plan as plan_move_to_local, remove_team_copy, LocalPlan,
};
pub use moving::{
    copy as copy_for_move, finish as finish_move, plan as plan_move, Copied, MovePlan,
};
pub use servers::{
    add_server, ca_fingerprints, check_server, record_sign_in, remove_server, settings_of, sign_in,
    sign_in_state, sign_in_to, sign_out, AddServer, CheckedServer, SignIn, SignInState,
    DEFAULT_MOUNT,
};
pub use sources::{
    coverage, for_connection, for_session, server_urls, SealedLastGood, SessionSources,
};
pub use vaults::{
    access, connect, connect_offline, connect_server, create_team_vault, folder_from_name,
    read_only_reason, team_vault, who_can_read,
};
