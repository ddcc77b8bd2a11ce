//! 64-bit products and quotients from 32-bit operations only, so that no
//! 64-bit helper routine is linked on 32-bit cores (`__aeabi_uldivmod`,
//! `__aeabi_lmul`, `__udivdi3`, ...): the policy paths that use them run
//! with the slot locked. Each is exact, for every input (a unit test holds
//! them to the plain `u64` expressions). A 32-bit division is still a
//! helper call on a core without a divide instruction (Cortex-M0's
//! `__aeabi_uidiv`); these make at most four of them.
#![forbid(unsafe_code)]

/// `a * b`, exactly, from four 16 x 16-bit products (a 64-bit multiply is
/// `__aeabi_lmul` on Cortex-M0).
pub(crate) fn mul_wide(a: u32, b: u32) -> u64 {
    let (a1, a0) = (a >> 16, a & 0xFFFF);
    let (b1, b0) = (b >> 16, b & 0xFFFF);
    // Each product < 2^32; the middle sum < 2^33, kept as (carry, low).
    let lo = a0 * b0;
    let (mid, carry) = (a1 * b0).overflowing_add(a0 * b1);
    let hi = a1 * b1;
    let (low, c2) = lo.overflowing_add(mid << 16);
    let high = hi
        .wrapping_add(mid >> 16)
        .wrapping_add(u32::from(carry) << 16)
        .wrapping_add(u32::from(c2));
    join(high, low)
}

/// `(n / d, n % d)` for a 64-bit `n` and a 32-bit `d`, in 32-bit steps
/// (high word, then low word); `(0, 0)` for `d == 0`, which callers never
/// pass (no division panic is linked either). Inline: the common case, `n`
/// below 2^32, is one 32-bit division.
#[inline]
pub(crate) fn div_rem(n: u64, d: u32) -> (u64, u32) {
    let (hi, lo) = ((n >> 32) as u32, n as u32);
    if d == 0 {
        return (0, 0);
    }
    if hi == 0 {
        return (u64::from(lo / d), lo % d);
    }
    let (q_hi, r) = (hi / d, hi % d);
    let (q_lo, rem) = div_2by1(r, lo, d);
    (join(q_hi, q_lo), rem)
}

/// `u64` from its halves (shifts by a constant: no helper).
fn join(hi: u32, lo: u32) -> u64 {
    (u64::from(hi) << 32) | u64::from(lo)
}

/// Leading zero bits of `x` (32 for 0) in five constant steps: Cortex-M0
/// has no count-leading-zeros instruction (`leading_zeros` would call
/// `__clzsi2` there).
fn nlz(mut x: u32) -> u32 {
    if x == 0 {
        return 32;
    }
    let mut n = 0;
    if x & 0xFFFF_0000 == 0 {
        n += 16;
        x <<= 16;
    }
    if x & 0xFF00_0000 == 0 {
        n += 8;
        x <<= 8;
    }
    if x & 0xF000_0000 == 0 {
        n += 4;
        x <<= 4;
    }
    if x & 0xC000_0000 == 0 {
        n += 2;
        x <<= 2;
    }
    if x & 0x8000_0000 == 0 {
        n += 1;
    }
    n
}

/// `(u1 * 2^32 + u0) / v` and its remainder, for `u1 < v` (so that the
/// quotient fits in 32 bits): Knuth's algorithm D on 16-bit digits
/// (Hacker's Delight, `divlu`), with only 32-bit operations. Each quotient
/// digit's estimate is at most 2 too large once `v` is normalised (its top
/// bit set): the corrections are bounded by that constant. Out of line (a
/// leaf: no frame beyond its registers), for the rare `n >= 2^32`.
#[cfg(not(fusebox_no_hw_div))]
#[inline(never)]
fn div_2by1(u1: u32, u0: u32, v: u32) -> (u32, u32) {
    knuth_2by1(u1, u0, v)
}

/// `div_2by1` on a core without a divide instruction
/// (`cfg(fusebox_no_hw_div)`, ARMv6-M): bit by bit. Knuth's digits there
/// each called `__aeabi_uidiv` (40 bytes of stack on Cortex-M0) with a
/// dozen values live around the calls (spilled: a 64-byte frame), in the
/// deepest chain of every path that divides; this keeps four values in
/// registers and calls nothing, for 32 steps of a few instructions each.
#[cfg(fusebox_no_hw_div)]
#[inline(never)]
fn div_2by1(u1: u32, u0: u32, v: u32) -> (u32, u32) {
    bitwise_2by1(u1, u0, v)
}

/// `(u1 * 2^32 + u0) / v` and its remainder, for `u1 < v`, by restoring
/// division: 32 steps, each shifting the next bit of `u0` into the
/// remainder and the quotient's bit into `u0`'s place. The remainder stays
/// below `v`; when doubling it carries out of 32 bits it is at least `v`,
/// and the wrapping subtraction gives it exactly.
#[cfg_attr(not(any(test, fusebox_no_hw_div)), allow(dead_code))]
#[inline(always)]
fn bitwise_2by1(u1: u32, u0: u32, v: u32) -> (u32, u32) {
    let (mut rem, mut bits) = (u1, u0);
    for _ in 0..32 {
        let carry = rem >> 31;
        rem = (rem << 1) | (bits >> 31);
        bits <<= 1;
        if carry != 0 || rem >= v {
            rem = rem.wrapping_sub(v);
            bits |= 1;
        }
    }
    (bits, rem)
}

/// Knuth's algorithm D for `div_2by1` (see there), on every core with a
/// divide instruction.
#[cfg_attr(fusebox_no_hw_div, allow(dead_code))]
#[inline(always)]
fn knuth_2by1(u1: u32, u0: u32, v: u32) -> (u32, u32) {
    let s = nlz(v); // < 32: v != 0
    let v = v << s;
    let (vn1, vn0) = (v >> 16, v & 0xFFFF); // vn1 >= 2^15
    let un32 = if s == 0 {
        u1
    } else {
        (u1 << s) | (u0 >> (32 - s))
    };
    let un10 = u0 << s;
    let (un1, un0) = (un10 >> 16, un10 & 0xFFFF);
    // Two digits, high then low; `rem` < v before and after each. The
    // true remainder is < v: wrapping arithmetic gives it exactly.
    // Written out (not a loop over an array of the two: that array and
    // its index were spilled, an 88-byte frame on Cortex-M0).
    let q1 = digit(un32, un1, vn1, vn0);
    let rem = (un32 << 16)
        .wrapping_add(un1)
        .wrapping_sub(q1.wrapping_mul(v));
    let q0 = digit(rem, un0, vn1, vn0);
    let rem = (rem << 16)
        .wrapping_add(un0)
        .wrapping_sub(q0.wrapping_mul(v));
    ((q1 << 16) | q0, rem >> s)
}

/// One quotient digit (< 2^16) of `(top * 2^16 + next) / v` for the
/// normalised `v = vn1 * 2^16 + vn0` (`vn1 >= 2^15`) and `top < v`: the
/// estimate `top / vn1`, corrected at most twice.
#[inline(always)]
fn digit(top: u32, next: u32, vn1: u32, vn0: u32) -> u32 {
    const B: u32 = 1 << 16;
    // vn1 != 0: checked all the same, so that no panic is linked.
    let mut q = top.checked_div(vn1).unwrap_or(0);
    let mut rhat = top.wrapping_sub(q.wrapping_mul(vn1));
    for _ in 0..2 {
        // q * vn0 only once q < 2^16 (then < 2^32), and rhat < 2^16.
        if q >= B || q * vn0 > (rhat << 16) + next {
            q -= 1;
            rhat += vn1;
            if rhat < B {
                continue;
            }
        }
        break;
    }
    q
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Edge values of each half and their neighbours.
    fn edges() -> impl Iterator<Item = u64> {
        let words = [
            0u32,
            1,
            2,
            3,
            99,
            100,
            0x7FFF,
            0x8000,
            0xFFFF,
            0x1_0000,
            0x1_0001,
            0x7FFF_FFFF,
            0x8000_0000,
            0x8000_0001,
            0xDEAD_BEEF,
            u32::MAX - 1,
            u32::MAX,
        ];
        words
            .into_iter()
            .flat_map(move |h| words.into_iter().map(move |l| join(h, l)))
    }

    /// A small generator (xorshift64) for inputs beyond the edges.
    fn randoms(n: usize) -> impl Iterator<Item = u64> {
        let mut x = 0x9E37_79B9_7F4A_7C15u64;
        (0..n).map(move |_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        })
    }

    fn check_div(n: u64, d: u32) {
        assert_eq!(
            div_rem(n, d),
            (n / u64::from(d), (n % u64::from(d)) as u32),
            "{n} / {d}"
        );
    }

    #[test]
    fn mul_wide_is_the_u64_product() {
        let words: Vec<u32> = edges().map(|x| x as u32).take(17).collect();
        for &a in &words {
            for &b in &words {
                assert_eq!(mul_wide(a, b), u64::from(a) * u64::from(b), "{a} * {b}");
            }
        }
        for r in randoms(if cfg!(miri) { 30 } else { 100_000 }) {
            let (a, b) = ((r >> 32) as u32, r as u32);
            assert_eq!(mul_wide(a, b), u64::from(a) * u64::from(b), "{a} * {b}");
        }
    }

    #[test]
    fn div_rem_is_the_u64_quotient_and_remainder() {
        // The low halves of the first 17 edges: each edge word once.
        let divisors = edges()
            .take(17)
            .map(|x| x as u32)
            .chain([7, 60, 1000, 86_400_000])
            .filter(|&d| d != 0);
        for d in divisors {
            // Miri: a sample of the numerators (the interpreter is slow).
            let numerators = edges().chain([u64::MAX, u64::MAX - 1, 1 << 63, (1 << 63) - 1]);
            for n in numerators.step_by(if cfg!(miri) { 29 } else { 1 }) {
                check_div(n, d);
            }
        }
        for r in randoms(if cfg!(miri) { 30 } else { 100_000 }) {
            // Divisors of every width, numerators of every width.
            let d = (r as u32) >> (r >> 59);
            let n = r.rotate_left(r as u32 % 64) >> ((r >> 40) % 64);
            if d != 0 {
                check_div(n, d);
            }
        }
        assert_eq!(div_rem(u64::MAX, 0), (0, 0));
    }

    /// Both ways of `div_2by1` (the firmware's for cores without a divide
    /// instruction, and Knuth's), against `u64` division.
    #[test]
    fn both_2by1_are_the_quotient() {
        let words: Vec<u32> = edges().map(|x| x as u32).take(17).collect();
        let randoms = randoms(if cfg!(miri) { 30 } else { 100_000 }).map(|r| r as u32);
        let check = |u1: u32, u0: u32, v: u32| {
            if v == 0 || u1 >= v {
                return;
            }
            let n = join(u1, u0);
            let want = ((n / u64::from(v)) as u32, (n % u64::from(v)) as u32);
            assert_eq!(bitwise_2by1(u1, u0, v), want, "{n} / {v}");
            assert_eq!(knuth_2by1(u1, u0, v), want, "{n} / {v}");
        };
        for &v in &words {
            for &u1 in &words {
                for &u0 in &words {
                    check(u1, u0, v);
                }
            }
        }
        let mut prev = (1, 2);
        for r in randoms {
            // Remainders just below the divisor, and anywhere.
            let (a, b) = prev;
            check(r.wrapping_sub(1 + (a & 7)), b, r);
            check(a % r.max(1), b, r);
            prev = (r, a);
        }
    }

    #[test]
    fn nlz_counts_leading_zeros() {
        for s in 0..32 {
            assert_eq!(nlz(1 << s), 31 - s);
            assert_eq!(nlz(u32::MAX >> s), s);
        }
        assert_eq!(nlz(0), 32);
    }
}
