//! `keybearer settings registry [ADDRESS | --reset]`: the MCP Registry whose
//! list of servers `keybearer catalog` reads (docs/architecture.md, "Known
//! servers"). The address is checked (`https://`, or `http://` to this
//! computer) and stored; nothing is fetched here.

use keybearer_vault::{Engine, Error, DEFAULT_REGISTRY};
use serde_json::json;

use crate::output::Output;

/// Shows the registry's address, or sets it (`--reset`: the official one).
pub fn registry(
    engine: &Engine,
    out: &Output,
    address: Option<&str>,
    reset: bool,
) -> Result<(), Error> {
    let known = engine.known_servers();
    let (registry, changed) = match (address, reset) {
        (Some(address), _) => (known.set_registry(Some(address))?, true),
        (None, true) => (known.set_registry(None)?, true),
        (None, false) => (known.registry()?, false),
    };
    let official = registry == DEFAULT_REGISTRY;
    out.either(&json!({ "registry": registry, "official": official }), || {
        let which = if official {
            " (the official MCP Registry)"
        } else {
            ""
        };
        if changed {
            outln!("The MCP Registry is now {registry}{which}. Read its list of servers with: keybearer catalog --refresh");
        } else {
            outln!("MCP Registry: {registry}{which}");
        }
    })
}
