//! The name a bridge entry gets in an app's settings: what the app shows in
//! its list of servers, so it should say which server it is. Taken from the
//! host (`https://mcp.notion.com/mcp` → `notion`), limited to the characters
//! every app accepts in a server name (`a-z 0-9 -`), and made unique among
//! the names already in the file (`notion-2`).

/// Parts of a host name that say nothing about which server it is.
const NOISE: &[&str] = &["mcp", "www", "api"];

/// Second-level labels of country domains (`example.co.uk`).
const SECOND_LEVEL: &[&str] = &["co", "com", "org", "net", "gov", "ac", "edu", "ne", "or"];

pub(super) fn entry_name(url: &str, taken: &[String]) -> String {
    let base = base_name(url);
    let free = |name: &str| !taken.iter().any(|t| t.eq_ignore_ascii_case(name));
    if free(&base) {
        return base;
    }
    (2..)
        .map(|n| format!("{base}-{n}"))
        .find(|name| free(name))
        .unwrap_or(base)
}

fn base_name(url: &str) -> String {
    let parsed = url::Url::parse(url).ok();
    let host = parsed
        .as_ref()
        .and_then(|u| u.host_str())
        .unwrap_or("server")
        .to_ascii_lowercase();
    let is_ip = host.parse::<std::net::IpAddr>().is_ok() || host.starts_with('[');
    let label = if is_ip || host == "localhost" {
        let port = parsed.as_ref().and_then(url::Url::port);
        match port {
            Some(port) => format!("local-{port}"),
            None => "local".to_string(),
        }
    } else {
        let mut labels: Vec<&str> = host.split('.').filter(|l| !l.is_empty()).collect();
        // Not the top-level domain, nor a country's "co"/"com"/… before it.
        if labels.len() > 1 {
            labels.pop();
        }
        while labels.len() > 1 && labels.last().is_some_and(|l| SECOND_LEVEL.contains(l)) {
            labels.pop();
        }
        let pick = labels
            .iter()
            .rev()
            .find(|label| !NOISE.contains(label))
            .or_else(|| labels.first())
            .copied()
            .unwrap_or("server");
        pick.to_string()
    };
    let clean: String = label
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    let trimmed = clean.trim_matches('-');
    if trimmed.is_empty() {
        "server".to_string()
    } else {
        trimmed.chars().take(40).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::entry_name;

    #[test]
    fn names_say_which_server() {
        let none: Vec<String> = Vec::new();
        assert_eq!(entry_name("https://mcp.notion.com/mcp", &none), "notion");
        assert_eq!(
            entry_name("https://api.githubcopilot.com/mcp/", &none),
            "githubcopilot"
        );
        assert_eq!(entry_name("https://mcp.linear.app/sse", &none), "linear");
        assert_eq!(entry_name("https://mcp.sentry.dev/mcp", &none), "sentry");
        assert_eq!(entry_name("https://example.co.uk/mcp", &none), "example");
        assert_eq!(entry_name("http://127.0.0.1:8931/mcp", &none), "local-8931");
        assert_eq!(entry_name("http://localhost:3000/sse", &none), "local-3000");
    }

    #[test]
    fn names_are_unique_ignoring_case() {
        let taken = vec!["Notion".to_string(), "notion-2".to_string()];
        assert_eq!(entry_name("https://mcp.notion.com/sse", &taken), "notion-3");
    }
}
