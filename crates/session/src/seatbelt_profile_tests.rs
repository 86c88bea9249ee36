//! Tests of the Seatbelt profile. They read the profile back with a small
//! SBPL reader and decide requests with a model of Seatbelt's rule (the
//! last rule whose operation and filters match decides): a model of one
//! function's output, not Seatbelt, which never ran here.

use super::*;

#[derive(Debug, Clone, PartialEq)]
enum Sexp {
    Atom(String),
    Text(String),
    List(Vec<Sexp>),
}

/// Reads SBPL: lists, atoms, strings with `\` escapes, `;` comments.
fn read(text: &str) -> Vec<Sexp> {
    fn form(chars: &mut std::iter::Peekable<std::str::Chars<'_>>) -> Option<Sexp> {
        loop {
            match chars.peek()? {
                c if c.is_whitespace() => {
                    chars.next();
                }
                ';' => {
                    for c in chars.by_ref() {
                        if c == '\n' {
                            break;
                        }
                    }
                }
                _ => break,
            }
        }
        match chars.next()? {
            '(' => {
                let mut items = Vec::new();
                loop {
                    while chars.peek().is_some_and(|c| c.is_whitespace()) {
                        chars.next();
                    }
                    if chars.peek() == Some(&')') {
                        chars.next();
                        return Some(Sexp::List(items));
                    }
                    items.push(form(chars).expect("unclosed list"));
                }
            }
            '"' => {
                let mut text = String::new();
                loop {
                    match chars.next().expect("unclosed string") {
                        '"' => return Some(Sexp::Text(text)),
                        '\\' => text.push(chars.next().expect("escape")),
                        c => text.push(c),
                    }
                }
            }
            ')' => panic!("a stray `)`"),
            c => {
                let mut atom = c.to_string();
                while let Some(&c) = chars.peek() {
                    if c.is_whitespace() || c == '(' || c == ')' {
                        break;
                    }
                    atom.push(c);
                    chars.next();
                }
                Some(Sexp::Atom(atom))
            }
        }
    }
    let mut chars = text.chars().peekable();
    std::iter::from_fn(|| form(&mut chars)).collect()
}

/// What a request is about.
#[derive(Clone, Copy)]
enum On<'a> {
    Path(&'a str),
    Socket(&'a str),
    Service(&'a str),
    Process { same_sandbox: bool },
    Sysctl(&'a str),
}

fn filter_matches(filter: &Sexp, on: On<'_>) -> bool {
    let Sexp::List(items) = filter else {
        panic!("a filter that is not a list: {filter:?}")
    };
    let text = |index: usize| match &items[index] {
        Sexp::Text(text) => text.as_str(),
        other => panic!("not a string: {other:?}"),
    };
    let path_matches = |kind: &str, value: &str, path: &str| match kind {
        "subpath" => path == value || path.starts_with(&format!("{value}/")),
        "literal" => path == value,
        other => panic!("unknown path filter {other}"),
    };
    let Sexp::Atom(kind) = &items[0] else {
        panic!("a filter without a name")
    };
    match (kind.as_str(), on) {
        ("subpath" | "literal", On::Path(path)) => path_matches(kind, text(1), path),
        ("remote" | "local", On::Socket(path)) => {
            let Sexp::List(inner) = &items[2] else {
                panic!("unix-socket without a path")
            };
            let (Sexp::Atom(inner_kind), Sexp::Text(value)) = (&inner[0], &inner[1]) else {
                panic!("a bad socket filter")
            };
            path_matches(inner_kind, value, path)
        }
        ("global-name", On::Service(name)) => text(1) == name,
        ("target", On::Process { same_sandbox }) => {
            assert_eq!(items[1], Sexp::Atom("same-sandbox".into()));
            same_sandbox
        }
        ("sysctl-name-prefix", On::Sysctl(name)) => name.starts_with(text(1)),
        _ => false,
    }
}

/// Whether the model lets `operation` on `on` through `forms`.
fn allowed(forms: &[Sexp], operation: &str, on: On<'_>) -> bool {
    for form in forms.iter().rev() {
        let Sexp::List(items) = form else {
            panic!("a top-level atom")
        };
        let Sexp::Atom(action) = &items[0] else {
            panic!("a rule without an action")
        };
        if action == "version" {
            continue;
        }
        let operations: Vec<&str> = items[1..]
            .iter()
            .filter_map(|item| match item {
                Sexp::Atom(name) => Some(name.as_str()),
                _ => None,
            })
            .collect();
        let filters: Vec<&Sexp> = items[1..]
            .iter()
            .filter(|item| matches!(item, Sexp::List(_)))
            .collect();
        let operation_matches = operations.iter().any(|name| {
            *name == "default"
                || *name == operation
                || name
                    .strip_suffix('*')
                    .is_some_and(|prefix| operation.starts_with(prefix))
        });
        let filter_matches = filters.is_empty() || filters.iter().any(|f| filter_matches(f, on));
        if operation_matches && filter_matches {
            return action == "allow";
        }
    }
    panic!("no default rule")
}

fn p(path: &str) -> PathBuf {
    PathBuf::from(path)
}

const HOME: &str = "/Users/me";
const DATA: &str = "/Users/me/Library/Application Support/keybearer";
const PRIVATE: &str = "/Users/me/Library/Application Support/keybearer/run/keybearer-sesn_1-ab";
const OTHER: &str = "/Users/me/Library/Application Support/keybearer/run/keybearer-sesn_2-cd";
const KEYCHAINS: &str = "/Users/me/Library/Keychains";
const USER_TEMP: &str = "/private/var/folders/xy/abc/T";

/// The rules `seatbelt` makes for a session working in `work`, with
/// `protected` paths, an agent folder and the program in a hidden folder.
fn session_rules(work: &str, protected: &[&str]) -> Vec<(PathBuf, Rule)> {
    let writable = vec![p(work), p(PRIVATE), p("/Users/me/.claude")];
    let mut rules: Vec<(PathBuf, Rule)> = [DATA, KEYCHAINS, "/private/tmp", USER_TEMP]
        .iter()
        .map(|path| (p(path), Rule::Hidden))
        .collect();
    rules.push((p("/dev"), Rule::Writable));
    let protected: Vec<PathBuf> = protected.iter().map(|path| p(path)).collect();
    rules.extend(protection(&protected, &writable));
    rules.push((p("/private/tmp/tools/agent"), Rule::ReadOnly));
    rules.extend(writable.into_iter().map(|folder| (folder, Rule::Writable)));
    rules
}

fn forms_for(work: &str, protected: &[&str]) -> Vec<Sexp> {
    let text = profile(session_rules(work, protected)).expect("profile");
    read(&text)
}

fn reads(forms: &[Sexp], path: &str) -> bool {
    allowed(forms, "file-read-data", On::Path(path))
}

fn writes(forms: &[Sexp], path: &str) -> bool {
    allowed(forms, "file-write-create", On::Path(path))
        && allowed(forms, "file-write-data", On::Path(path))
}

fn renames(forms: &[Sexp], path: &str) -> bool {
    allowed(forms, "file-write-unlink", On::Path(path))
}

#[test]
fn keybearer_the_keychain_and_other_sessions_are_out_of_reach() {
    let forms = forms_for("/Users/me/work", &[]);
    assert_eq!(forms[0], read("(version 1)")[0]);
    assert_eq!(forms[1], read("(allow default)")[0]);
    for hidden in [
        format!("{DATA}/vault.db"),
        format!("{DATA}/approval.sock"),
        format!("{OTHER}/mcp.json"),
        format!("{KEYCHAINS}/login.keychain-db"),
        DATA.to_string(),
        format!("{DATA}/run"),
    ] {
        assert!(!reads(&forms, &hidden), "{hidden} is readable");
        assert!(!writes(&forms, &hidden), "{hidden} is writable");
    }
    assert!(!allowed(
        &forms,
        "network-outbound",
        On::Socket(&format!("{DATA}/approval.sock"))
    ));
    // The session's own folder, and the way to it, stay usable.
    assert!(reads(&forms, &format!("{PRIVATE}/mcp.json")));
    assert!(writes(&forms, &format!("{PRIVATE}/tmp/x")));
    for above in [DATA, &format!("{DATA}/run")] {
        assert!(allowed(&forms, "file-read-metadata", On::Path(above)));
    }
    assert!(!allowed(
        &forms,
        "file-read-metadata",
        On::Path(&format!("{DATA}/vault.db"))
    ));
    for service in KEYCHAIN_SERVICES.iter().chain(ESCAPE_SERVICES) {
        assert!(!allowed(&forms, "mach-lookup", On::Service(service)));
    }
    assert!(allowed(
        &forms,
        "mach-lookup",
        On::Service("com.apple.trustd")
    ));
}

#[test]
fn other_processes_are_neither_seen_nor_signalled() {
    let forms = forms_for("/Users/me/work", &[]);
    for operation in ["signal", "process-info-pidinfo", "mach-priv-task-port"] {
        assert!(!allowed(
            &forms,
            operation,
            On::Process {
                same_sandbox: false
            }
        ));
        assert!(allowed(
            &forms,
            operation,
            On::Process { same_sandbox: true }
        ));
    }
    assert!(!allowed(
        &forms,
        "sysctl-read",
        On::Sysctl("kern.procargs2.123")
    ));
    assert!(allowed(&forms, "sysctl-read", On::Sysctl("hw.ncpu")));
    for escape in [
        "job-creation",
        "lsopen",
        "appleevent-send",
        "user-preference-write",
    ] {
        assert!(!allowed(&forms, escape, On::Path("/")), "{escape}");
    }
}

#[test]
fn only_the_writable_folders_change_and_protected_files_stay_put() {
    let work = "/Users/me/work";
    let forms = forms_for(
        work,
        &[
            "/Users/me/work/.git/hooks",
            "/Users/me/work/.git/config",
            "/Users/me/.claude/settings.json",
            "/Users/me/.bashrc",
        ],
    );
    for free in [
        "/Users/me/work/src/main.rs",
        "/Users/me/work/.git/index",
        "/Users/me/.claude/history.jsonl",
        "/dev/null",
    ] {
        assert!(writes(&forms, free), "{free} is not writable");
    }
    for fixed in [
        "/Users/me/work/.git/hooks/pre-commit",
        "/Users/me/work/.git/config",
        "/Users/me/.claude/settings.json",
        "/Users/me/.bashrc",
        "/Users/me/notes.txt",
        "/usr/local/bin/tool",
        "/private/tmp/x",
    ] {
        assert!(!writes(&forms, fixed), "{fixed} is writable");
    }
    // Neither `.git` nor the working folder can be moved aside and remade.
    for pinned in ["/Users/me/work/.git", work, "/Users/me/.claude"] {
        assert!(!renames(&forms, pinned), "{pinned} can be renamed");
    }
    assert!(renames(&forms, "/Users/me/work/src"));
    // Reading is unchanged, but for the hidden folders.
    assert!(reads(&forms, "/Users/me/.bashrc"));
    assert!(!reads(&forms, "/private/tmp/ssh-agent/socket"));
    assert!(!reads(&forms, &format!("{USER_TEMP}/other")));
    // The agent's program in a hidden folder is readable, not writable.
    assert!(reads(&forms, "/private/tmp/tools/agent"));
    assert!(!writes(&forms, "/private/tmp/tools/agent"));
}

#[test]
fn a_working_folder_holding_hidden_ones_cannot_rename_its_way_to_them() {
    // With the home folder as the working folder, renaming `Library` would
    // move the data folder from under its rule.
    let forms = forms_for(HOME, &[]);
    assert!(writes(&forms, "/Users/me/notes.txt"));
    assert!(!reads(&forms, &format!("{DATA}/vault.db")));
    for pinned in [
        "/Users/me/Library",
        "/Users/me/Library/Application Support",
        HOME,
    ] {
        assert!(!renames(&forms, pinned), "{pinned} can be renamed");
    }
    // A working folder in a hidden temporary folder still works.
    let forms = forms_for(&format!("{USER_TEMP}/work"), &[]);
    assert!(writes(&forms, &format!("{USER_TEMP}/work/a")));
    assert!(!reads(&forms, &format!("{USER_TEMP}/other")));
}

#[test]
fn a_hostile_path_stays_one_string() {
    let plain = profile(vec![(p("/Users/me/a"), Rule::Hidden)]).expect("plain");
    for hostile in [
        "/Users/me/a\")(allow default)(allow file-read* (subpath \"/",
        "/Users/me/a\\\")(allow default)(deny x \\",
        "/Users/me/a\\",
    ] {
        let text = profile(vec![(p(hostile), Rule::Hidden)]).expect("quoted");
        let forms = read(&text);
        assert_eq!(forms.len(), read(&plain).len(), "{text}");
        let defaults = forms
            .iter()
            .filter(|form| **form == read("(allow default)")[0])
            .count();
        assert_eq!(defaults, 1, "{text}");
        assert!(!reads(&forms, &format!("{hostile}/vault.db")), "{text}");
        assert!(reads(&forms, "/Users/me/b"));
    }
}

#[test]
fn paths_that_cannot_be_written_are_refused() {
    let too_long = format!("/{}", "\"".repeat(600));
    for bad in [
        "/Users/me/a\nb",
        "/Users/me/\u{7}",
        "relative/path",
        &too_long,
    ] {
        let refused = profile(vec![(p(bad), Rule::Writable)]).expect_err("refused");
        assert_eq!(refused, p(bad));
    }
    #[cfg(unix)]
    {
        use std::os::unix::ffi::OsStrExt;
        let not_text = PathBuf::from(std::ffi::OsStr::from_bytes(b"/Users/\xff"));
        assert!(profile(vec![(not_text.clone(), Rule::Hidden)]).is_err());
        assert!(arguments(String::new(), &not_text, Vec::new()).is_err());
    }
}

#[test]
fn the_agent_starts_under_the_profile() {
    let args = arguments(
        "(version 1)".into(),
        Path::new("/usr/local/bin/claude"),
        vec!["--mcp-config".into(), "-p".into()],
    )
    .expect("arguments");
    assert_eq!(
        args,
        [
            "-p",
            "(version 1)",
            "--",
            "/usr/local/bin/claude",
            "--mcp-config",
            "-p"
        ]
    );
}

#[test]
fn protection_covers_only_paths_inside_writable_folders() {
    let rules = protection(
        &[p("/w/.git/hooks"), p("/elsewhere/.bashrc"), p("/w")],
        &[p("/w")],
    );
    assert_eq!(rules, [(p("/w/.git/hooks"), Rule::ReadOnly)]);
}
