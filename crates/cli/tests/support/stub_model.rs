//! A stand-in model API on loopback for the agent clients (`agents.rs`):
//! OpenAI chat completions answered by a script, so a client's MCP
//! connection is made by its own code and nothing it sends leaves the
//! machine.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use serde_json::{json, Value};

use super::agents::CLIENT_DEADLINE;

/// A stand-in model API on loopback, for the clients that connect their MCP
/// servers only as part of a model turn (Copilot CLI with a BYOK provider)
/// and as the base URL of every other client, so nothing they send leaves
/// the machine. OpenAI chat completions: the first answer calls every tool
/// whose name ends in `whoami`; once the request holds tool results, the
/// answer is `RESULTS` followed by those results. Anything else gets 404.
pub struct StubModel {
    pub url: String,
    requests: Arc<Mutex<Vec<Value>>>,
    stop: Arc<AtomicBool>,
    addr: std::net::SocketAddr,
}

impl StubModel {
    pub fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind the stub model");
        let addr = listener.local_addr().expect("addr");
        let requests = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let (seen, stopped) = (requests.clone(), stop.clone());
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                if stopped.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(stream) = stream else { continue };
                let seen = seen.clone();
                std::thread::spawn(move || {
                    let _ = serve(stream, &seen);
                });
            }
        });
        Self {
            url: format!("http://{addr}"),
            requests,
            stop,
            addr,
        }
    }

    /// The chat-completion request bodies received so far.
    pub fn requests(&self) -> Vec<Value> {
        self.requests.lock().expect("requests").clone()
    }
}

impl Drop for StubModel {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(self.addr);
    }
}

fn serve(mut stream: TcpStream, seen: &Mutex<Vec<Value>>) -> std::io::Result<()> {
    stream.set_read_timeout(Some(CLIENT_DEADLINE))?;
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut request_line = String::new();
    reader.read_line(&mut request_line)?;
    let mut length = 0usize;
    loop {
        let mut header = String::new();
        if reader.read_line(&mut header)? == 0 || header == "\r\n" || header == "\n" {
            break;
        }
        if let Some((name, value)) = header.split_once(':') {
            if name.eq_ignore_ascii_case("content-length") {
                length = value.trim().parse().unwrap_or(0);
            }
        }
    }
    let mut parts = request_line.split_whitespace();
    let (method, path) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
    if method == "GET" && path.ends_with("/models") {
        let body = json!({"object": "list", "data": [{"id": "stub-model", "object": "model"}]});
        return respond(&mut stream, "200 OK", "application/json", &body.to_string());
    }
    if method != "POST" || !path.ends_with("/chat/completions") {
        return respond(&mut stream, "404 Not Found", "application/json", "{}");
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body)?;
    let request: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    seen.lock().expect("requests").push(request.clone());
    let (message, finish) = stub_answer(&request);
    if request["stream"] == true {
        let mut delta = message;
        if let Some(calls) = delta["tool_calls"].as_array_mut() {
            for (index, call) in calls.iter_mut().enumerate() {
                call["index"] = json!(index);
            }
        }
        let chunk = |delta: Value, finish: Value| {
            json!({"id": "stub", "object": "chat.completion.chunk", "created": 0,
                   "model": request["model"],
                   "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
                   "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}})
        };
        let events = format!(
            "data: {}\n\ndata: {}\n\ndata: [DONE]\n\n",
            chunk(delta, Value::Null),
            chunk(json!({}), json!(finish))
        );
        respond(&mut stream, "200 OK", "text/event-stream", &events)
    } else {
        let answer = json!({"id": "stub", "object": "chat.completion", "created": 0,
            "model": request["model"],
            "choices": [{"index": 0, "message": message, "finish_reason": finish}],
            "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}});
        respond(
            &mut stream,
            "200 OK",
            "application/json",
            &answer.to_string(),
        )
    }
}

/// The assistant message for a chat-completion request, and its finish reason.
fn stub_answer(request: &Value) -> (Value, &'static str) {
    let messages = request["messages"].as_array().cloned().unwrap_or_default();
    let results: Vec<String> = messages
        .iter()
        .filter(|m| m["role"] == "tool")
        .map(|m| match &m["content"] {
            Value::String(text) => text.clone(),
            other => other.to_string(),
        })
        .collect();
    if !results.is_empty() {
        let text = format!("RESULTS {}", results.join(" | "));
        return (json!({"role": "assistant", "content": text}), "stop");
    }
    let calls: Vec<Value> = tool_names(request)
        .iter()
        .filter(|name| name.ends_with("whoami"))
        .enumerate()
        .map(|(i, name)| {
            json!({"id": format!("call_{i}"), "type": "function",
                   "function": {"name": name, "arguments": "{}"}})
        })
        .collect();
    if calls.is_empty() {
        let text = "NO WHOAMI TOOL WAS OFFERED";
        return (json!({"role": "assistant", "content": text}), "stop");
    }
    (
        json!({"role": "assistant", "content": null, "tool_calls": calls}),
        "tool_calls",
    )
}

/// The function names a chat-completion request offers the model.
pub fn tool_names(request: &Value) -> Vec<String> {
    request["tools"]
        .as_array()
        .map(|tools| {
            tools
                .iter()
                .filter_map(|t| t["function"]["name"].as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

fn respond(stream: &mut TcpStream, status: &str, kind: &str, body: &str) -> std::io::Result<()> {
    write!(
        stream,
        "HTTP/1.1 {status}\r\nContent-Type: {kind}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )?;
    stream.flush()
}
