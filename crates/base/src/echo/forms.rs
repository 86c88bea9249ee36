//! Which bytes of a request's credential headers are looked for in the
//! answer, and in which forms.
//!
//! Per header: the value itself; for `Authorization`, the part after its
//! scheme instead (`Bearer <token>`, an OAuth access token too: the token;
//! `Basic <base64>`: the base64, plus the decoded `user:password` and the
//! password alone). A part shorter than [`super::MIN_SECRET`] gives way to
//! the whole value. Of each: the bytes as sent, and the forms a server
//! writing them into JSON or a URL would produce: JSON string escaping (`"`
//! and `\` escaped, a tab as `\t`; a second form with `/` as `\/`, which PHP
//! and some other encoders write) and percent-encoding (every byte but
//! letters, digits and `-._~`, upper-case hex).
//!
//! Not recognised, on purpose: `\u00XX` escapes of ordinary characters
//! (Go's HTML-safe `\u003c`, `\u0026`; a token rarely holds them),
//! lower-case percent hex, `+` for a space, an escaped form escaped again,
//! base64 of a bearer token, and anything a server computes from the value.
//! Each extra form is one more pass over every answer.

use zeroize::Zeroizing;

type Secret = Zeroizing<Vec<u8>>;

/// Every needle of `headers`, duplicates and short ones included (the
/// caller drops those).
pub(super) fn needles<'a>(headers: impl IntoIterator<Item = (&'a str, &'a [u8])>) -> Vec<Secret> {
    let mut secrets: Vec<Secret> = Vec::new();
    for (name, value) in headers {
        let value = value.trim_ascii();
        if !name.eq_ignore_ascii_case("authorization") {
            secrets.push(Zeroizing::new(value.to_vec()));
            continue;
        }
        let (scheme, credential) = match value.iter().position(|b| *b == b' ') {
            Some(space) => (&value[..space], value[space..].trim_ascii()),
            None => (&b""[..], value),
        };
        secrets.push(Zeroizing::new(long_or(credential, value).to_vec()));
        if scheme.eq_ignore_ascii_case(b"basic") {
            if let Some(plain) = decode_basic(credential) {
                let password = plain
                    .iter()
                    .position(|b| *b == b':')
                    .map_or(&plain[..], |colon| &plain[colon + 1..]);
                secrets.push(Zeroizing::new(long_or(password, &plain).to_vec()));
            }
        }
    }
    let mut all = Vec::with_capacity(secrets.len() * 2);
    for secret in secrets {
        push_forms(&secret, &mut all);
        all.push(secret);
    }
    all
}

/// `part` when it is long enough to look for, else `whole`.
fn long_or<'a>(part: &'a [u8], whole: &'a [u8]) -> &'a [u8] {
    if part.len() >= super::MIN_SECRET {
        part
    } else {
        whole
    }
}

/// `user:password` of a Basic credential, or `None` when it is not base64.
fn decode_basic(encoded: &[u8]) -> Option<Secret> {
    let encoding = &data_encoding::BASE64;
    let length = encoding.decode_len(encoded.len()).ok()?;
    let mut plain = Zeroizing::new(vec![0u8; length]);
    let written = encoding.decode_mut(encoded, &mut plain).ok()?;
    plain.truncate(written);
    Some(plain)
}

/// The JSON and URL forms of `secret` that differ from it.
fn push_forms(secret: &[u8], out: &mut Vec<Secret>) {
    let json = json_escaped(secret, false);
    if json.as_slice() != secret {
        out.push(json);
    }
    if secret.contains(&b'/') {
        out.push(json_escaped(secret, true));
    }
    let percent = percent_encoded(secret);
    if percent.as_slice() != secret {
        out.push(percent);
    }
}

/// `secret` as it appears inside a JSON string; with `slash`, `/` as `\/`.
fn json_escaped(secret: &[u8], slash: bool) -> Secret {
    let mut out = Zeroizing::new(Vec::with_capacity(secret.len() * 2));
    for &byte in secret {
        match byte {
            b'"' => out.extend_from_slice(b"\\\""),
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'/' if slash => out.extend_from_slice(b"\\/"),
            b'\t' => out.extend_from_slice(b"\\t"),
            0..=0x1f => {
                out.extend_from_slice(b"\\u00");
                out.push(HEX_LOWER[usize::from(byte >> 4)]);
                out.push(HEX_LOWER[usize::from(byte & 0xf)]);
            }
            _ => out.push(byte),
        }
    }
    out
}

const HEX_LOWER: &[u8; 16] = b"0123456789abcdef";
const HEX_UPPER: &[u8; 16] = b"0123456789ABCDEF";

/// `secret` percent-encoded as a URL's query or path carries it.
fn percent_encoded(secret: &[u8]) -> Secret {
    let mut out = Zeroizing::new(Vec::with_capacity(secret.len() * 3));
    for &byte in secret {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            out.push(byte);
        } else {
            out.push(b'%');
            out.push(HEX_UPPER[usize::from(byte >> 4)]);
            out.push(HEX_UPPER[usize::from(byte & 0xf)]);
        }
    }
    out
}
