//! Errors at the IPC boundary: `{code, message, field}`. The UI branches on
//! `code` and shows `message` next to the input named by `field`.

use keybearer_vault::ErrorCode;
use serde::Serialize;

#[derive(Debug, Serialize, ts_rs::TS)]
#[ts(export)]
pub struct IpcError {
    pub code: ErrorCode,
    pub message: String,
    /// The form field that caused an `invalid_input` error, if any.
    pub field: Option<String>,
}

impl From<keybearer_vault::Error> for IpcError {
    fn from(error: keybearer_vault::Error) -> Self {
        let field = match &error {
            keybearer_vault::Error::InvalidInput { field, .. } => Some((*field).to_string()),
            keybearer_vault::Error::OAuth(keybearer_vault::oauth::OAuthError::InvalidInput {
                field,
                ..
            }) => Some((*field).to_string()),
            keybearer_vault::Error::DuplicateUrl { .. } => Some("mcp_server_url".to_string()),
            keybearer_vault::Error::DuplicateVault { .. } => Some("display_name".to_string()),
            keybearer_vault::Error::Backup(backup) => backup.field().map(str::to_string),
            _ => None,
        };
        tracing::info!(code = %error.code(), "command failed");
        Self {
            code: error.code(),
            message: error.to_string(),
            field,
        }
    }
}

impl IpcError {
    pub fn internal(what: &str) -> Self {
        tracing::error!(what, "internal error");
        Self {
            code: ErrorCode::Internal,
            message: format!("Keybearer hit an unexpected problem ({what}). Please restart the app; your data is safe."),
            field: None,
        }
    }
}

pub type IpcResult<T> = Result<T, IpcError>;
