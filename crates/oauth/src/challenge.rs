//! `WWW-Authenticate` challenges (RFC 9110 §11.6.1, RFC 6750 §3): the
//! `Bearer` challenge's `resource_metadata` (RFC 9728 §5.1) and `scope`, and
//! the 403 `insufficient_scope` answer that asks for more scopes (step-up).

/// One challenge: its scheme and its parameters (names lower-cased).
#[derive(Debug, Clone, PartialEq, Eq)]
struct Challenge {
    scheme: String,
    params: Vec<(String, String)>,
}

impl Challenge {
    fn param(&self, name: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    }
}

/// The `Bearer` challenge of a 401 or 403 answer.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BearerChallenge {
    /// `error` (`invalid_token`, `insufficient_scope`, …).
    pub error: Option<String>,
    pub error_description: Option<String>,
    /// The scopes the resource asks for, space-separated.
    pub scope: Option<String>,
    /// RFC 9728: where the protected resource metadata is.
    pub resource_metadata: Option<String>,
}

/// A 403 `insufficient_scope` challenge: the token is fine but too narrow.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InsufficientScope {
    /// The scopes the request needs (space-separated), when the server says.
    pub scope: Option<String>,
    pub resource_metadata: Option<String>,
    pub description: Option<String>,
}

/// The first `Bearer` challenge in the `WWW-Authenticate` header values
/// (a server may send several headers, and several challenges in one).
pub fn parse_bearer_challenge<'a>(
    www_authenticate: impl IntoIterator<Item = &'a str>,
) -> Option<BearerChallenge> {
    www_authenticate
        .into_iter()
        .flat_map(parse_challenges)
        .find(|challenge| challenge.scheme.eq_ignore_ascii_case("bearer"))
        .map(|challenge| BearerChallenge {
            error: challenge.param("error").map(str::to_string),
            error_description: challenge.param("error_description").map(str::to_string),
            scope: challenge
                .param("scope")
                .map(str::trim)
                .filter(|scope| !scope.is_empty())
                .map(str::to_string),
            resource_metadata: challenge.param("resource_metadata").map(str::to_string),
        })
}

/// The step-up request in a 403 answer's `WWW-Authenticate`, if it is one
/// (`error="insufficient_scope"`).
pub fn parse_insufficient_scope<'a>(
    www_authenticate: impl IntoIterator<Item = &'a str>,
) -> Option<InsufficientScope> {
    let challenge = parse_bearer_challenge(www_authenticate)?;
    (challenge.error.as_deref() == Some("insufficient_scope")).then_some(InsufficientScope {
        scope: challenge.scope,
        resource_metadata: challenge.resource_metadata,
        description: challenge.error_description,
    })
}

/// The scopes to ask for on a step-up: what the grant has plus what the
/// server asked for, each once, in that order.
pub fn step_up_scope(current: Option<&str>, required: &str) -> String {
    let mut scopes: Vec<&str> = Vec::new();
    for scope in current
        .unwrap_or_default()
        .split_ascii_whitespace()
        .chain(required.split_ascii_whitespace())
    {
        if !scopes.contains(&scope) {
            scopes.push(scope);
        }
    }
    scopes.join(" ")
}

/// Every challenge in one header value. Lenient: what it cannot read it skips.
fn parse_challenges(value: &str) -> Vec<Challenge> {
    let mut parser = Parser {
        bytes: value.as_bytes(),
        at: 0,
    };
    let mut challenges: Vec<Challenge> = Vec::new();
    loop {
        parser.skip(|b| b == b' ' || b == b'\t' || b == b',');
        if parser.done() {
            break;
        }
        let name = parser.token();
        if name.is_empty() {
            parser.at += 1; // not a token character: skip it
            continue;
        }
        parser.skip(|b| b == b' ' || b == b'\t');
        match (parser.peek(), challenges.last_mut()) {
            (Some(b'='), Some(current)) => {
                parser.at += 1;
                parser.skip(|b| b == b' ' || b == b'\t');
                let value = parser.value();
                current.params.push((name.to_ascii_lowercase(), value));
            }
            _ => {
                let mut challenge = Challenge {
                    scheme: name,
                    params: Vec::new(),
                };
                if let Some(token68) = parser.token68() {
                    challenge.params.push((String::new(), token68));
                }
                challenges.push(challenge);
            }
        }
    }
    challenges
}

struct Parser<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl Parser<'_> {
    fn done(&self) -> bool {
        self.at >= self.bytes.len()
    }

    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.at).copied()
    }

    fn skip(&mut self, what: impl Fn(u8) -> bool) {
        while self.peek().is_some_and(&what) {
            self.at += 1;
        }
    }

    fn take(&mut self, what: impl Fn(u8) -> bool) -> String {
        let start = self.at;
        self.skip(what);
        String::from_utf8_lossy(&self.bytes[start..self.at]).into_owned()
    }

    /// RFC 9110 `token`.
    fn token(&mut self) -> String {
        self.take(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
    }

    /// A parameter's value: a quoted string (with `\` escapes) or a token.
    fn value(&mut self) -> String {
        if self.peek() != Some(b'"') {
            return self.token();
        }
        self.at += 1;
        let mut value = Vec::new();
        while let Some(byte) = self.peek() {
            self.at += 1;
            match byte {
                b'"' => break,
                b'\\' => {
                    if let Some(escaped) = self.peek() {
                        value.push(escaped);
                        self.at += 1;
                    }
                }
                other => value.push(other),
            }
        }
        String::from_utf8_lossy(&value).into_owned()
    }

    /// RFC 9110 `token68` right after a scheme, if that is what follows (it
    /// must then end the challenge); otherwise nothing is consumed.
    fn token68(&mut self) -> Option<String> {
        let start = self.at;
        let body = self.take(|b| b.is_ascii_alphanumeric() || b"-._~+/".contains(&b));
        let padding = self.take(|b| b == b'=');
        self.skip(|b| b == b' ' || b == b'\t');
        if !body.is_empty() && matches!(self.peek(), None | Some(b',')) {
            return Some(format!("{body}{padding}"));
        }
        self.at = start;
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_bearer_challenge_among_others() {
        let header = r#"Basic realm="x", Bearer error="invalid_token", error_description="Authentication required", resource_metadata="http://127.0.0.1:9/.well-known/oauth-protected-resource/mcp", scope="mcp files:read""#;
        let challenge = parse_bearer_challenge([header]).expect("bearer");
        assert_eq!(challenge.error.as_deref(), Some("invalid_token"));
        assert_eq!(challenge.scope.as_deref(), Some("mcp files:read"));
        assert_eq!(
            challenge.resource_metadata.as_deref(),
            Some("http://127.0.0.1:9/.well-known/oauth-protected-resource/mcp")
        );
        // Separate headers, a token68 challenge first, unquoted values, odd case.
        let split = parse_bearer_challenge([
            "Negotiate abc123==",
            "bEaReR realm=api, SCOPE=\"a \\\"b\\\"\",error=invalid_token",
        ])
        .expect("bearer");
        assert_eq!(split.scope.as_deref(), Some("a \"b\""));
        assert_eq!(split.error.as_deref(), Some("invalid_token"));
        assert_eq!(parse_bearer_challenge(["Basic realm=\"x\""]), None);
        assert_eq!(
            parse_bearer_challenge(["Bearer"]),
            Some(BearerChallenge::default())
        );
        assert_eq!(
            parse_bearer_challenge([",,, =\"\" Bearer"]),
            Some(BearerChallenge::default())
        );
    }

    #[test]
    fn insufficient_scope_is_a_step_up() {
        let header = r#"Bearer error="insufficient_scope", scope="mcp admin", resource_metadata="https://r.example/.well-known/oauth-protected-resource", error_description="The admin tool needs the admin scope""#;
        let step_up = parse_insufficient_scope([header]).expect("step-up");
        assert_eq!(step_up.scope.as_deref(), Some("mcp admin"));
        assert_eq!(
            step_up.description.as_deref(),
            Some("The admin tool needs the admin scope")
        );
        assert_eq!(
            parse_insufficient_scope([r#"Bearer error="invalid_token""#]),
            None
        );
        assert_eq!(
            step_up_scope(Some("mcp read"), "mcp admin"),
            "mcp read admin"
        );
        assert_eq!(step_up_scope(None, " admin  mcp "), "admin mcp");
    }
}
