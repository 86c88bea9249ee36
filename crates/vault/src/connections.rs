//! Connections: which vaults an app's bridge looks in (docs/architecture.md,
//! "App connections").
//!
//! A connection is one app plus vaults of one environment, in precedence
//! order; at most one per app. This part keeps the rows and their audit
//! events only. Writing the app's config file is `crate::apps`, which calls
//! this part inside its flow; the bridge reads a connection's vaults through
//! the tokens part on every request, so a change here reaches a running
//! bridge at its next request (catalog_version, migration 0005).

use crate::audit::EventKind;
use crate::error::{Error, Result};
use crate::model::{new_id, AppConnection, Timestamp};
use crate::resolve::Resolver;
use crate::store::events::{self, NewEvent};
use crate::store::{connections, Store};

/// App connections, borrowed from the [`Engine`](crate::Engine).
pub struct Connections<'e> {
    pub(crate) store: &'e mut Store,
}

impl Connections<'_> {
    pub fn list(&self) -> Result<Vec<AppConnection>> {
        connections::list(self.store.conn())
    }

    pub fn get(&self, id: &str) -> Result<AppConnection> {
        connections::get(self.store.conn(), id.trim())
    }

    pub fn for_app(&self, app: &str) -> Result<Option<AppConnection>> {
        connections::find_by_app(self.store.conn(), app)
    }

    /// Connects `app` to `vaults` (ids or names, first wins). Refuses an
    /// empty list, vaults of several environments, and a second connection
    /// for the same app.
    pub fn create(
        &mut self,
        app: &str,
        vaults: &[String],
        config_path: &str,
    ) -> Result<AppConnection> {
        let tx = self.store.write()?;
        let connection = create_in(&tx, app, vaults, config_path)?;
        tx.commit()?;
        Ok(connection)
    }

    /// Points the connection at other vaults (and so, maybe, another
    /// environment). Takes effect at the bridge's next request.
    pub fn change(&mut self, id: &str, vaults: &[String]) -> Result<AppConnection> {
        let tx = self.store.write()?;
        let changed = change_in(&tx, id, vaults)?;
        tx.commit()?;
        Ok(changed)
    }

    /// Removes the connection; its bridges refuse every request from then on.
    pub fn remove(&mut self, id: &str) -> Result<AppConnection> {
        let tx = self.store.write()?;
        let connection = connections::get(&tx, id.trim())?;
        connections::delete(&tx, &connection.id)?;
        record(&tx, EventKind::AppDisconnected, &connection)?;
        tx.commit()?;
        Ok(connection)
    }
}

/// [`Connections::create`] inside the caller's transaction (an import
/// connects the app in the same transaction that stores its tokens).
pub fn create_in(
    conn: &rusqlite::Connection,
    app: &str,
    vaults: &[String],
    config_path: &str,
) -> Result<AppConnection> {
    let (vault_ids, environment) = checked_vaults(conn, vaults)?;
    if connections::find_by_app(conn, app)?.is_some() {
        return Err(Error::invalid(
            "app",
            "This app is already connected. Change its vaults, or disconnect it first.",
        ));
    }
    let now = Timestamp::now();
    let connection = AppConnection {
        id: new_id("con"),
        app: app.to_string(),
        environment,
        vault_ids,
        config_path: config_path.to_string(),
        created_at: now,
        updated_at: now,
        last_used_at: None,
    };
    connections::insert(conn, &connection)?;
    record(conn, EventKind::AppConnected, &connection)?;
    Ok(connection)
}

/// [`Connections::change`] inside the caller's transaction.
pub fn change_in(
    conn: &rusqlite::Connection,
    id: &str,
    vaults: &[String],
) -> Result<AppConnection> {
    let (vault_ids, environment) = checked_vaults(conn, vaults)?;
    connections::get(conn, id.trim())?;
    connections::update(conn, id.trim(), &environment, &vault_ids)?;
    let changed = connections::get(conn, id.trim())?;
    record(conn, EventKind::AppConnectionChanged, &changed)?;
    Ok(changed)
}

/// Vault ids in the given order, all existing and of one environment.
fn checked_vaults(conn: &rusqlite::Connection, vaults: &[String]) -> Result<(Vec<String>, String)> {
    if vaults.is_empty() {
        return Err(Error::invalid(
            "vaults",
            "Choose at least one vault for this app.",
        ));
    }
    let resolver = Resolver::new(conn);
    let mut ids: Vec<String> = Vec::with_capacity(vaults.len());
    for vault in vaults {
        let id = resolver.vault(vault)?.id;
        if ids.contains(&id) {
            return Err(Error::invalid(
                "vaults",
                "The same vault is listed twice. List each vault once.",
            ));
        }
        ids.push(id);
    }
    let environment = resolver.environment_of(&ids)?;
    Ok((ids, environment))
}

fn record(conn: &rusqlite::Connection, kind: EventKind, connection: &AppConnection) -> Result<()> {
    let detail = format!("{} ({} vaults)", connection.app, connection.vault_ids.len());
    events::insert(
        conn,
        &NewEvent {
            environment: Some(&connection.environment),
            connection_id: Some(&connection.id),
            detail: Some(&detail),
            ..NewEvent::new(kind)
        },
    )
}
