# Keybearer team vaults: a member who may USE the credentials of one
# environment's team vaults but not change them (docs/architecture.md,
# "Team vaults"). Keybearer shows such a member the vaults as read-only
# and refuses a change before sending it.
#
# As written: the KV version 2 mount `secret`, Keybearer's default path
# template `keybearer/{environment}/`, the environment `development`.
# Make one policy per environment (production's members get their own),
# and give members the built-in `default` policy too: it lets a token look
# itself up, renew and revoke itself, and ask what it may do
# (sys/capabilities-self), which Keybearer needs.
#
#   bao policy write keybearer-development-read member-read.hcl

# Read each credential (one secret per MCP server in a vault's folder).
path "secret/data/keybearer/development/*" {
  capabilities = ["read"]
}

# Its version (checked every 30 seconds, so a rotation reaches running
# agents) and the folder's list (to tell an empty vault from a missing one).
path "secret/metadata/keybearer/development/*" {
  capabilities = ["read", "list"]
}
