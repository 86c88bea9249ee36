//! Server-sent events as the bridge and Test connection read them from a
//! response body: fed chunks as they arrive, it hands back each complete event (its `event`
//! name, joined `data` lines and `id`) at the blank line that ends it, per
//! the HTML Living Standard's parsing rules (`\n`, `\r\n` or `\r` line ends,
//! one optional space after the colon, comment lines ignored, one byte
//! order mark skipped at the stream's start however the chunks cut it).
//!
//! Limits: an event whose data grows past [`MAX_EVENT`] is an error (the
//! stream is then dropped), so a server cannot make the bridge hold
//! unbounded memory; `retry` is ignored.

/// The largest event the bridge holds: one JSON-RPC message of this size.
pub const MAX_EVENT: usize = 64 * 1024 * 1024;

#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Event {
    /// `None` means the default type, `message`.
    pub name: Option<String>,
    pub data: Vec<u8>,
    pub id: Option<String>,
}

#[derive(Debug)]
pub struct TooLarge;

#[derive(Default)]
pub struct EventReader {
    /// Bytes of the line being read.
    line: Vec<u8>,
    /// The last byte seen was `\r`: a `\n` right after it ends nothing new.
    after_cr: bool,
    /// The start of the stream was checked for a byte order mark.
    started: bool,
    /// The stream's first bytes, while they could still be the beginning of
    /// a byte order mark (a chunk may end inside it).
    start: Vec<u8>,
    current: Event,
    has_data: bool,
}

impl EventReader {
    /// Feeds `chunk`; returns the events it completed, in order.
    pub fn push(&mut self, chunk: &[u8]) -> Result<Vec<Event>, TooLarge> {
        if self.started {
            return self.feed(chunk);
        }
        // One byte order mark at the stream's start is skipped, however
        // the chunks cut it.
        const BOM: &[u8] = b"\xEF\xBB\xBF";
        self.start.extend_from_slice(chunk);
        if self.start.len() < BOM.len() && BOM.starts_with(&self.start) {
            return Ok(Vec::new());
        }
        self.started = true;
        let start = std::mem::take(&mut self.start);
        self.feed(start.strip_prefix(BOM).unwrap_or(&start))
    }

    fn feed(&mut self, chunk: &[u8]) -> Result<Vec<Event>, TooLarge> {
        let mut done = Vec::new();
        for &byte in chunk {
            match byte {
                b'\n' if self.after_cr => self.after_cr = false,
                b'\n' | b'\r' => {
                    self.after_cr = byte == b'\r';
                    let line = std::mem::take(&mut self.line);
                    if let Some(event) = self.end_line(&line)? {
                        done.push(event);
                    }
                }
                _ => {
                    self.after_cr = false;
                    if self.line.len() + self.current.data.len() >= MAX_EVENT {
                        return Err(TooLarge);
                    }
                    self.line.push(byte);
                }
            }
        }
        Ok(done)
    }

    fn end_line(&mut self, line: &[u8]) -> Result<Option<Event>, TooLarge> {
        if line.is_empty() {
            let event = std::mem::take(&mut self.current);
            let had_data = std::mem::replace(&mut self.has_data, false);
            return Ok((had_data || event.id.is_some() || event.name.is_some()).then_some(event));
        }
        if line[0] == b':' {
            return Ok(None);
        }
        let (field, value) = match line.iter().position(|b| *b == b':') {
            Some(colon) => {
                let value = &line[colon + 1..];
                (&line[..colon], value.strip_prefix(b" ").unwrap_or(value))
            }
            None => (line, &b""[..]),
        };
        match field {
            b"data" => {
                if self.has_data {
                    self.current.data.push(b'\n');
                }
                if self.current.data.len() + value.len() > MAX_EVENT {
                    return Err(TooLarge);
                }
                self.current.data.extend_from_slice(value);
                self.has_data = true;
            }
            b"event" => self.current.name = Some(String::from_utf8_lossy(value).into_owned()),
            // An id holding NUL is ignored, as the standard says.
            b"id" if !value.contains(&0) => {
                self.current.id = Some(String::from_utf8_lossy(value).into_owned());
            }
            _ => {}
        }
        Ok(None)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn all(chunks: &[&[u8]]) -> Vec<Event> {
        let mut reader = EventReader::default();
        chunks
            .iter()
            .flat_map(|chunk| reader.push(chunk).unwrap())
            .collect()
    }

    #[test]
    fn events_split_anywhere_come_out_whole() {
        let stream = b"event: endpoint\r\ndata: /messages?session_id=1\r\n\r\nid: 7\ndata: {\"a\":\ndata: 1}\n\n";
        let whole = all(&[stream]);
        for cut in 0..stream.len() {
            assert_eq!(
                all(&[&stream[..cut], &stream[cut..]]),
                whole,
                "cut at {cut}"
            );
        }
        assert_eq!(whole.len(), 2);
        assert_eq!(whole[0].name.as_deref(), Some("endpoint"));
        assert_eq!(whole[0].data, b"/messages?session_id=1");
        assert_eq!(whole[1].id.as_deref(), Some("7"));
        assert_eq!(whole[1].data, b"{\"a\":\n1}");
    }

    #[test]
    fn comments_bom_and_bare_cr() {
        let events = all(&[b"\xEF\xBB\xBF: keep-alive\r\rdata:x\r\r"]);
        assert_eq!(events.len(), 1);
        assert_eq!(events[0].data, b"x");
        // A mark cut by the chunks is skipped all the same; only one is.
        let stream = b"\xEF\xBB\xBF\xEF\xBB\xBFevent: endpoint\ndata: /m\n\n";
        let whole = all(&[stream]);
        assert_eq!(
            whole[0].name, None,
            "the second mark is part of the field's name"
        );
        for cut in 1..stream.len() {
            assert_eq!(
                all(&[&stream[..1], &stream[1..cut], &stream[cut..]]),
                whole,
                "cut at {cut}"
            );
        }
    }

    #[test]
    fn a_priming_event_has_an_id_and_no_data() {
        let events = all(&[b"id: abc\ndata:\n\n"]);
        assert_eq!(events[0].id.as_deref(), Some("abc"));
        assert!(events[0].data.is_empty());
    }

    #[test]
    fn an_endless_line_is_refused() {
        let mut reader = EventReader::default();
        let chunk = vec![b'a'; 1024 * 1024];
        let mut failed = false;
        for _ in 0..(MAX_EVENT / chunk.len() + 2) {
            if reader.push(&chunk).is_err() {
                failed = true;
                break;
            }
        }
        assert!(failed);
    }
}
