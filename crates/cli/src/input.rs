//! Reading secrets: a hidden prompt on a terminal, otherwise standard input.

use std::io::{IsTerminal, Read};

use keybearer_vault::{
    AccessToken, CredentialSecret, Error, SecretHeader, UserSecret, MAX_TOKEN_BYTES,
};

use crate::cli::SecretArgs;
use zeroize::Zeroizing;

/// Environment variable a script may use to pass the passphrase of a
/// passphrase-protected vault (a terminal prompt is used otherwise).
pub const PASSPHRASE_ENV: &str = "KEYBEARER_PASSPHRASE";

fn read_stdin_secret(what: &str) -> Result<Zeroizing<String>, Error> {
    let mut raw = Zeroizing::new(Vec::new());
    // One byte over the limit is enough to tell "too long" without reading a runaway pipe.
    std::io::stdin()
        .lock()
        .take(MAX_TOKEN_BYTES as u64 + 3)
        .read_to_end(&mut raw)?;
    let mut text = Zeroizing::new(String::from_utf8(raw.to_vec()).map_err(|_| {
        Error::invalid(
            "access_token",
            format!("The {what} on standard input is not text."),
        )
    })?);
    // `echo` and here-strings add one line break; anything more is the user's input.
    if text.ends_with('\n') {
        text.pop();
        if text.ends_with('\r') {
            text.pop();
        }
    }
    Ok(text)
}

fn prompt_hidden(prompt: &str) -> Result<Zeroizing<String>, Error> {
    Ok(Zeroizing::new(rpassword::prompt_password(prompt)?))
}

fn read_secret(prompt: &str, what: &str) -> Result<Zeroizing<String>, Error> {
    if std::io::stdin().is_terminal() {
        prompt_hidden(prompt)
    } else {
        read_stdin_secret(what)
    }
}

pub fn read_token() -> Result<AccessToken, Error> {
    let text = read_secret("Paste the token (input is hidden): ", "token")?;
    AccessToken::new(text.to_string())
}

/// A credential's secret of the kind the arguments name: a bearer token,
/// header values (one per line on standard input, or a prompt each), or a
/// Basic password. `same_headers`: a replaced header credential's names.
pub fn read_credential_secret(
    args: &SecretArgs,
    same_headers: Option<&[String]>,
    url: &str,
) -> Result<CredentialSecret, Error> {
    if args.oauth {
        return crate::commands::sign_in::sign_in(url, args);
    }
    if args.from_json {
        let json = read_stdin_secret("credential JSON")?;
        let stored = keybearer_vault::oauth::StoredOAuth::from_api_json(url, json.as_bytes())?;
        return Ok(CredentialSecret::OAuth(Box::new(stored)));
    }
    if args.token {
        return Ok(read_token()?.into());
    }
    if let Some(user) = &args.basic {
        let secret = read_secret(
            &format!("Password or API token of {user} (input is hidden): "),
            "password",
        )?;
        return CredentialSecret::headers(vec![SecretHeader::basic(user, &secret)?]);
    }
    let names: Vec<String> = match (args.headers.is_empty(), same_headers) {
        (false, _) => args.headers.clone(),
        (true, Some(names)) => names.to_vec(),
        (true, None) => return Ok(read_token()?.into()),
    };
    let values: Vec<Zeroizing<String>> = if std::io::stdin().is_terminal() {
        names
            .iter()
            .map(|name| prompt_hidden(&format!("Value of {name} (input is hidden): ")))
            .collect::<Result<_, _>>()?
    } else {
        let all = read_stdin_secret("header values")?;
        let lines: Vec<Zeroizing<String>> = all
            .lines()
            .map(|line| Zeroizing::new(line.trim_end_matches('\r').to_string()))
            .collect();
        if lines.len() != names.len() {
            return Err(Error::invalid(
                "headers",
                format!(
                    "Give one value per header on standard input, one per line ({} expected, {} found).",
                    names.len(),
                    lines.len()
                ),
            ));
        }
        lines
    };
    let headers = names
        .iter()
        .zip(values.iter())
        .map(|(name, value)| SecretHeader::new(name, value.to_string()))
        .collect::<Result<Vec<_>, _>>()?;
    CredentialSecret::headers(headers)
}

/// An OAuth client's secret (a confidential client registered beforehand).
pub fn read_client_secret() -> Result<Zeroizing<String>, Error> {
    read_secret("Client secret (input is hidden): ", "client secret")
}

pub fn read_recovery_key() -> Result<UserSecret, Error> {
    read_recovery_key_asking("Recovery key: ")
}

/// The recovery key, asked with `prompt` on a terminal (else standard input).
pub fn read_recovery_key_asking(prompt: &str) -> Result<UserSecret, Error> {
    let text = read_secret(prompt, "recovery key")?;
    Ok(UserSecret::new(text.to_string()))
}

/// A backup's passphrase: asked on a terminal (else standard input).
pub fn read_backup_passphrase() -> Result<UserSecret, Error> {
    let text = read_secret("Passphrase of the backup (input is hidden): ", "passphrase")?;
    Ok(UserSecret::new(text.to_string()))
}

/// A new passphrase for a backup: typed twice on a terminal; from standard
/// input (a script), once. Never `KEYBEARER_PASSPHRASE`, which is the
/// vault's own.
pub fn read_new_backup_passphrase() -> Result<UserSecret, Error> {
    if !std::io::stdin().is_terminal() {
        return Ok(UserSecret::new(
            read_stdin_secret("passphrase")?.to_string(),
        ));
    }
    let first = prompt_hidden("Passphrase for the backup (at least 10 characters): ")?;
    let second = prompt_hidden("Type it again: ")?;
    if *first != *second {
        return Err(Error::invalid(
            "passphrase",
            "The two passphrases differ. No backup was written.",
        ));
    }
    Ok(UserSecret::new(first.to_string()))
}

/// The passphrase of an existing vault.
pub fn read_passphrase() -> Result<UserSecret, Error> {
    if let Ok(value) = std::env::var(PASSPHRASE_ENV) {
        return Ok(UserSecret::new(value));
    }
    if !std::io::stdin().is_terminal() && !std::io::stderr().is_terminal() {
        return Err(Error::PassphraseRequired);
    }
    Ok(UserSecret::new(prompt_hidden("Passphrase: ")?.to_string()))
}

/// A new passphrase, asked twice on a terminal.
pub fn read_new_passphrase() -> Result<UserSecret, Error> {
    if let Ok(value) = std::env::var(PASSPHRASE_ENV) {
        return Ok(UserSecret::new(value));
    }
    let first = prompt_hidden("New passphrase (at least 10 characters): ")?;
    let second = prompt_hidden("Type it again: ")?;
    if *first != *second {
        return Err(Error::invalid(
            "passphrase",
            "The two passphrases differ. Nothing was changed.",
        ));
    }
    Ok(UserSecret::new(first.to_string()))
}

/// Asks the user to type `expected` to confirm a destructive action.
pub fn confirm(question: &str, expected: &str) -> Result<(), Error> {
    confirm_with(
        question,
        expected,
        "This deletes data and there is no terminal to ask for confirmation. Add --yes to confirm.",
        "Not confirmed; nothing was deleted.",
    )
}

/// Asks the user to type `expected`; `no_terminal` and `declined` say what
/// happens (nothing) when they cannot or do not.
pub fn confirm_with(
    question: &str,
    expected: &str,
    no_terminal: &str,
    declined: &str,
) -> Result<(), Error> {
    if !std::io::stdin().is_terminal() {
        return Err(Error::invalid("confirm", no_terminal));
    }
    eprintln!("{question}");
    eprint!("Type \"{expected}\" to confirm: ");
    let mut answer = String::new();
    std::io::stdin().read_line(&mut answer)?;
    if answer.trim() == expected {
        Ok(())
    } else {
        Err(Error::invalid("confirm", declined))
    }
}

/// A team server's password (hidden prompt, or standard input).
pub fn read_team_password(user: &str) -> Result<UserSecret, Error> {
    let text = read_secret(
        &format!("Password of {user} on the team server (input is hidden): "),
        "password",
    )?;
    Ok(UserSecret::new(text.to_string()))
}

/// A team server's token (hidden prompt, or standard input).
pub fn read_team_token() -> Result<UserSecret, Error> {
    let text = read_secret("Paste your team server token (input is hidden): ", "token")?;
    Ok(UserSecret::new(text.to_string()))
}
