//! The shipped catalog: every entry reads and passes the checks, the data file
//! names a source for each entry, and look-up and search find what a person
//! would type.

use std::collections::HashSet;

use keybearer_server_catalog::{
    validate, Catalog, Origin, SignIn, SignInKind, Transport, SERVERS_TOML,
};

fn shipped() -> Catalog {
    match Catalog::load_shipped() {
        Ok(catalog) => catalog,
        Err(error) => panic!("{error}"),
    }
}

#[test]
fn every_entry_reads_and_passes_the_checks() {
    let catalog = shipped();
    assert!(catalog.len() >= 30, "only {} entries", catalog.len());
    for entry in catalog.entries() {
        validate::entry(entry).expect("valid entry");
        assert_eq!(entry.origin, Origin::Shipped);
        assert!(!entry.remotes.is_empty(), "{}", entry.id);
        assert!(!entry.sign_in.is_empty(), "{}", entry.id);
        let docs = entry.docs.as_deref().expect("docs link");
        assert!(docs.starts_with("https://"), "{}: {docs}", entry.id);
        for remote in &entry.remotes {
            assert!(
                remote.url.starts_with("https://"),
                "{}: {}",
                entry.id,
                remote.url
            );
        }
        // Streamable HTTP first whenever the entry has it.
        if entry
            .remotes
            .iter()
            .any(|remote| remote.transport == Transport::StreamableHttp)
        {
            assert_eq!(
                entry.remotes[0].transport,
                Transport::StreamableHttp,
                "{}",
                entry.id
            );
        }
    }
    // The process-wide copy is the same data.
    assert_eq!(Catalog::shipped(), &catalog);
}

#[test]
fn ids_names_and_addresses_are_unique() {
    let catalog = shipped();
    let mut ids = HashSet::new();
    let mut names = HashSet::new();
    let mut urls = HashSet::new();
    for entry in catalog.entries() {
        assert!(ids.insert(entry.id.clone()), "id {} twice", entry.id);
        assert!(
            names.insert(entry.name.to_lowercase()),
            "name {} twice",
            entry.name
        );
        for remote in &entry.remotes {
            assert!(
                urls.insert(remote.url.clone()),
                "address {} twice",
                remote.url
            );
        }
    }
    validate::unique(catalog.entries()).expect("unique");
}

#[test]
fn entries_are_sorted_by_name() {
    let catalog = shipped();
    let names: Vec<String> = catalog
        .entries()
        .iter()
        .map(|entry| entry.name.to_lowercase())
        .collect();
    let mut sorted = names.clone();
    sorted.sort();
    assert_eq!(names, sorted);
}

#[test]
fn every_entry_in_the_file_names_its_source() {
    let lines: Vec<&str> = SERVERS_TOML.lines().collect();
    let mut entries = 0;
    for (index, line) in lines.iter().enumerate() {
        if line.trim() != "[[server]]" {
            continue;
        }
        entries += 1;
        // The comment block right above the entry has a "# source:" line.
        let comment: Vec<&str> = lines[..index]
            .iter()
            .rev()
            .take_while(|line| line.starts_with('#'))
            .copied()
            .collect();
        assert!(
            comment.iter().any(|line| line.starts_with("# source: ")),
            "the entry at line {} has no '# source:' comment above it",
            index + 1
        );
    }
    assert_eq!(entries, shipped().len());
}

fn kinds(catalog: &Catalog, id: &str) -> Vec<SignInKind> {
    let entry = catalog.get(id).unwrap_or_else(|| panic!("{id} is missing"));
    entry.sign_in.iter().map(SignIn::kind).collect()
}

#[test]
fn the_best_known_servers_sign_in_as_their_vendors_say() {
    let catalog = shipped();
    // GitHub has no dynamic registration: the user's own OAuth app, or a token.
    assert_eq!(
        kinds(&catalog, "github"),
        [SignInKind::OauthClient, SignInKind::Token]
    );
    let github = catalog.get("github").expect("github");
    assert_eq!(github.remotes[0].url, "https://api.githubcopilot.com/mcp/");
    match &github.sign_in[0] {
        SignIn::OauthClient {
            client_page,
            client_secret,
            token_url,
            ..
        } => {
            assert!(client_page.starts_with("https://github.com/"));
            assert!(*client_secret);
            assert_eq!(
                token_url.as_deref(),
                Some("https://github.com/login/oauth/access_token")
            );
        }
        other => panic!("github signs in with {other:?}"),
    }
    match &github.sign_in[1] {
        SignIn::Token {
            token_page,
            permissions,
            header,
        } => {
            assert!(token_page.starts_with("https://github.com/settings/"));
            assert!(permissions.contains(&"repo".to_owned()));
            assert_eq!(header, &None, "sent as Authorization: Bearer");
        }
        other => panic!("github's second sign-in is {other:?}"),
    }
    assert_eq!(kinds(&catalog, "notion"), [SignInKind::Oauth]);
    assert_eq!(kinds(&catalog, "linear"), [SignInKind::Oauth]);
    assert_eq!(kinds(&catalog, "sentry"), [SignInKind::Oauth]);
    assert_eq!(kinds(&catalog, "asana"), [SignInKind::OauthClient]);
    assert_eq!(kinds(&catalog, "context7"), [SignInKind::Token]);
    let notion = catalog.get("notion").expect("notion");
    assert_eq!(notion.remotes[0].transport, Transport::StreamableHttp);
    assert_eq!(notion.remotes[1].transport, Transport::Sse);
}

#[test]
fn addresses_for_one_sign_in_kind() {
    let catalog = shipped();
    let exa = catalog.get("exa").expect("exa");
    let oauth: Vec<&str> = exa
        .remotes_for(SignInKind::Oauth)
        .map(|remote| remote.url.as_str())
        .collect();
    let token: Vec<&str> = exa
        .remotes_for(SignInKind::Token)
        .map(|remote| remote.url.as_str())
        .collect();
    assert_eq!(oauth, ["https://mcp.exa.ai/mcp/oauth"]);
    assert_eq!(token, ["https://mcp.exa.ai/mcp"]);
    let notion = catalog.get("notion").expect("notion");
    assert_eq!(notion.remotes_for(SignInKind::Oauth).count(), 2);
}

#[test]
fn get_takes_an_id_or_a_registry_name() {
    let catalog = shipped();
    assert_eq!(
        catalog.get("github").map(|entry| entry.name.as_str()),
        Some("GitHub")
    );
    assert_eq!(
        catalog
            .get("IO.GITHUB.GITHUB/github-mcp-server")
            .map(|entry| entry.id.as_str()),
        Some("github")
    );
    assert!(catalog.get("GitHub").is_none(), "ids match exactly");
    assert!(catalog.get("no-such-server").is_none());
}

#[test]
fn find_by_url_normalises_the_address() {
    let catalog = shipped();
    let found = |url: &str| catalog.find_by_url(url).map(|entry| entry.id.clone());
    assert_eq!(
        found("https://MCP.Notion.com:443/mcp").as_deref(),
        Some("notion")
    );
    assert_eq!(found("https://mcp.stripe.com").as_deref(), Some("stripe"));
    assert_eq!(found("https://mcp.stripe.com/").as_deref(), Some("stripe"));
    assert_eq!(found("https://mcp.notion.com/other"), None);
    assert_eq!(found("not an address"), None);
}

fn search_ids(catalog: &Catalog, query: &str) -> Vec<String> {
    catalog
        .search(query)
        .into_iter()
        .map(|entry| entry.id.clone())
        .collect()
}

#[test]
fn search_finds_by_purpose_name_and_id_regardless_of_case() {
    let catalog = shipped();
    let issue = search_ids(&catalog, "issue");
    for id in ["linear", "github", "atlassian", "gitlab"] {
        assert!(
            issue.contains(&id.to_owned()),
            "'issue' did not find {id}: {issue:?}"
        );
    }
    assert_eq!(
        search_ids(&catalog, "GITHUB").first().map(String::as_str),
        Some("github")
    );
    assert_eq!(search_ids(&catalog, "  notion  "), ["notion"]);
    assert!(search_ids(&catalog, "jira").contains(&"atlassian".to_owned()));
    // Every word must match.
    assert_eq!(
        search_ids(&catalog, "cloudflare radar"),
        ["cloudflare-radar"]
    );
    assert!(search_ids(&catalog, "zzz-no-such-thing").is_empty());
}

#[test]
fn search_puts_name_matches_first_then_orders_by_name() {
    let catalog = shipped();
    let found = search_ids(&catalog, "cloudflare");
    assert_eq!(found.first().map(String::as_str), Some("cloudflare"));
    assert!(found.len() >= 7);
    let names: Vec<String> = catalog
        .search("cloudflare")
        .iter()
        .map(|entry| entry.name.to_lowercase())
        .collect();
    let mut sorted = names.clone();
    sorted.sort();
    assert_eq!(names, sorted, "all are name matches, so by name");
}

#[test]
fn an_empty_search_lists_everything_by_name() {
    let catalog = shipped();
    let all: Vec<&str> = catalog
        .search("")
        .iter()
        .map(|entry| entry.id.as_str())
        .collect();
    let entries: Vec<&str> = catalog
        .entries()
        .iter()
        .map(|entry| entry.id.as_str())
        .collect();
    assert_eq!(all, entries);
    assert_eq!(catalog.search("   ").len(), catalog.len());
}

#[test]
fn entries_serialise_for_the_ui_and_the_cli() {
    let catalog = shipped();
    let github = catalog.get("github").expect("github");
    let json = serde_json::to_value(github).expect("serialises");
    assert_eq!(json["id"], "github");
    assert_eq!(json["origin"], "shipped");
    assert_eq!(json["remotes"][0]["transport"], "streamable_http");
    assert!(json["remotes"][0].get("for_sign_in").is_none());
    assert_eq!(json["sign_in"][0]["kind"], "oauth_client");
    assert_eq!(json["sign_in"][1]["kind"], "token");
    assert_eq!(json["initials"], "Gi");
    assert!(json["color"].as_str().expect("colour").starts_with('#'));
    let exa = serde_json::to_value(catalog.get("exa").expect("exa")).expect("serialises");
    assert_eq!(exa["remotes"][0]["for_sign_in"][0], "oauth");
}
