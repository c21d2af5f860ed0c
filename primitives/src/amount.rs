//! Currency amounts: `u128` base units with checked arithmetic only.

use std::fmt;
use std::str::FromStr;

use bincode::{Decode, Encode};

/// An amount of currency in base units. Arithmetic is checked: an overflow or underflow is an
/// error a caller must handle, never a wrap or a panic.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Debug, Encode, Decode)]
pub struct Amount(pub u128);

/// Arithmetic on amounts left the range of `u128`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum AmountError {
    /// The result would exceed `u128::MAX`.
    #[error("amount overflow")]
    Overflow,
    /// The result would be negative.
    #[error("amount underflow")]
    Underflow,
    /// The text is not a non-negative integer that fits in 128 bits.
    #[error("invalid amount: expected a non-negative integer of base units")]
    Parse,
}

impl Amount {
    /// Zero base units.
    pub const ZERO: Amount = Amount(0);

    /// `self + other`, or an error on overflow.
    pub fn checked_add(self, other: Amount) -> Result<Amount, AmountError> {
        self.0
            .checked_add(other.0)
            .map(Amount)
            .ok_or(AmountError::Overflow)
    }

    /// `self - other`, or an error if `other` is larger.
    pub fn checked_sub(self, other: Amount) -> Result<Amount, AmountError> {
        self.0
            .checked_sub(other.0)
            .map(Amount)
            .ok_or(AmountError::Underflow)
    }

    /// `self * factor`, or an error on overflow.
    pub fn checked_mul(self, factor: u128) -> Result<Amount, AmountError> {
        self.0
            .checked_mul(factor)
            .map(Amount)
            .ok_or(AmountError::Overflow)
    }
}

impl fmt::Display for Amount {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl FromStr for Amount {
    type Err = AmountError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.replace('_', "");
        if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
            return Err(AmountError::Parse);
        }
        s.parse::<u128>()
            .map(Amount)
            .map_err(|_| AmountError::Parse)
    }
}

// Amounts travel as decimal strings in JSON: `u128` does not fit a JSON number.
impl serde::Serialize for Amount {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0.to_string())
    }
}

impl<'de> serde::Deserialize<'de> for Amount {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arithmetic_is_checked() {
        assert_eq!(
            Amount(u128::MAX).checked_add(Amount(1)),
            Err(AmountError::Overflow)
        );
        assert_eq!(
            Amount(1).checked_sub(Amount(2)),
            Err(AmountError::Underflow)
        );
        assert_eq!(Amount(u128::MAX).checked_mul(2), Err(AmountError::Overflow));
        assert_eq!(Amount(2).checked_add(Amount(3)), Ok(Amount(5)));
    }

    #[test]
    fn parses_decimal_only() {
        assert_eq!("1_000".parse(), Ok(Amount(1000)));
        assert!("-1".parse::<Amount>().is_err());
        assert!("1.5".parse::<Amount>().is_err());
        assert!("".parse::<Amount>().is_err());
        assert!(
            "340282366920938463463374607431768211456"
                .parse::<Amount>()
                .is_err()
        );
    }
}
