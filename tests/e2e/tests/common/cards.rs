//! The Apps screen's cards: finding an element inside one app's card,
//! clicking it, waiting for its text.

use std::time::Duration;

use fantoccini::Locator;
use keybearer_e2e::{Element, Window};

pub const WAIT: Duration = Duration::from_secs(15);

pub fn app_selector(app: &str, testid: &str) -> String {
    format!("[data-testid=\"app-card\"][data-app=\"{app}\"] [data-testid=\"{testid}\"]")
}

pub async fn find(window: &Window, selector: &str) -> Element {
    window
        .client
        .wait()
        .at_most(WAIT)
        .for_element(Locator::Css(selector))
        .await
        .unwrap_or_else(|e| panic!("no element {selector}: {e}"))
}

/// Clicks `testid` inside the card of `app`, scrolled to the middle first.
pub async fn click_in_card(window: &Window, app: &str, testid: &str) {
    let element = find(window, &app_selector(app, testid)).await;
    let handle = serde_json::to_value(&element).expect("element handle");
    window
        .client
        .execute(
            "arguments[0].scrollIntoView({block: 'center'})",
            vec![handle],
        )
        .await
        .expect("scroll");
    element.click().await.expect("click");
}

/// Waits until the text of `testid` in the card of `app` satisfies `check`.
pub async fn wait_card_text(
    window: &Window,
    app: &str,
    testid: &str,
    check: impl Fn(&str) -> bool,
) -> String {
    let deadline = std::time::Instant::now() + WAIT;
    loop {
        let text = find(window, &app_selector(app, testid))
            .await
            .text()
            .await
            .unwrap_or_default();
        if check(&text) {
            return text;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "{app} {testid} never matched; last: {text:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
