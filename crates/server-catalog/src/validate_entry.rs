//! The rules for a whole [`Entry`] (its text, addresses and ways to sign in
//! together) and for a list of entries (unique ids and addresses), built on
//! the single-value checks of `validate.rs`.

use std::collections::HashSet;

use super::{
    header_name, quoted, registry_name, shipped_id, text, web_address, Invalid,
    MAX_DESCRIPTION_CHARS, MAX_HEADERS, MAX_ITEM_CHARS, MAX_LIST_ITEMS, MAX_NAME_CHARS,
    MAX_PURPOSE_CHARS, MAX_REMOTES, MAX_SIGN_INS,
};
use crate::model::{Entry, Origin, SignIn, SignInKind};

fn scope_list(what: &str, items: &[String], allow_spaces: bool) -> Result<(), Invalid> {
    if items.len() > MAX_LIST_ITEMS {
        return Err(Invalid::new(
            what,
            format!(
                "has {} items; at most {MAX_LIST_ITEMS} are allowed",
                items.len()
            ),
        ));
    }
    for item in items {
        let checked = text(what, item, MAX_ITEM_CHARS)?;
        if checked != *item || (!allow_spaces && item.contains(' ')) {
            return Err(Invalid::new(
                what,
                format!("{} is not a single scope", quoted(item)),
            ));
        }
    }
    Ok(())
}

fn same(what: &str, value: &str, checked: Result<String, Invalid>) -> Result<(), Invalid> {
    let checked = checked?;
    if checked == value {
        Ok(())
    } else {
        Err(Invalid::new(
            what,
            format!("{} is not in its normal form", quoted(value)),
        ))
    }
}

fn sign_in(sign_in: &SignIn) -> Result<(), Invalid> {
    match sign_in {
        SignIn::Oauth { scopes } => scope_list("OAuth scopes", scopes, false),
        SignIn::OauthClient {
            client_page,
            scopes,
            authorize_url,
            token_url,
            ..
        } => {
            same(
                "OAuth app page",
                client_page,
                web_address("OAuth app page", client_page),
            )?;
            scope_list("OAuth scopes", scopes, false)?;
            for (what, value) in [
                ("authorize address", authorize_url),
                ("token address", token_url),
            ] {
                if let Some(value) = value {
                    same(what, value, web_address(what, value))?;
                }
            }
            Ok(())
        }
        SignIn::Token {
            token_page,
            permissions,
            header,
        } => {
            same(
                "token page",
                token_page,
                web_address("token page", token_page),
            )?;
            scope_list("permissions", permissions, true)?;
            match header {
                Some(name) => same("token header", name, header_name("token header", name)),
                None => Ok(()),
            }
        }
        SignIn::Header { headers } => {
            if headers.is_empty() || headers.len() > MAX_HEADERS {
                return Err(Invalid::new(
                    "headers",
                    format!("{} headers; 1 to {MAX_HEADERS} are allowed", headers.len()),
                ));
            }
            let mut seen: Vec<String> = Vec::new();
            for field in headers {
                same("header", &field.name, header_name("header", &field.name))?;
                let lower = field.name.to_ascii_lowercase();
                if seen.contains(&lower) {
                    return Err(Invalid::new(
                        "header",
                        format!("{} is listed twice", quoted(&field.name)),
                    ));
                }
                seen.push(lower);
                if let Some(description) = &field.description {
                    same(
                        "header description",
                        description,
                        text("header description", description, MAX_DESCRIPTION_CHARS),
                    )?;
                }
            }
            Ok(())
        }
        SignIn::Discover => Ok(()),
    }
}

/// Every rule that applies to one entry.
pub fn entry(entry: &Entry) -> Result<(), Invalid> {
    entry_rules(entry).map_err(|invalid| invalid.within(&entry.id))
}

fn entry_rules(entry: &Entry) -> Result<(), Invalid> {
    match entry.origin {
        Origin::Shipped => same("id", &entry.id, shipped_id(&entry.id))?,
        Origin::Registry => {
            let checked = registry_name(&entry.id)?;
            if checked != checked.to_ascii_lowercase() {
                return Err(Invalid::new("id", "must be lowercase"));
            }
        }
    }
    if let Some(name) = &entry.registry_name {
        registry_name(name)?;
    }
    same(
        "name",
        &entry.name,
        text("name", &entry.name, MAX_NAME_CHARS),
    )?;
    same(
        "purpose",
        &entry.purpose,
        text("purpose", &entry.purpose, MAX_PURPOSE_CHARS),
    )?;
    if let Some(docs) = &entry.docs {
        same("docs", docs, web_address("docs", docs))?;
    }
    if entry.initials.is_empty() || entry.initials.chars().count() > 2 {
        return Err(Invalid::new("initials", "must be one or two characters"));
    }
    same(
        "initials",
        &entry.initials,
        text("initials", &entry.initials, 2),
    )?;
    let color_ok = entry.color.len() == 7
        && entry.color.starts_with('#')
        && entry.color[1..].chars().all(|c| c.is_ascii_hexdigit());
    if !color_ok {
        return Err(Invalid::new(
            "color",
            format!("{} is not #rrggbb", quoted(&entry.color)),
        ));
    }

    if entry.sign_in.is_empty() || entry.sign_in.len() > MAX_SIGN_INS {
        return Err(Invalid::new(
            "sign-in",
            format!(
                "{} ways to sign in; 1 to {MAX_SIGN_INS} are allowed",
                entry.sign_in.len()
            ),
        ));
    }
    let mut kinds: Vec<SignInKind> = Vec::new();
    for way in &entry.sign_in {
        if kinds.contains(&way.kind()) {
            return Err(Invalid::new(
                "sign-in",
                format!("{} is listed twice", way.kind().as_str()),
            ));
        }
        kinds.push(way.kind());
        sign_in(way)?;
    }

    if entry.remotes.is_empty() || entry.remotes.len() > MAX_REMOTES {
        return Err(Invalid::new(
            "addresses",
            format!(
                "{} addresses; 1 to {MAX_REMOTES} are allowed",
                entry.remotes.len()
            ),
        ));
    }
    for remote in &entry.remotes {
        same("address", &remote.url, web_address("address", &remote.url))?;
        if let Some(kind) = remote.for_sign_in.iter().find(|kind| !kinds.contains(kind)) {
            return Err(Invalid::new(
                "address",
                format!(
                    "is for sign-in {}, which the entry does not offer",
                    kind.as_str()
                ),
            ));
        }
    }
    if let Some(kind) = kinds
        .iter()
        .find(|kind| entry.remotes_for(**kind).next().is_none())
    {
        return Err(Invalid::new(
            "sign-in",
            format!("{} has no address to use it with", kind.as_str()),
        ));
    }
    Ok(())
}

/// Ids and addresses are unique across the whole list (and within an entry).
pub fn unique(entries: &[Entry]) -> Result<(), Invalid> {
    let mut ids = HashSet::new();
    let mut urls = HashSet::new();
    for entry in entries {
        if !ids.insert(entry.id.as_str()) {
            return Err(Invalid::new(
                format!("entry {}", quoted(&entry.id)),
                "the id is used twice",
            ));
        }
        for remote in &entry.remotes {
            if !urls.insert(remote.url.as_str()) {
                return Err(Invalid::new(
                    format!("entry {}", quoted(&entry.id)),
                    format!("the address {} is used twice", quoted(&remote.url)),
                ));
            }
        }
    }
    Ok(())
}
