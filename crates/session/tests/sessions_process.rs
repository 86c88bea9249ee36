//! Session processes: exit codes and signals recorded, process groups that
//! ignore SIGTERM, shutdown, stopping through the database, and resources
//! that live exactly as long as the agent. These only need SQLite.

#![cfg(unix)]

use std::path::PathBuf;
use std::time::Duration;

use keybearer_session::{
    prepare, recorded_session, recorded_sessions, stop_recorded_session, Agent, InjectionMode,
    SessionManager, SessionState, Terminal,
};
mod support;

use keybearer_vault::{Engine, Protocol};
use support::world::{
    group_gone, kinds_for, process_gone, read_when_present, wait_for, World, DEADLINE,
};

#[test]
fn an_agent_that_exits_by_itself_has_its_code_recorded() {
    let mut w = World::new();
    let manager = SessionManager::new(&w.engine).expect("manager");
    let started = w.start_plain(&manager, "sh", &["-c", "exit 7"], Terminal::Inherit);
    let id = started.session.id.clone();
    let ended = manager.wait(&id).expect("wait");
    assert_eq!(ended.state, SessionState::Exited { code: 7 });
    assert_eq!(ended.shell_exit_code(), 7);
    assert_eq!(manager.list()[0].state, SessionState::Exited { code: 7 });
    assert_eq!(
        recorded_session(&mut w.engine, &id).expect("row").state,
        SessionState::Exited { code: 7 }
    );
    let kinds = kinds_for(&mut w.engine, &id);
    assert_eq!(
        kinds,
        [
            ("session.started".to_string(), None),
            ("session.exited".to_string(), Some(7))
        ]
    );
}

#[test]
fn a_crashing_agent_is_recorded_as_failed_with_its_signal() {
    let mut w = World::new();
    let manager = SessionManager::new(&w.engine).expect("manager");
    let started = w.start_plain(&manager, "sh", &["-c", "kill -SEGV $$"], Terminal::Inherit);
    let ended = manager.wait(&started.session.id).expect("wait");
    match &ended.state {
        SessionState::Failed { reason } => assert!(reason.contains("SIGSEGV"), "{reason}"),
        other => panic!("expected failed, got {other:?}"),
    }
    assert_eq!(ended.signal, Some(11));
    assert_eq!(ended.shell_exit_code(), 139);
    let recorded = recorded_session(&mut w.engine, &started.session.id).expect("row");
    assert_eq!(recorded.state, ended.state);
    assert_eq!(recorded.signal, Some(11));
}

#[test]
fn stop_ends_an_agent_that_ignores_sigterm_and_all_its_children() {
    let mut w = World::new();
    let manager = SessionManager::new(&w.engine)
        .expect("manager")
        .with_stop_grace(Duration::from_secs(1));
    let pids = w.path("pids");
    let script = w.script(
        "stubborn.sh",
        &format!(
            "trap '' TERM\nsleep 1000 &\nprintf '%s\\n' \"$!\" > {}\nsleep 1000",
            pids.display()
        ),
    );
    let started = w.start_plain(&manager, &script, &[], Terminal::Inherit);
    let pgid = started.session.pid.expect("pid");
    let child: i32 = read_when_present(&pids).trim().parse().expect("child pid");
    assert!(!group_gone(pgid));

    let ended = manager.stop(&started.session.id).expect("stop");
    assert_eq!(ended.state, SessionState::Stopped);
    assert_eq!(ended.signal, Some(9), "it took SIGKILL");
    wait_for("the whole group to be gone", DEADLINE, || group_gone(pgid));
    wait_for("the child to be gone", DEADLINE, || process_gone(child));
    let kinds = kinds_for(&mut w.engine, &started.session.id);
    assert_eq!(kinds.last().expect("event").0, "session.stopped");
    // Stopping again is harmless and reports the same end.
    assert_eq!(
        manager.stop(&started.session.id).expect("again").state,
        SessionState::Stopped
    );
}

#[test]
fn shutdown_stops_every_session_and_leaves_no_process_or_private_folder() {
    let mut w = World::new();
    let manager = SessionManager::new(&w.engine)
        .expect("manager")
        .with_stop_grace(Duration::from_secs(1));
    let mut running = Vec::new();
    for (i, trap) in ["", "trap '' TERM", "trap 'exit 3' TERM"]
        .iter()
        .enumerate()
    {
        let report = w.path(&format!("report-{i}"));
        let script = w.script(
            &format!("agent-{i}.sh"),
            &format!(
                "{trap}\nsleep 1000 &\nprintf '%s %s\\n' \"$!\" \"$KEYBEARER_MCP_CONFIG\" > {}\nwait\nsleep 1000",
                report.display()
            ),
        );
        let started = w.start_plain(&manager, &script, &[], Terminal::Inherit);
        running.push((started.session, report));
    }
    let mut watched = Vec::new();
    for (session, report) in &running {
        let line = read_when_present(report);
        let (child, config) = line.trim().split_once(' ').expect("pid and path");
        let config = PathBuf::from(config);
        assert!(config.exists());
        watched.push((
            session.pid.expect("pid"),
            child.parse::<i32>().expect("pid"),
            config,
        ));
    }
    manager.shutdown();
    for session in manager.list() {
        assert_eq!(session.state, SessionState::Stopped, "{}", session.id);
    }
    for (pgid, child, config) in watched {
        assert!(!config.exists());
        assert!(!config.parent().expect("dir").exists());
        wait_for("the group to be gone", DEADLINE, || group_gone(pgid));
        wait_for("the child to be gone", DEADLINE, || process_gone(child));
    }
    for (session, _) in &running {
        assert_eq!(
            recorded_session(&mut w.engine, &session.id)
                .expect("row")
                .state,
            SessionState::Stopped
        );
    }
}

#[test]
fn dropping_the_manager_stops_its_sessions() {
    let mut w = World::new();
    let manager = SessionManager::new(&w.engine)
        .expect("manager")
        .with_stop_grace(Duration::from_secs(1));
    let started = w.start_plain(&manager, "sleep", &["1000"], Terminal::Inherit);
    let pgid = started.session.pid.expect("pid");
    drop(manager);
    wait_for("the group to be gone", DEADLINE, || group_gone(pgid));
    assert_eq!(
        recorded_session(&mut w.engine, &started.session.id)
            .expect("row")
            .state,
        SessionState::Stopped
    );
}

#[test]
fn a_session_started_elsewhere_can_be_stopped_through_the_database() {
    let mut w = World::new();
    let manager = SessionManager::new(&w.engine).expect("manager");
    let started = w.start_plain(
        &manager,
        "sh",
        &["-c", "trap '' TERM; sleep 1000"],
        Terminal::Inherit,
    );
    let id = started.session.id.clone();
    let pgid = started.session.pid.expect("pid");
    // Another engine on the same data folder, as another process would have.
    let mut other = Engine::open(&w.path("data")).expect("open");
    let listed = recorded_sessions(&mut other, 10).expect("list");
    assert_eq!(listed[0].id, id);
    assert_eq!(listed[0].state, SessionState::Running);
    let ended = stop_recorded_session(&mut other, &id, Duration::from_secs(1)).expect("stop");
    assert_eq!(ended.state, SessionState::Stopped);
    assert_eq!(
        manager.wait(&id).expect("owner saw it").state,
        SessionState::Stopped
    );
    wait_for("the group to be gone", DEADLINE, || group_gone(pgid));
    let error =
        stop_recorded_session(&mut other, &id, Duration::from_secs(1)).expect_err("not running");
    assert_eq!(error.code(), "session_not_running");
}

#[test]
fn session_resources_live_exactly_as_long_as_the_agent() {
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;

    /// Stands in for the proxy's per-session listeners.
    struct Listeners(Arc<AtomicBool>);
    impl Drop for Listeners {
        fn drop(&mut self) {
            self.0.store(true, Ordering::SeqCst);
        }
    }

    let mut w = World::new();
    let vault = w.vault("V", "development");
    let manager = SessionManager::new(&w.engine)
        .expect("manager")
        .with_stop_grace(Duration::from_secs(1));
    let closed = Arc::new(AtomicBool::new(false));
    let agent = Agent::Custom {
        program: "sleep".into(),
        args: vec!["1000".into()],
    };
    let prepared =
        prepare(&w.engine, w.request(&[&vault], agent, InjectionMode::Proxy)).expect("prepare");
    let started = manager
        .start_with(
            prepared,
            vec![],
            Terminal::Inherit,
            Box::new(Listeners(Arc::clone(&closed))),
        )
        .expect("start");
    std::thread::sleep(Duration::from_millis(200));
    assert!(!closed.load(Ordering::SeqCst), "kept while the agent runs");
    manager.stop(&started.session.id).expect("stop");
    assert!(closed.load(Ordering::SeqCst), "released when it ended");

    // A start that fails releases them too.
    let closed = Arc::new(AtomicBool::new(false));
    let prepared = prepare(
        &w.engine,
        w.request(
            &[&vault],
            Agent::Custom {
                program: "sh".into(),
                args: vec![],
            },
            InjectionMode::Proxy,
        ),
    )
    .expect("prepare");
    let bad_name = keybearer_session::McpEndpoint {
        name: "Not Valid".into(),
        url: "http://127.0.0.1:1/mcp".into(),
        transport: Protocol::StreamableHttp,
        headers: vec![(
            "Authorization".to_string(),
            keybearer_session::HeaderSecret::bearer("s").expect("secret"),
        )],
    };
    let error = manager
        .start_with(
            prepared,
            vec![bad_name],
            Terminal::Inherit,
            Box::new(Listeners(Arc::clone(&closed))),
        )
        .expect_err("invalid name");
    assert_eq!(error.code(), "invalid_input");
    assert!(closed.load(Ordering::SeqCst));
}
