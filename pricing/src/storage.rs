//! The storage endowment model (`docs/STORAGE.md`): what a blob's shards cost per payment
//! period, falling by a fixed share every year of root blocks, so that one prepayment keeps a
//! blob stored for as long as the model says.
//!
//! Each shard of `shard_size_bytes` costs, in its first year, `price_per_gib_year` per GiB;
//! a period of `period_blocks` root blocks costs that pro rata of a year of `year_blocks`
//! blocks, rounded up to a whole base unit ([`shard_base_charge`]). In year `y` after the
//! blob's placement (year 0 first), the period's charge is the base times
//! `yearly_retention_ppm ^ y`, floored, and never below one base unit
//! ([`shard_period_charge`]): at 90 % a year, storing for a century costs about ten times the
//! first year, since `1 + 0.9 + 0.81 + … = 10`; after that the floor of one base unit a shard
//! a period is what a year costs (storers are never asked to hold a shard for nothing).

use bincode::Encode;
use bitverse_primitives::Amount;

use crate::PricingError;
use crate::fixed::{FIXED_ONE, PPM_ONE, retention_fixed};

/// One GiB.
pub const GIB_BYTES: u128 = 1 << 30;

/// The most years [`prepaid_for_years`] sums: a bound on its loop (the charge is at its floor
/// of one base unit a period long before).
pub const MODEL_YEARS_MAX: u64 = 1_000;

/// What storing costs, and how fast it gets cheaper; part of the network's parameters
/// (encoded into the genesis hash).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Encode)]
pub struct StorageParams {
    /// Root blocks per payment period: a storer holding a confirmed shard is paid once a
    /// period (at least 1).
    pub period_blocks: u64,
    /// Root blocks per year: the clock of the falling rate (at least 1).
    pub year_blocks: u64,
    /// What a GiB of shard bytes costs for the first year after placement.
    pub price_per_gib_year: Amount,
    /// The share of the rate kept each year, in parts per million (at most [`PPM_ONE`]):
    /// 900 000 makes storage 10 % cheaper every year.
    pub yearly_retention_ppm: u32,
    /// Paid per shard at registration into the root's endowment pool, for the chain's work:
    /// the draw, the receipt, the deadline and a record in state.
    pub placement_price_per_shard: Amount,
    /// Root blocks after its placement within which a storer must confirm a shard, or it is
    /// drawn again (at least 1).
    pub confirm_deadline_blocks: u64,
    /// Root blocks a storer has to answer an audit of one of its shards: an audit issued at
    /// the start of root block `h` fails at the start of block `h + audit_deadline_blocks`
    /// (at least 1). Also the least gap between two audits of one shard.
    pub audit_deadline_blocks: u64,
    /// The share of its storer stake a storer loses (burnt) for each audit it fails to
    /// answer, in parts per million (at most [`PPM_ONE`]).
    pub audit_slash_ppm: u32,
}

impl StorageParams {
    /// Checks the ranges documented on each field.
    pub fn validate(&self) -> Result<(), PricingError> {
        if self.period_blocks == 0
            || self.year_blocks == 0
            || self.confirm_deadline_blocks == 0
            || self.audit_deadline_blocks == 0
        {
            return Err(PricingError::InvalidParams(
                "period_blocks, year_blocks, confirm_deadline_blocks and audit_deadline_blocks must be at least 1",
            ));
        }
        if self.yearly_retention_ppm > PPM_ONE || self.audit_slash_ppm > PPM_ONE {
            return Err(PricingError::InvalidParams(
                "yearly_retention_ppm and audit_slash_ppm must be at most 1 000 000",
            ));
        }
        Ok(())
    }
}

/// The first year's charge of one period for one shard of `shard_size_bytes`: the year's price
/// pro rata of the bytes and the period, rounded up to a whole base unit. `None` on overflow
/// or invalid parameters.
pub fn shard_base_charge(shard_size_bytes: u64, params: &StorageParams) -> Option<Amount> {
    params.validate().ok()?;
    let numerator = u128::from(shard_size_bytes)
        .checked_mul(params.price_per_gib_year.0)?
        .checked_mul(u128::from(params.period_blocks))?;
    let denominator = GIB_BYTES.checked_mul(u128::from(params.year_blocks))?;
    Some(Amount(numerator.div_ceil(denominator)))
}

/// What a shard of `shard_size_bytes` costs for payment period `period_index` (0 is the first
/// after placement): [`shard_base_charge`] times the yearly retention raised to the years
/// elapsed, floored, at least one base unit. `None` on overflow or invalid parameters.
pub fn shard_period_charge(
    shard_size_bytes: u64,
    period_index: u64,
    params: &StorageParams,
) -> Option<Amount> {
    let base = shard_base_charge(shard_size_bytes, params)?;
    let years = period_index
        .checked_mul(params.period_blocks)?
        .checked_div(params.year_blocks)?;
    Some(Amount(
        decayed(base.0, params.yearly_retention_ppm, years).max(1),
    ))
}

/// `value × retention_ppm ^ years`, floored.
fn decayed(value: u128, retention_ppm: u32, years: u64) -> u128 {
    let retention = retention_fixed(retention_ppm, years);
    // value × retention may not fit: split value into whole FIXED_ONE multiples and the rest.
    let high = value.checked_div(FIXED_ONE).unwrap_or(0);
    let low = value.checked_rem(FIXED_ONE).unwrap_or(0);
    high.saturating_mul(retention).saturating_add(
        low.saturating_mul(retention)
            .checked_div(FIXED_ONE)
            .unwrap_or(0),
    )
}

/// The endowment that pays `total_shards` shards of `shard_size_bytes` for `years` years of
/// periods (a period belongs to the year it starts in), at most [`MODEL_YEARS_MAX`]. `None`
/// on overflow, invalid parameters or too many years.
pub fn prepaid_for_years(
    shard_size_bytes: u64,
    total_shards: u8,
    years: u64,
    params: &StorageParams,
) -> Option<Amount> {
    if years > MODEL_YEARS_MAX {
        return None;
    }
    let base = shard_base_charge(shard_size_bytes, params)?;
    let mut total: u128 = 0;
    for year in 0..years {
        // Periods j with floor(j · P / Y) == year: j from ceil(year · Y / P) up to
        // ceil((year + 1) · Y / P), exclusive.
        let first = u128::from(year)
            .checked_mul(u128::from(params.year_blocks))?
            .div_ceil(u128::from(params.period_blocks));
        let end = u128::from(year.checked_add(1)?)
            .checked_mul(u128::from(params.year_blocks))?
            .div_ceil(u128::from(params.period_blocks));
        let periods = end.checked_sub(first)?;
        let share = decayed(base.0, params.yearly_retention_ppm, year).max(1);
        total = total.checked_add(
            share
                .checked_mul(periods)?
                .checked_mul(u128::from(total_shards))?,
        )?;
    }
    Some(Amount(total))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One-second root blocks, periods of 100 blocks, 1 BV (10^9) a GiB-year, 10 % cheaper
    /// every year.
    const PARAMS: StorageParams = StorageParams {
        period_blocks: 100,
        year_blocks: 31_536_000,
        price_per_gib_year: Amount(1_000_000_000),
        yearly_retention_ppm: 900_000,
        placement_price_per_shard: Amount(1_000),
        confirm_deadline_blocks: 200,
        audit_deadline_blocks: 100,
        audit_slash_ppm: 10_000,
    };

    #[test]
    fn a_period_costs_its_share_of_a_year_rounded_up_and_falls_ten_percent_a_year() {
        // A whole GiB: 10^9 × 100 / 31 536 000 = 3 170.97…, rounded up.
        let gib = GIB_BYTES as u64;
        assert_eq!(shard_base_charge(gib, &PARAMS), Some(Amount(3_171)));
        assert_eq!(shard_period_charge(gib, 0, &PARAMS), Some(Amount(3_171)));
        let periods_a_year = 31_536_000 / 100;
        assert_eq!(
            shard_period_charge(gib, periods_a_year, &PARAMS),
            Some(Amount(2_853))
        );
        assert_eq!(
            shard_period_charge(gib, 2 * periods_a_year, &PARAMS),
            Some(Amount(2_568))
        );
        // A tiny shard still pays one base unit a period, for ever.
        assert_eq!(shard_period_charge(1, 0, &PARAMS), Some(Amount(1)));
        assert_eq!(
            shard_period_charge(1, u64::MAX / 200, &PARAMS),
            Some(Amount(1))
        );
        // Invalid parameters or overflow: no charge.
        let zero = StorageParams {
            period_blocks: 0,
            ..PARAMS
        };
        assert_eq!(shard_period_charge(gib, 0, &zero), None);
        let huge = StorageParams {
            price_per_gib_year: Amount(u128::MAX),
            ..PARAMS
        };
        assert_eq!(shard_base_charge(gib, &huge), None);
    }

    #[test]
    fn one_gib_at_three_of_ten_costs_about_ten_first_years_for_ever() {
        // 3-of-10 of 1 GiB: ten shards of a third of a GiB each.
        let shard = (GIB_BYTES as u64).div_ceil(3);
        let first_year = prepaid_for_years(shard, 10, 1, &PARAMS).unwrap().0;
        let century = prepaid_for_years(shard, 10, 100, &PARAMS).unwrap().0;
        let millennium = prepaid_for_years(shard, 10, MODEL_YEARS_MAX, &PARAMS)
            .unwrap()
            .0;
        // 10/3 GiB-years at 1 BV, rounded up per period: 3.33 BV in the first year.
        assert!(
            (3_333_000_000..3_340_000_000).contains(&first_year),
            "{first_year}"
        );
        // 1 + 0.9 + … ≈ 10 first years; the floor of one unit a period adds little.
        assert!(century < 10 * first_year, "{century}");
        assert!(century > 9 * first_year, "{century}");
        // From about year 66 the charge is at its floor of one base unit a shard a period:
        // ten shards, 315,360 periods a year, for the 900 years after the century.
        let floor_per_year = 10 * u128::from(31_536_000u64 / 100);
        assert_eq!(millennium - century, 900 * floor_per_year);
        assert_eq!(
            prepaid_for_years(shard, 10, MODEL_YEARS_MAX + 1, &PARAMS),
            None
        );
    }

    #[test]
    fn invalid_parameters_are_named() {
        let retention = StorageParams {
            yearly_retention_ppm: PPM_ONE + 1,
            ..PARAMS
        };
        assert!(retention.validate().is_err());
        let deadline = StorageParams {
            confirm_deadline_blocks: 0,
            ..PARAMS
        };
        assert!(deadline.validate().is_err());
        let audit = StorageParams {
            audit_deadline_blocks: 0,
            ..PARAMS
        };
        assert!(audit.validate().is_err());
        let slash = StorageParams {
            audit_slash_ppm: PPM_ONE + 1,
            ..PARAMS
        };
        assert!(slash.validate().is_err());
        assert!(PARAMS.validate().is_ok());
    }
}
