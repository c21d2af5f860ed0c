//! Settlement shares: how a settled bounty is split between the offerer, the relayers and the
//! lineup proof's finder.
//!
//! With `h` relayers (`h > 0`), the finder receives `⌊bounty · finder_share_ppm / 10^6⌋`; the
//! rest is split equally among the `1 + h` executors (the offerer and each relayer), each
//! receiving `⌊rest / (1 + h)⌋`; the remainder of that division (fewer than `1 + h` base units)
//! goes to the offerer. With no relayer there is no lineup and no finder: the offerer receives
//! the whole bounty. The parts always sum exactly to the bounty; nothing is created or burnt.
//!
//! `bitverse_pricing::tier_price` grosses a tier's price up by the same finder share, so a
//! bounty of at least the quoted price pays every executor at least one execution's price.

use bitverse_pricing::{HOPS_MAX, PPM_ONE};
use bitverse_primitives::{AccountId, Amount, AmountError};

use crate::LineupError;

/// A bounty's split.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SettlementShares {
    /// The offerer's part, including the division's remainder.
    pub offerer: Amount,
    /// Each relayer's part.
    pub each_relayer: Amount,
    /// How many relayers share.
    pub relayers: u8,
    /// The finder's part (zero without relayers).
    pub finder: Amount,
}

impl SettlementShares {
    /// The sum of all parts (equal to the bounty split).
    pub fn total(&self) -> Result<Amount, AmountError> {
        self.each_relayer
            .checked_mul(u128::from(self.relayers))?
            .checked_add(self.offerer)?
            .checked_add(self.finder)
    }

    /// Who is paid what, in the order offerer, relayers in lineup order, finder (the finder
    /// only when there are relayers). An account in two roles appears twice: credit each row.
    pub fn payouts(
        &self,
        offerer: AccountId,
        lineup: &[AccountId],
        finder: AccountId,
    ) -> Result<Vec<(AccountId, Amount)>, LineupError> {
        if lineup.len() != usize::from(self.relayers) {
            return Err(LineupError::PayoutLineupMismatch {
                expected: usize::from(self.relayers),
                found: lineup.len(),
            });
        }
        let mut rows = Vec::with_capacity(lineup.len().saturating_add(2));
        rows.push((offerer, self.offerer));
        rows.extend(lineup.iter().map(|relayer| (*relayer, self.each_relayer)));
        if self.relayers > 0 {
            rows.push((finder, self.finder));
        }
        Ok(rows)
    }
}

/// `⌊value · ppm / 10^6⌋` without an intermediate overflow: with `value = q · 10^6 + r`, it is
/// `q · ppm + ⌊r · ppm / 10^6⌋`, and both terms fit for `ppm < 10^6`.
fn ppm_of(value: u128, ppm: u32) -> u128 {
    let one = u128::from(PPM_ONE);
    let ppm = u128::from(ppm.min(PPM_ONE));
    let quotient = value.checked_div(one).unwrap_or(0);
    let remainder = value.checked_rem(one).unwrap_or(0);
    quotient
        .saturating_mul(ppm)
        .saturating_add(remainder.saturating_mul(ppm).checked_div(one).unwrap_or(0))
}

/// Splits `bounty` among the offerer, `relayers` relayers and the finder (see the module docs).
pub fn settlement_shares(
    bounty: Amount,
    relayers: usize,
    finder_share_ppm: u32,
) -> Result<SettlementShares, LineupError> {
    if finder_share_ppm >= PPM_ONE {
        return Err(LineupError::InvalidFinderShare(finder_share_ppm));
    }
    let relayers_u8 = u8::try_from(relayers)
        .ok()
        .filter(|count| *count <= HOPS_MAX)
        .ok_or(LineupError::LineupTooLong {
            requested: relayers,
            max: usize::from(HOPS_MAX),
        })?;
    if relayers_u8 == 0 {
        return Ok(SettlementShares {
            offerer: bounty,
            each_relayer: Amount::ZERO,
            relayers: 0,
            finder: Amount::ZERO,
        });
    }
    let finder = ppm_of(bounty.0, finder_share_ppm);
    let rest = bounty.0.saturating_sub(finder);
    let executors = u128::from(relayers_u8).saturating_add(1);
    let each = rest.checked_div(executors).unwrap_or(0);
    let relayers_total = each.saturating_mul(u128::from(relayers_u8));
    // each · (1 + h) ≤ rest, so the offerer's part is each plus the remainder, never negative.
    let offerer = rest.saturating_sub(relayers_total);
    Ok(SettlementShares {
        offerer: Amount(offerer),
        each_relayer: Amount(each),
        relayers: relayers_u8,
        finder: Amount(finder),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use bitverse_pricing::{QuoteParams, tier_price};
    use proptest::prelude::*;

    #[test]
    fn a_bounty_without_relayers_goes_whole_to_the_offerer() {
        let shares = settlement_shares(Amount(1_001), 0, 50_000).unwrap();
        assert_eq!(shares.offerer, Amount(1_001));
        assert_eq!(shares.finder, Amount::ZERO);
        let rows = shares
            .payouts(AccountId([1; 32]), &[], AccountId([9; 32]))
            .unwrap();
        assert_eq!(rows, vec![(AccountId([1; 32]), Amount(1_001))]);
    }

    #[test]
    fn the_finder_takes_its_share_and_the_offerer_the_remainder() {
        // 10 007 · 5 % = 500.35 → 500; 9 507 among 3 → 3 169 each, remainder 0.
        let shares = settlement_shares(Amount(10_007), 2, 50_000).unwrap();
        assert_eq!(shares.finder, Amount(500));
        assert_eq!(shares.each_relayer, Amount(3_169));
        assert_eq!(shares.offerer, Amount(3_169));
        // 10 009: finder 500, 9 509 among 3 → 3 169 each and 2 more to the offerer.
        let shares = settlement_shares(Amount(10_009), 2, 50_000).unwrap();
        assert_eq!(shares.offerer, Amount(3_171));
        assert_eq!(shares.total(), Ok(Amount(10_009)));
    }

    #[test]
    fn payouts_list_every_role_in_order() {
        let shares = settlement_shares(Amount(100), 2, 100_000).unwrap();
        let lineup = [AccountId([2; 32]), AccountId([3; 32])];
        let rows = shares
            .payouts(AccountId([1; 32]), &lineup, AccountId([9; 32]))
            .unwrap();
        assert_eq!(
            rows,
            vec![
                (AccountId([1; 32]), Amount(30)),
                (AccountId([2; 32]), Amount(30)),
                (AccountId([3; 32]), Amount(30)),
                (AccountId([9; 32]), Amount(10)),
            ]
        );
        assert_eq!(
            shares.payouts(AccountId([1; 32]), &lineup[..1], AccountId([9; 32])),
            Err(LineupError::PayoutLineupMismatch {
                expected: 2,
                found: 1
            })
        );
    }

    #[test]
    fn invalid_finder_shares_and_long_lineups_are_refused() {
        assert_eq!(
            settlement_shares(Amount(1), 1, PPM_ONE),
            Err(LineupError::InvalidFinderShare(PPM_ONE))
        );
        assert!(matches!(
            settlement_shares(Amount(1), usize::from(HOPS_MAX) + 1, 0),
            Err(LineupError::LineupTooLong { .. })
        ));
        assert!(matches!(
            settlement_shares(Amount(1), 300, 0),
            Err(LineupError::LineupTooLong { .. })
        ));
    }

    proptest! {
        #[test]
        fn shares_always_sum_exactly_to_the_bounty(
            bounty in any::<u128>(), relayers in 0usize..=usize::from(HOPS_MAX), ppm in 0u32..PPM_ONE,
        ) {
            let shares = settlement_shares(Amount(bounty), relayers, ppm).unwrap();
            prop_assert_eq!(shares.total(), Ok(Amount(bounty)));
            prop_assert!(shares.offerer >= shares.each_relayer);
            if relayers > 0 {
                // The offerer's extra is the division's remainder: less than one unit each.
                let executors = u128::try_from(relayers).unwrap() + 1;
                prop_assert!(shares.offerer.0 - shares.each_relayer.0 < executors);
            } else {
                prop_assert_eq!(shares.offerer, Amount(bounty));
            }
            let rows = shares.payouts(AccountId([1; 32]), &vec![AccountId([2; 32]); relayers], AccountId([3; 32])).unwrap();
            let sum = rows.iter().try_fold(Amount::ZERO, |sum, (_, part)| sum.checked_add(*part));
            prop_assert_eq!(sum, Ok(Amount(bounty)));
        }

        #[test]
        fn a_bounty_at_the_quoted_price_pays_every_executor_one_execution(
            fuel in 0u64..1 << 40, hops in 0u8..=HOPS_MAX, base in 0u128..1 << 60, per_fuel in 0u128..1 << 30, ppm in 0u32..PPM_ONE,
        ) {
            let params = QuoteParams {
                hops_max: HOPS_MAX,
                execution_base_price: Amount(base),
                price_per_mega_fuel: Amount(per_fuel),
                finder_share_ppm: ppm,
                ..QuoteParams::DEFAULT
            };
            let execution = tier_price(&params, fuel, 0).unwrap();
            let price = tier_price(&params, fuel, hops).unwrap();
            let shares = settlement_shares(price, usize::from(hops), ppm).unwrap();
            prop_assert!(shares.offerer >= execution);
            if hops > 0 {
                prop_assert!(shares.each_relayer >= execution);
            }
        }
    }
}
