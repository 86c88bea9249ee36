//! The MCP Registry's address (a setting): `https://`, or plain `http://`
//! only to this computer (127.0.0.1, `[::1]`, `localhost`), the rule
//! credentials follow (`server_url`); no user name or password, no query,
//! no `#` part. A path is kept (a registry served under a folder); a pasted
//! list address (`…/v0.1/servers`) is cut back to the registry's own.

use url::Url;

use crate::error::{Error, Result};
use crate::server_url::is_loopback;

/// The official MCP Registry.
pub const DEFAULT_REGISTRY: &str = "https://registry.modelcontextprotocol.io";

const MAX_ADDRESS_BYTES: usize = 2048;

/// The address to store, normalised (lowercase host, no default port, no
/// trailing `/`), or an error that says what to change.
pub fn check_registry_address(input: &str) -> Result<String> {
    let invalid = |message: String| Err(Error::invalid("registry", message));
    let trimmed = input.trim();
    if trimmed.is_empty() {
        return invalid(format!(
            "Enter the address of an MCP Registry, for example {DEFAULT_REGISTRY}."
        ));
    }
    if trimmed.len() > MAX_ADDRESS_BYTES {
        return invalid("That address is too long (over 2048 characters).".into());
    }
    let Ok(mut url) = Url::parse(trimmed) else {
        return invalid(format!(
            "\"{}\" is not a web address. It should look like {DEFAULT_REGISTRY}.",
            crate::text::printable(trimmed)
                .chars()
                .take(80)
                .collect::<String>()
        ));
    };
    let loopback = url.host().is_some_and(is_loopback);
    match url.scheme() {
        "https" => {}
        "http" if loopback => {}
        "http" => {
            return invalid(
                "Only https:// registry addresses are allowed, so nobody on the way can change the list of servers. (http:// is accepted only for a registry on this computer, such as http://127.0.0.1:8080.)".into(),
            )
        }
        _ => return invalid("Use an https:// address for the registry.".into()),
    }
    if url.host_str().is_none_or(str::is_empty) {
        return invalid("The address has no server name.".into());
    }
    if !url.username().is_empty() || url.password().is_some() {
        return invalid(
            "The address contains a user name or password. Keybearer sends nothing but the list request to a registry: remove them.".into(),
        );
    }
    if url.query().is_some() || url.fragment().is_some() {
        return invalid(
            "The address contains a \"?\" or \"#\" part. Give the registry's address only, for example https://registry.example.com.".into(),
        );
    }
    let mut path = url.path().trim_end_matches('/').to_string();
    for list in ["/v0.1/servers", "/v0/servers", "/v0.1", "/v0"] {
        if let Some(base) = path.strip_suffix(list) {
            path = base.to_string();
            break;
        }
    }
    url.set_path(&path);
    Ok(url.as_str().trim_end_matches('/').to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(input: &str) -> String {
        match check_registry_address(input) {
            Ok(address) => address,
            Err(error) => panic!("{input}: {error}"),
        }
    }

    fn refused(input: &str) -> String {
        match check_registry_address(input) {
            Ok(address) => panic!("{input} accepted as {address}"),
            Err(error) => error.to_string(),
        }
    }

    #[test]
    fn https_and_this_computer_only() {
        assert_eq!(ok(DEFAULT_REGISTRY), DEFAULT_REGISTRY);
        assert_eq!(
            ok(" HTTPS://Registry.Example.com:443/ "),
            "https://registry.example.com"
        );
        assert_eq!(ok("http://127.0.0.1:8080"), "http://127.0.0.1:8080");
        assert_eq!(
            ok("http://localhost:9/mirror/"),
            "http://localhost:9/mirror"
        );
        assert_eq!(ok("http://[::1]:9"), "http://[::1]:9");
        assert!(refused("http://registry.example.com").contains("https://"));
        assert!(refused("http://10.0.0.1:8080").contains("https://"));
        assert!(refused("javascript:alert(1)").contains("https://"));
        assert!(refused("file:///etc/passwd").contains("https://"));
        assert!(refused("ftp://registry.example.com").contains("https://"));
    }

    #[test]
    fn a_pasted_list_address_is_cut_back() {
        assert_eq!(
            ok("https://registry.modelcontextprotocol.io/v0.1/servers"),
            DEFAULT_REGISTRY
        );
        assert_eq!(
            ok("https://example.com/registry/v0/servers/"),
            "https://example.com/registry"
        );
    }

    #[test]
    fn nothing_but_an_address() {
        assert!(refused("").contains("Enter"));
        assert!(refused("https://me:pw@registry.example.com").contains("password"));
        assert!(refused("https://registry.example.com/?cursor=x").contains("\"?\""));
        assert!(refused("https://registry.example.com/#top").contains("\"#\""));
        assert!(refused("not an address").contains("not a web address"));
        assert!(refused(&format!("https://e.com/{}", "a".repeat(3000))).contains("too long"));
    }
}
