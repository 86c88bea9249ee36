// Types the engine exposes over IPC, generated from Rust by ts-rs into
// ./bindings (read-only; `make test` fails when they drift from the Rust types).
export type { Credential } from "./bindings/Credential";
export type { CredentialType } from "./bindings/CredentialType";
export type { Environment } from "./bindings/Environment";
export type { Event } from "./bindings/Event";
export type { EventKind } from "./bindings/EventKind";
export type { ErrorCode } from "./bindings/ErrorCode";
export type { KeyProtection } from "./bindings/KeyProtection";
export type { KeychainStatus } from "./bindings/KeychainStatus";
export type { Protocol } from "./bindings/Protocol";
export type { Status } from "./bindings/Status";
export type { Timestamp } from "./bindings/Timestamp";
export type { Vault } from "./bindings/Vault";
export type { VaultTeam } from "./bindings/VaultTeam";
export type { TeamServerRecord } from "./bindings/TeamServerRecord";
export type { TeamServerView } from "./bindings/TeamServerView";
export type { TeamSignIn } from "./bindings/TeamSignIn";
export type { TeamAccess } from "./bindings/TeamAccess";
export type { TeamChange } from "./bindings/TeamChange";
export type { TeamUnreachable } from "./bindings/TeamUnreachable";
export type { VaultView } from "./bindings/VaultView";
export type { TeamMovePlan } from "./bindings/TeamMovePlan";
export type { LocalMovePlan } from "./bindings/LocalMovePlan";
export type { MovedHere } from "./bindings/MovedHere";
export type { TeamCopy } from "./bindings/TeamCopy";
export type { SignedIn } from "./bindings/SignedIn";

export type { HeaderInput } from "./bindings/HeaderInput";
export type { SecretInput } from "./bindings/SecretInput";

export type { ConnectionOutcome } from "./bindings/ConnectionOutcome";
export type { ConnectionTest } from "./bindings/ConnectionTest";
export type { IpcError } from "./bindings/IpcError";
export type { RecoveryKeyReveal } from "./bindings/RecoveryKeyReveal";
export type { Resolution } from "./bindings/Resolution";
export type { ServerActivity } from "./bindings/ServerActivity";
export type { UrlCheck } from "./bindings/UrlCheck";

export type { AgentKind } from "./bindings/AgentKind";
export type { PresetAvailability } from "./bindings/PresetAvailability";
export type { Session } from "./bindings/Session";
export type { SessionEnded } from "./bindings/SessionEnded";
export type { SessionOutput } from "./bindings/SessionOutput";
export type { SessionState } from "./bindings/SessionState";
export type { StartSession } from "./bindings/StartSession";

export type { ApprovalClosed } from "./bindings/ApprovalClosed";
export type { ApprovalRequest } from "./bindings/ApprovalRequest";
export type { PendingApproval } from "./bindings/PendingApproval";

export type { BackupContents } from "./bindings/BackupContents";
export type { BackupMade } from "./bindings/BackupMade";
export type { BackupVault } from "./bindings/BackupVault";
export type { RestoreDone } from "./bindings/RestoreDone";
export type { RestoreReport } from "./bindings/RestoreReport";
export type { SealKind } from "./bindings/SealKind";
export type { SkippedConnection } from "./bindings/SkippedConnection";
export type { SkippedVault } from "./bindings/SkippedVault";

export type { AppChange } from "./bindings/AppChange";
export type { AppConnection } from "./bindings/AppConnection";
export type { AppStatus } from "./bindings/AppStatus";
export type { AppSync } from "./bindings/AppSync";
export type { ChangedEntry } from "./bindings/ChangedEntry";
export type { CopiesCleanup } from "./bindings/CopiesCleanup";
export type { CopyKind } from "./bindings/CopyKind";
export type { ImportOutcome } from "./bindings/ImportOutcome";
export type { ImportedEntry } from "./bindings/ImportedEntry";
export type { PastedSecret } from "./bindings/PastedSecret";
export type { TokenCopy } from "./bindings/TokenCopy";

export type { CatalogEntry } from "./bindings/CatalogEntry";
export type { CatalogHeader } from "./bindings/CatalogHeader";
export type { CatalogRemote } from "./bindings/CatalogRemote";
export type { CatalogSignIn } from "./bindings/CatalogSignIn";
export type { CatalogSignInKind } from "./bindings/CatalogSignInKind";
export type { CatalogTransport } from "./bindings/CatalogTransport";
export type { AskedServer } from "./bindings/AskedServer";
export type { SignInWay } from "./bindings/SignInWay";
export type { ServerPage } from "./bindings/ServerPage";
