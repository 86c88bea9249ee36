//! Queries on `team_servers` and `team_last_good` (migrations 0016, 0017).

use rusqlite::{params, Connection, OptionalExtension, Row};

use crate::error::{Error, Result};
use crate::model::Timestamp;
use keybearer_base::team_model::{NewTeamServer, TeamServerRecord};

const SELECT: &str = "SELECT t.id, t.name, t.address, t.mount, t.path_template, t.ca_pem,
        t.ca_fingerprints, t.check_interval_secs, t.last_good_secs, t.created_at,
        (SELECT COUNT(*) FROM vaults v WHERE v.team_server_id = t.id), t.unreachable_since
    FROM team_servers t";

fn from_row(row: &Row<'_>) -> rusqlite::Result<TeamServerRecord> {
    let fingerprints: String = row.get(6)?;
    Ok(TeamServerRecord {
        id: row.get(0)?,
        name: row.get(1)?,
        address: row.get(2)?,
        mount: row.get(3)?,
        path_template: row.get(4)?,
        ca_pem: row.get(5)?,
        ca_fingerprints: fingerprints
            .split_whitespace()
            .map(str::to_string)
            .collect(),
        check_interval_secs: row.get::<_, i64>(7)?.unsigned_abs(),
        last_good_secs: row.get::<_, i64>(8)?.unsigned_abs(),
        created_at: Timestamp(row.get(9)?),
        vault_count: row.get(10)?,
        unreachable_since: row.get::<_, Option<i64>>(11)?.map(Timestamp),
    })
}

pub(crate) fn insert(
    conn: &Connection,
    id: &str,
    new: &NewTeamServer,
    at: Timestamp,
) -> Result<()> {
    let seconds = |value: u64| i64::try_from(value).unwrap_or(i64::MAX);
    conn.execute(
        "INSERT INTO team_servers (id, name, address, mount, path_template, ca_pem,
             ca_fingerprints, check_interval_secs, last_good_secs, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
        params![
            id,
            new.name,
            new.address,
            new.mount,
            new.path_template,
            new.ca_pem,
            new.ca_fingerprints.join(" "),
            seconds(new.check_interval_secs),
            seconds(new.last_good_secs),
            at.0
        ],
    )?;
    Ok(())
}

pub(crate) fn list(conn: &Connection) -> Result<Vec<TeamServerRecord>> {
    let mut statement =
        conn.prepare_cached(&format!("{SELECT} ORDER BY t.name COLLATE NOCASE, t.id"))?;
    let rows = statement.query_map([], from_row)?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

pub(crate) fn get(conn: &Connection, id: &str) -> Result<TeamServerRecord> {
    conn.prepare_cached(&format!("{SELECT} WHERE t.id = ?1"))?
        .query_row([id], from_row)
        .optional()?
        .ok_or_else(|| Error::not_found("team server", id))
}

/// A team server by id (`tsv_…`) or by its name (any case).
pub(crate) fn find(conn: &Connection, id_or_name: &str) -> Result<TeamServerRecord> {
    let key = id_or_name.trim();
    if key.starts_with("tsv_") {
        return get(conn, key);
    }
    conn.prepare_cached(&format!("{SELECT} WHERE lower(t.name) = lower(?1)"))?
        .query_row([key], from_row)
        .optional()?
        .ok_or_else(|| Error::not_found("team server", key))
}

pub(crate) fn name_taken(conn: &Connection, name: &str) -> Result<bool> {
    Ok(conn.query_row(
        "SELECT EXISTS (SELECT 1 FROM team_servers WHERE lower(name) = lower(?1))",
        [name],
        |row| row.get(0),
    )?)
}

pub(crate) fn delete(conn: &Connection, id: &str) -> Result<()> {
    if conn.execute("DELETE FROM team_servers WHERE id = ?1", [id])? == 0 {
        return Err(Error::not_found("team server", id));
    }
    Ok(())
}

/// The server could not be reached `at`: recorded unless an earlier
/// failure is (that one says since when). Returns since when.
pub(crate) fn mark_unreachable(
    conn: &Connection,
    id: &str,
    at: Timestamp,
) -> Result<Option<Timestamp>> {
    conn.execute(
        "UPDATE team_servers SET unreachable_since = ?2
         WHERE id = ?1 AND unreachable_since IS NULL",
        params![id, at.0],
    )?;
    Ok(conn
        .query_row(
            "SELECT unreachable_since FROM team_servers WHERE id = ?1",
            [id],
            |row| row.get::<_, Option<i64>>(0),
        )
        .optional()?
        .flatten()
        .map(Timestamp))
}

/// The server answered: no longer out of reach.
pub(crate) fn mark_reachable(conn: &Connection, id: &str) -> Result<()> {
    conn.execute(
        "UPDATE team_servers SET unreachable_since = NULL
         WHERE id = ?1 AND unreachable_since IS NOT NULL",
        [id],
    )?;
    Ok(())
}

/// The ids of the vaults that live on a team server.
pub(crate) fn vault_ids(conn: &Connection, server_id: &str) -> Result<Vec<String>> {
    let mut statement =
        conn.prepare_cached("SELECT id FROM vaults WHERE team_server_id = ?1 ORDER BY id")?;
    let rows = statement.query_map([server_id], |row| row.get(0))?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

// ----- the last good values -------------------------------------------

/// A sealed last good value and when the server confirmed it.
pub(crate) struct LastGoodRow {
    pub version: u64,
    pub confirmed_at: Timestamp,
    pub sealed: Vec<u8>,
}

pub(crate) fn put_last_good(
    conn: &Connection,
    vault_id: &str,
    url: &str,
    version: u64,
    confirmed_at: Timestamp,
    sealed: &[u8],
) -> Result<()> {
    conn.execute(
        "INSERT INTO team_last_good (vault_id, url, version, confirmed_at, sealed)
         VALUES (?1, ?2, ?3, ?4, ?5)
         ON CONFLICT (vault_id, url) DO UPDATE SET
             version = excluded.version, confirmed_at = excluded.confirmed_at,
             sealed = excluded.sealed",
        params![
            vault_id,
            url,
            i64::try_from(version).unwrap_or(i64::MAX),
            confirmed_at.0,
            sealed
        ],
    )?;
    Ok(())
}

/// Only the time: the value the server confirmed again is the one kept.
pub(crate) fn confirm_last_good(
    conn: &Connection,
    vault_id: &str,
    url: &str,
    version: u64,
    confirmed_at: Timestamp,
) -> Result<bool> {
    Ok(conn.execute(
        "UPDATE team_last_good SET confirmed_at = ?4
         WHERE vault_id = ?1 AND url = ?2 AND version = ?3",
        params![
            vault_id,
            url,
            i64::try_from(version).unwrap_or(i64::MAX),
            confirmed_at.0
        ],
    )? > 0)
}

pub(crate) fn get_last_good(
    conn: &Connection,
    vault_id: &str,
    url: &str,
) -> Result<Option<LastGoodRow>> {
    Ok(conn
        .prepare_cached(
            "SELECT version, confirmed_at, sealed FROM team_last_good
             WHERE vault_id = ?1 AND url = ?2",
        )?
        .query_row([vault_id, url], |row| {
            Ok(LastGoodRow {
                version: row.get::<_, i64>(0)?.unsigned_abs(),
                confirmed_at: Timestamp(row.get(1)?),
                sealed: row.get(2)?,
            })
        })
        .optional()?)
}

/// The URLs a team vault has last good values for (a session started while
/// its server is out of reach configures these).
pub(crate) fn last_good_urls(
    conn: &Connection,
    vault_id: &str,
    since: Timestamp,
) -> Result<Vec<String>> {
    let mut statement = conn.prepare_cached(
        "SELECT url FROM team_last_good WHERE vault_id = ?1 AND confirmed_at >= ?2 ORDER BY url",
    )?;
    let rows = statement.query_map(params![vault_id, since.0], |row| row.get(0))?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

pub(crate) fn delete_last_good(conn: &Connection, vault_id: &str, url: &str) -> Result<usize> {
    Ok(conn.execute(
        "DELETE FROM team_last_good WHERE vault_id = ?1 AND url = ?2",
        [vault_id, url],
    )?)
}

/// Every last good value of a team server's vaults (sign-out, removal), or
/// only those confirmed before `before`.
pub(crate) fn delete_server_last_good(
    conn: &Connection,
    server_id: &str,
    before: Option<Timestamp>,
) -> Result<usize> {
    Ok(conn.execute(
        "DELETE FROM team_last_good WHERE confirmed_at < ?2 AND vault_id IN
             (SELECT id FROM vaults WHERE team_server_id = ?1)",
        params![server_id, before.map_or(i64::MAX, |at| at.0)],
    )?)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 0017: the first failure to reach a server is kept by the next ones
    /// and cleared by an answer.
    #[test]
    fn an_outage_keeps_its_first_time_until_an_answer() {
        let mut conn = Connection::open_in_memory().expect("memory db");
        crate::store::migrations::migrate_to(&mut conn, 16).expect("to 16");
        conn.execute(
            "INSERT INTO team_servers (id, name, address, mount, path_template,
                 check_interval_secs, last_good_secs, created_at)
             VALUES ('tsv_1', 'acme', 'https://bao.example.com', 'secret',
                 'keybearer/{environment}/', 30, 3600, 0)",
            [],
        )
        .expect("a server of 0016");
        crate::store::migrations::migrate_to(&mut conn, crate::store::migrations::latest_version())
            .expect("to the latest");
        assert_eq!(get(&conn, "tsv_1").expect("kept").unreachable_since, None);

        let first = mark_unreachable(&conn, "tsv_1", Timestamp(1_000)).expect("mark");
        assert_eq!(first, Some(Timestamp(1_000)));
        let again = mark_unreachable(&conn, "tsv_1", Timestamp(2_000)).expect("mark");
        assert_eq!(
            again,
            Some(Timestamp(1_000)),
            "the first failure says since when"
        );
        assert_eq!(
            get(&conn, "tsv_1").expect("row").unreachable_since,
            Some(Timestamp(1_000))
        );

        mark_reachable(&conn, "tsv_1").expect("answered");
        assert_eq!(get(&conn, "tsv_1").expect("row").unreachable_since, None);
        let later = mark_unreachable(&conn, "tsv_1", Timestamp(3_000)).expect("mark");
        assert_eq!(later, Some(Timestamp(3_000)), "a new outage, a new time");
        assert_eq!(
            mark_unreachable(&conn, "tsv_missing", Timestamp(1)).expect("no row"),
            None
        );
    }
}
