# Keybearer team vaults: a member who may use AND change the credentials
# of one environment's team vaults (docs/architecture.md, "Team vaults").
# Changes are written with check-and-set (a change made from an old
# version is refused) and name who made them in the secret's
# custom_metadata (keybearer_changed_by), so the metadata path needs
# create and update too.
#
# As written: the KV version 2 mount `secret`, Keybearer's default path
# template `keybearer/{environment}/`, the environment `development`.
# Make one policy per environment, and give members the built-in `default`
# policy too (token lookup, renewal, revocation, capabilities-self).
#
#   bao policy write keybearer-development-write member-write.hcl

# Add, rotate, read and delete credentials.
path "secret/data/keybearer/development/*" {
  capabilities = ["create", "read", "update", "delete"]
}

# Versions, the folder's list, and who changed a credential.
path "secret/metadata/keybearer/development/*" {
  capabilities = ["create", "read", "update", "list"]
}
