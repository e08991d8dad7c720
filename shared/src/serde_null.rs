//! Reading JSON whose optional fields may be `null` as well as absent.

use serde::{Deserialize, Deserializer};

/// A field that may be `null`: read as the type's default, like an absent one.
pub(crate) fn null_as_default<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de> + Default,
{
    Ok(Option::<T>::deserialize(deserializer)?.unwrap_or_default())
}
