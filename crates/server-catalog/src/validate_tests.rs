//! Tests of the single-value checks in `validate.rs`.

use super::*;

fn address(raw: &str) -> Result<String, String> {
    web_address("address", raw).map_err(|invalid| invalid.problem)
}

#[test]
fn https_addresses_pass_and_are_normalised() {
    assert_eq!(
        address("https://MCP.Example.com:443/mcp").as_deref(),
        Ok("https://mcp.example.com/mcp")
    );
    assert_eq!(
        address("https://mcp.stripe.com").as_deref(),
        Ok("https://mcp.stripe.com/")
    );
    assert!(address("https://mcp.supabase.com/mcp?read_only=true").is_ok());
}

#[test]
fn plain_http_only_to_this_computer() {
    assert!(address("http://127.0.0.1:8080/mcp").is_ok());
    assert!(address("http://localhost:8080/mcp").is_ok());
    assert!(address("http://[::1]:8080/mcp").is_ok());
    assert!(address("http://example.com/mcp").is_err());
    assert!(address("http://127.0.0.2/mcp").is_err());
    assert!(address("http://localhost.example.com/mcp").is_err());
}

#[test]
fn hostile_addresses_are_refused() {
    for raw in [
        "javascript:alert(1)",
        "JavaScript://example.com/%0aalert(1)",
        "java\tscript:alert(1)",
        "data:text/html,<script>alert(1)</script>",
        "file:///etc/passwd",
        "ftp://example.com/",
        "https://user:pass@example.com/mcp",
        "https://token@example.com/mcp",
        "https://example.com/mcp#frag",
        "https://example.com/mcp#",
        "https://exa mple.com/",
        "https://example.com/\u{202E}pm",
        "//example.com/mcp",
        "example.com/mcp",
        "",
    ] {
        assert!(address(raw).is_err(), "{raw:?} passed");
    }
    assert!(address(&format!(
        "https://example.com/{}",
        "a".repeat(MAX_URL_BYTES)
    ))
    .is_err());
}

#[test]
fn text_must_be_printable_and_bounded() {
    assert_eq!(text("name", "  GitHub ", 80).as_deref(), Ok("GitHub"));
    assert!(text("name", "", 80).is_err());
    assert!(text("name", "   ", 80).is_err());
    assert!(text("name", "Git\u{7}Hub", 80).is_err());
    assert!(text("name", "Git\nHub", 80).is_err());
    assert!(text("name", "Git\u{202E}buH", 80).is_err());
    assert!(text("name", "Git\u{2066}Hub\u{2069}", 80).is_err());
    assert!(text("name", "Git\u{200B}Hub", 80).is_err());
    assert!(text("name", "Git\u{9B}Hub", 80).is_err());
    assert!(text("name", &"é".repeat(80), 80).is_ok());
    assert!(text("name", &"é".repeat(81), 80).is_err());
    assert!(text("name", "Café 日本", 80).is_ok());
}

#[test]
fn header_names_are_tokens_and_not_reserved() {
    assert!(header_name("h", "X-Api-Key").is_ok());
    assert!(header_name("h", "Authorization").is_ok());
    for raw in [
        "",
        "X Api",
        "X-Api:",
        "Host",
        "content-length",
        "Mcp-Session-Id",
        "X-\u{e9}",
    ] {
        assert!(header_name("h", raw).is_err(), "{raw:?} passed");
    }
}

#[test]
fn ids_and_registry_names() {
    assert!(shipped_id("cloudflare-radar").is_ok());
    for raw in ["GitHub", "git hub", "-x", "x-", "", "a/b"] {
        assert!(shipped_id(raw).is_err(), "{raw:?} passed");
    }
    assert!(registry_name("io.github.user/my_server").is_ok());
    for raw in ["noslash", "/x", "x/", "a/b/c", "a b/c", "a/<b>"] {
        assert!(registry_name(raw).is_err(), "{raw:?} passed");
    }
}

#[test]
fn messages_clip_and_escape_hostile_values() {
    let long = format!("\u{1b}[31m{}", "x".repeat(100));
    let message = quoted(&long);
    assert!(message.chars().count() < 75, "{message}");
    assert!(!message.contains('\u{1b}'), "{message}");
    assert!(message.ends_with('…'), "{message}");
}
