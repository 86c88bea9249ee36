//! `keybearer catalog [SEARCH]` and `keybearer catalog --refresh`: the known
//! remote MCP servers — the ones built into Keybearer and, under them, the
//! ones the MCP Registry lists (`keybearer_vault::KnownServers`;
//! docs/architecture.md, "Known servers").
//!
//! Flow: `catalog` lists what is known now; a day after the last try, and
//! only when a list of the registry is cached, it first asks the registry
//! for the changes since (5 seconds at most; a failure is one line on
//! stderr and the list is shown anyway). It never fetches a whole list by
//! itself: `catalog --refresh` does, and says how many servers came and
//! which were skipped, and why. Adding one of them is
//! `credential add --server ID` (`known_server.rs`).
//!
//! Limits: should the data folder not open (data of a newer version, no
//! rights), the built-in servers are listed, with a note.

use std::collections::BTreeMap;
use std::path::Path;

use keybearer_server_catalog::{Catalog, Entry, Origin, SignInKind};
use keybearer_vault::{Engine, Error, Refresh, RefreshReport};

use crate::output::{table, Output};

/// Skip reasons printed one per line before "and N more".
const REASONS_SHOWN: usize = 20;

/// `catalog [SEARCH]` (`refresh`: `catalog --refresh`).
pub fn run(
    data_dir: &Path,
    out: &Output,
    search: Option<&str>,
    refresh: bool,
) -> Result<(), Error> {
    let engine = match Engine::open(data_dir) {
        Ok(engine) => engine,
        Err(error) if !refresh => {
            eprintln!("note: {error} Only the servers built into Keybearer are listed.");
            return list(out, Catalog::shipped(), search);
        }
        Err(error) => return Err(error),
    };
    keybearer_vault::logging::init_file_log(data_dir);
    let refresher = engine.known_servers().refresher()?;
    if refresh {
        eprintln!(
            "Asking the MCP Registry at {} for its list of servers…",
            refresher.registry()
        );
        return match refresher.refresh(Refresh::Now)? {
            Some(report) => out.either(&report, || print_report(&report)),
            None => Ok(()),
        };
    }
    match refresher.refresh(Refresh::Quick) {
        Ok(Some(report)) => eprintln!(
            "Updated the servers of the MCP Registry: {} changed, {} removed.",
            report.received, report.removed
        ),
        Ok(None) => {}
        Err(error) => eprintln!("note: {error}"),
    }
    let catalog = engine.known_servers().catalog();
    list(out, &catalog, search)?;
    if !out.json && search.is_none() {
        let from_registry = catalog
            .entries()
            .iter()
            .filter(|entry| entry.origin == Origin::Registry)
            .count();
        if from_registry == 0 {
            outln!(
                "These are the servers built into Keybearer. To add the ones the MCP Registry lists: keybearer catalog --refresh"
            );
        } else {
            outln!(
                "{} built into Keybearer, {from_registry} from the MCP Registry at {} (updated daily; now: keybearer catalog --refresh).",
                catalog.len() - from_registry,
                refresher.registry()
            );
        }
    }
    Ok(())
}

/// The entries of `catalog` whose name, id or purpose holds `search` (all
/// without one).
fn list(out: &Output, catalog: &Catalog, search: Option<&str>) -> Result<(), Error> {
    let found = catalog.search(search.unwrap_or(""));
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
pub fn ways(entry: &Entry) -> String {
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

/// What `catalog --refresh` read, in plain words.
fn print_report(report: &RefreshReport) {
    let built_in = Catalog::shipped().len();
    outln!(
        "Read {} page{} from the MCP Registry at {}: {} usable server{}, {} skipped.",
        report.pages,
        plural(report.pages),
        report.registry,
        report.received,
        plural(report.received),
        report.skipped.len()
    );
    outln!(
        "The catalog now lists {} of them beside the {built_in} servers built into Keybearer (a server that is built in keeps its built-in entry).",
        report.listed
    );
    if let Some(why) = &report.stopped_early {
        outln!("Reading stopped before the registry's last page: {why}.");
    }
    if report.skipped.is_empty() {
        return;
    }
    // The same reason for many servers (most often: it runs only on the
    // user's computer) is one line with a count.
    let mut reasons: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for skip in &report.skipped {
        reasons
            .entry(skip.reason.as_str())
            .or_default()
            .push(skip.server.as_str());
    }
    let mut reasons: Vec<(&str, Vec<&str>)> = reasons.into_iter().collect();
    reasons.sort_by_key(|(_, servers)| std::cmp::Reverse(servers.len()));
    outln!("Skipped, and why:");
    for (reason, servers) in reasons.iter().take(REASONS_SHOWN) {
        match servers.as_slice() {
            [one] => outln!("  {one}: {reason}"),
            many => outln!("  {} servers (such as {}): {reason}", many.len(), many[0]),
        }
    }
    if reasons.len() > REASONS_SHOWN {
        outln!(
            "  … and {} more reasons; keybearer --json catalog --refresh lists every server.",
            reasons.len() - REASONS_SHOWN
        );
    }
}

fn plural(count: usize) -> &'static str {
    if count == 1 {
        ""
    } else {
        "s"
    }
}
