//! Currency amounts: `u128` base units with checked arithmetic only, and their text for people:
//! coins with the unit (`12.5 BV`), one coin being 10^9 base units.

use std::fmt;
use std::str::FromStr;

use bincode::{Decode, Encode};

/// Digits after the decimal point of a coin amount: one coin is 10^9 base units, so the
/// smallest amount is `0.000000001 BV`.
pub const COIN_DECIMALS: u32 = 9;
/// Base units in one coin: 10^[`COIN_DECIMALS`].
pub const BASE_UNITS_PER_COIN: u128 = 1_000_000_000;
/// The coin's unit, written after an amount: `12.5 BV`.
pub const COIN_SYMBOL: &str = "BV";
/// The suffix that marks an amount typed in base units: `1500base` is 1,500 base units.
pub const BASE_UNIT_SUFFIX: &str = "base";
/// Longest amount text [`Amount::from_user_text`] reads: a `u128` has 39 digits; the rest is
/// room for a point, separators and the unit.
pub const AMOUNT_TEXT_BYTES_MAX: usize = 96;

/// An amount of currency in base units. Arithmetic is checked: an overflow or underflow is an
/// error a caller must handle, never a wrap or a panic.
///
/// `Display`, `FromStr` and serde use base units as a plain integer (the wire and log form);
/// [`Amount::coins`] and [`Amount::from_user_text`] are the forms for people.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Debug, Encode, Decode)]
pub struct Amount(pub u128);

/// Arithmetic on amounts left the range of `u128`, or a text is not an amount.
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
    /// The text is not an amount a person may type.
    #[error(
        "invalid amount: write coins as 1.5 or 1.5BV, or base units as 1500base \
         (1 BV = 1000000000 base units)"
    )]
    Text,
    /// The text has more decimals than a coin has.
    #[error("invalid amount: at most 9 decimals (the smallest amount is 0.000000001 BV, or 1base)")]
    TooManyDecimals,
    /// The text names more than `u128::MAX` base units.
    #[error("invalid amount: too large")]
    TooLarge,
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

    /// The amount in coins with the unit, for people: `12.5 BV`, `0.000000001 BV`, `0 BV`.
    /// No rounding: every base unit shows, trailing zeros of the fraction do not.
    /// [`Amount::from_user_text`] reads it back.
    pub fn coins(self) -> Coins {
        Coins(self)
    }

    /// Reads an amount as a person types it:
    /// - coins: digits with an optional fraction of at most [`COIN_DECIMALS`] digits and an
    ///   optional unit, `5`, `1.5`, `1.5BV`, `0.25 bv`;
    /// - base units: an integer followed by [`BASE_UNIT_SUFFIX`], `1500base`, `1_500 base`.
    ///
    /// A bare number is coins. `_` may separate digits. Surrounding whitespace and the case of
    /// the unit do not matter. Nothing is rounded: too many decimals is an error.
    pub fn from_user_text(text: &str) -> Result<Amount, AmountError> {
        if text.len() > AMOUNT_TEXT_BYTES_MAX {
            return Err(AmountError::Text);
        }
        let text = text.trim();
        if let Some(number) = strip_suffix_ignore_case(text, BASE_UNIT_SUFFIX) {
            let digits = digits_of(number.trim_end())?;
            return digits_value(&digits).map(Amount);
        }
        let number = strip_suffix_ignore_case(text, COIN_SYMBOL).map_or(text, str::trim_end);
        let (whole, fraction) = match number.split_once('.') {
            Some((whole, fraction)) => (whole, Some(fraction)),
            None => (number, None),
        };
        let whole = digits_of(whole)?;
        let fraction = match fraction {
            Some(text) => digits_of(text)?,
            None => Vec::new(),
        };
        let decimals = u32::try_from(fraction.len()).map_err(|_| AmountError::TooManyDecimals)?;
        if decimals > COIN_DECIMALS {
            return Err(AmountError::TooManyDecimals);
        }
        // `decimals <= COIN_DECIMALS`, so the subtraction cannot underflow.
        let fraction_scale = 10u128
            .checked_pow(COIN_DECIMALS.saturating_sub(decimals))
            .ok_or(AmountError::TooLarge)?;
        let fraction_units = digits_value(&fraction)?
            .checked_mul(fraction_scale)
            .ok_or(AmountError::TooLarge)?;
        digits_value(&whole)?
            .checked_mul(BASE_UNITS_PER_COIN)
            .and_then(|units| units.checked_add(fraction_units))
            .map(Amount)
            .ok_or(AmountError::TooLarge)
    }
}

/// `text` without `suffix` at its end, compared ignoring ASCII case.
fn strip_suffix_ignore_case<'a>(text: &'a str, suffix: &str) -> Option<&'a str> {
    let split = text.len().checked_sub(suffix.len())?;
    let (head, tail) = (text.get(..split)?, text.get(split..)?);
    tail.eq_ignore_ascii_case(suffix).then_some(head)
}

/// The decimal digits of `text` with `_` separators removed; at least one digit, nothing else.
fn digits_of(text: &str) -> Result<Vec<u8>, AmountError> {
    let mut digits = Vec::with_capacity(text.len());
    for byte in text.bytes() {
        match byte {
            b'0'..=b'9' => digits.push(byte),
            b'_' => {}
            _ => return Err(AmountError::Text),
        }
    }
    if digits.is_empty() {
        return Err(AmountError::Text);
    }
    Ok(digits)
}

/// The value of decimal digits (as returned by [`digits_of`]), or `TooLarge` past `u128`.
fn digits_value(digits: &[u8]) -> Result<u128, AmountError> {
    digits.iter().try_fold(0u128, |value, &digit| {
        value
            .checked_mul(10)
            .and_then(|v| v.checked_add(u128::from(digit.wrapping_sub(b'0'))))
            .ok_or(AmountError::TooLarge)
    })
}

/// An amount shown in coins with the unit; made by [`Amount::coins`].
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Coins(Amount);

impl fmt::Display for Coins {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let units = self.0.0;
        let whole = units.checked_div(BASE_UNITS_PER_COIN).unwrap_or(0);
        let fraction = units.checked_rem(BASE_UNITS_PER_COIN).unwrap_or(0);
        if fraction == 0 {
            return write!(f, "{whole} {COIN_SYMBOL}");
        }
        let digits = format!("{fraction:0width$}", width = COIN_DECIMALS as usize);
        write!(f, "{whole}.{} {COIN_SYMBOL}", digits.trim_end_matches('0'))
    }
}

impl fmt::Display for Amount {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl FromStr for Amount {
    type Err = AmountError;

    /// Base units only, as the wire carries them: a bare integer, `_` separators allowed.
    /// People's text (coins, units) goes through [`Amount::from_user_text`].
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
    use proptest::prelude::*;

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
    fn wire_text_is_base_units_only() {
        assert_eq!("1_000".parse(), Ok(Amount(1000)));
        assert!("-1".parse::<Amount>().is_err());
        assert!("1.5".parse::<Amount>().is_err());
        assert!("1BV".parse::<Amount>().is_err());
        assert!("".parse::<Amount>().is_err());
        assert!(
            "340282366920938463463374607431768211456"
                .parse::<Amount>()
                .is_err()
        );
    }

    #[test]
    fn coins_show_every_base_unit_and_no_trailing_zero() {
        let shown = |units: u128| Amount(units).coins().to_string();
        assert_eq!(shown(0), "0 BV");
        assert_eq!(shown(1), "0.000000001 BV");
        assert_eq!(shown(12_500_000_000), "12.5 BV");
        assert_eq!(shown(1_000_000_000_000), "1000 BV");
        assert_eq!(shown(4096), "0.000004096 BV");
        assert_eq!(
            shown(u128::MAX),
            "340282366920938463463374607431.768211455 BV"
        );
    }

    #[test]
    fn user_text_reads_coins_unless_marked_base() {
        let read = |text: &str| Amount::from_user_text(text);
        assert_eq!(read("5"), Ok(Amount(5_000_000_000)));
        assert_eq!(read("1.5"), Ok(Amount(1_500_000_000)));
        assert_eq!(read("1.5BV"), Ok(Amount(1_500_000_000)));
        assert_eq!(read(" 12.5 bv "), Ok(Amount(12_500_000_000)));
        assert_eq!(read("0.000000001"), Ok(Amount(1)));
        assert_eq!(read("1_000.25"), Ok(Amount(1_000_250_000_000)));
        assert_eq!(read("1500base"), Ok(Amount(1500)));
        assert_eq!(read("1_500 BASE"), Ok(Amount(1500)));
        assert_eq!(read("0base"), Ok(Amount(0)));
    }

    #[test]
    fn user_text_refuses_what_is_not_an_exact_amount() {
        let read = |text: &str| Amount::from_user_text(text);
        assert_eq!(read("0.0000000001"), Err(AmountError::TooManyDecimals));
        for bad in [
            "", "BV", "base", ".5", "1.", "1.5base", "-1", "+1", "1e9", "1,5", "1.2.3", "one",
            "1 B V", "0x10",
        ] {
            assert_eq!(read(bad), Err(AmountError::Text), "{bad:?}");
        }
        assert_eq!(
            read("340282366920938463463374607432"),
            Err(AmountError::TooLarge),
            "u128::MAX is 340282366920938463463374607431.77 coins"
        );
        assert_eq!(
            read("340282366920938463463374607431768211456base"),
            Err(AmountError::TooLarge)
        );
        assert_eq!(
            read(&"1".repeat(AMOUNT_TEXT_BYTES_MAX + 1)),
            Err(AmountError::Text)
        );
    }

    proptest! {
        #[test]
        fn coins_text_reads_back_to_the_same_amount(units in any::<u128>()) {
            let text = Amount(units).coins().to_string();
            prop_assert_eq!(Amount::from_user_text(&text), Ok(Amount(units)));
        }

        #[test]
        fn coins_text_without_unit_reads_back(units in any::<u128>()) {
            let text = Amount(units).coins().to_string();
            let number = text.trim_end_matches(COIN_SYMBOL).trim_end();
            prop_assert_eq!(Amount::from_user_text(number), Ok(Amount(units)));
        }

        #[test]
        fn base_unit_text_reads_back(units in any::<u128>()) {
            let text = format!("{units}{BASE_UNIT_SUFFIX}");
            prop_assert_eq!(Amount::from_user_text(&text), Ok(Amount(units)));
        }

        #[test]
        fn small_coin_amounts_read_exactly(whole in 0u64..1_000_000, fraction in 0u32..1_000_000_000) {
            let text = format!("{whole}.{fraction:09}");
            let expected = u128::from(whole) * BASE_UNITS_PER_COIN + u128::from(fraction);
            prop_assert_eq!(Amount::from_user_text(&text), Ok(Amount(expected)));
        }

        #[test]
        fn any_text_is_read_or_refused_without_panic(text in ".{0,120}") {
            let _ = Amount::from_user_text(&text);
        }
    }
}
