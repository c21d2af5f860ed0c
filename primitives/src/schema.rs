//! JSON schemas of the primitives the RPC shows (feature `schemars`): each is a string in JSON,
//! with the pattern its `FromStr` accepts, so the OpenRPC document says what a caller may send.

use std::borrow::Cow;

use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};

use crate::{AccountId, Amount, ChainId, Hash};

impl JsonSchema for Hash {
    fn schema_name() -> Cow<'static, str> {
        "Hash".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "type": "string",
            "description": "64 hex digits (BLAKE3-256), with or without 0x",
            "pattern": "^(0x)?[0-9a-fA-F]{64}$"
        })
    }
}

impl JsonSchema for AccountId {
    fn schema_name() -> Cow<'static, str> {
        "Address".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "type": "string",
            "description": "A bech32m account address",
            "pattern": "^bv1[02-9ac-hj-np-z]+$"
        })
    }
}

impl JsonSchema for Amount {
    fn schema_name() -> Cow<'static, str> {
        "Amount".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "type": "string",
            "description": "Base units as a decimal string (a u128)",
            "pattern": "^[0-9]+$"
        })
    }
}

impl JsonSchema for ChainId {
    fn schema_name() -> Cow<'static, str> {
        "ChainName".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "type": "string",
            "description": "`root` or a data chain's bit string",
            "pattern": "^(root|[01]+)$"
        })
    }
}
