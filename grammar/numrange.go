package grammar

import (
	"fmt"
	"math/big"
	"strings"
)

// maxBoundDigits bounds the integer digits of a minimum or maximum: a
// bound past float64's range would force numbers encoding/json cannot
// read.
const maxBoundDigits = 300

// bound is a minimum or maximum; v nil means none.
type bound struct {
	v    *big.Rat
	excl bool
}

// bounds reads minimum, maximum, exclusiveMinimum and exclusiveMaximum
// (numbers, or draft-4 booleans beside minimum/maximum), keeping the
// tighter of two lower or upper bounds.
func bounds(s *jnode, path string) (lo, hi bound, err error) {
	num := func(kw string) (*big.Rat, *jnode, error) {
		v := s.get(kw)
		if v == nil || v.t == jBool && strings.HasPrefix(kw, "exclusive") {
			return nil, v, nil
		}
		r, ok := v.rat()
		if !ok {
			return nil, nil, errf(path, kw, ErrSchema, "%s must be a number", kw)
		}
		if len(new(big.Int).Quo(r.Num(), r.Denom()).String()) > maxBoundDigits {
			return nil, nil, errf(path, kw, ErrUnsupported, "%s %s is beyond the range of float64", kw, v.s)
		}
		return r, v, nil
	}
	for _, side := range []struct {
		kw, excl string
		b        *bound
		tighter  int
	}{{"minimum", "exclusiveMinimum", &lo, 1}, {"maximum", "exclusiveMaximum", &hi, -1}} {
		v, _, err := num(side.kw)
		if err != nil {
			return lo, hi, err
		}
		*side.b = bound{v: v}
		e, en, err := num(side.excl)
		if err != nil {
			return lo, hi, err
		}
		switch {
		case en != nil && en.t == jBool:
			if en.b {
				if v == nil {
					return lo, hi, errf(path, side.excl, ErrSchema, "%s true needs %s", side.excl, side.kw)
				}
				side.b.excl = true
			}
		case e != nil:
			if v == nil || e.Cmp(v)*side.tighter >= 0 {
				*side.b = bound{v: e, excl: true}
			}
		}
	}
	return lo, hi, nil
}

// number returns the rule of the numbers (integers if integer) that
// satisfy s's bounds. With bounds, numbers are written without an
// exponent.
func (c *compiler) number(s *jnode, path string, integer bool) (int32, error) {
	lo, hi, err := bounds(s, path)
	if err != nil {
		return 0, err
	}
	if lo.v == nil && hi.v == nil {
		if integer {
			return c.b.integer()
		}
		return c.b.number()
	}
	if integer {
		return c.intRange(lo, hi, path)
	}
	return c.decRange(lo, hi, path)
}

func floor(r *big.Rat) *big.Int { return new(big.Int).Div(r.Num(), r.Denom()) } // Euclidean: floor for a positive denominator

func ceil(r *big.Rat) *big.Int { return new(big.Int).Neg(floor(new(big.Rat).Neg(r))) }

// intRange returns the rule of the integers within lo and hi.
func (c *compiler) intRange(lo, hi bound, path string) (int32, error) {
	var l, h *big.Int // nil: unbounded
	if lo.v != nil {
		if lo.excl {
			l = new(big.Int).Add(floor(lo.v), big.NewInt(1))
		} else {
			l = ceil(lo.v)
		}
	}
	if hi.v != nil {
		if hi.excl {
			h = new(big.Int).Sub(ceil(hi.v), big.NewInt(1))
		} else {
			h = floor(hi.v)
		}
	}
	var alts [][]item
	if h == nil || h.Sign() >= 0 {
		a := new(big.Int)
		if l != nil && l.Sign() > 0 {
			a = l
		}
		u, err := c.uintAlts(a, h, path)
		if err != nil {
			return 0, err
		}
		alts = append(alts, u...)
	}
	if l == nil || l.Sign() < 0 {
		mlo := big.NewInt(1)
		if h != nil && h.Sign() < 0 {
			mlo = new(big.Int).Neg(h)
		}
		var mhi *big.Int
		if l != nil {
			mhi = new(big.Int).Neg(l)
		}
		u, err := c.uintAlts(mlo, mhi, path)
		if err != nil {
			return 0, err
		}
		if len(u) > 0 {
			r, err := c.b.rule(path, u...)
			if err != nil {
				return 0, err
			}
			alts = append(alts, one(c.b.set(setOf('-')), ref(r)))
		}
	}
	return c.b.rule(path, alts...)
}

// uintAlts returns alternatives matching the decimal integers from lo to
// hi without leading zeros (hi nil: up to maxIntDigits digits, or as many
// as lo has).
func (c *compiler) uintAlts(lo, hi *big.Int, path string) ([][]item, error) {
	if hi != nil && lo.Cmp(hi) > 0 {
		return nil, nil
	}
	ls := lo.String()
	hs := strings.Repeat("9", max(maxIntDigits, len(ls)))
	if hi != nil {
		hs = hi.String()
	}
	if len(ls) == len(hs) {
		return c.sameLen(ls, hs, path)
	}
	alts, err := c.sameLen(ls, strings.Repeat("9", len(ls)), path)
	if err != nil {
		return nil, err
	}
	if len(ls)+1 < len(hs) { // every number of the lengths between
		alts = append(alts, one(c.b.set(rangeSet('1', '9')), rep(c.b.digit(), int32(len(ls)), int32(len(hs)-2))))
	}
	top, err := c.sameLen("1"+strings.Repeat("0", len(hs)-1), hs, path)
	return append(alts, top...), err
}

// sameLen returns alternatives matching the digit strings of len(lo) from
// lo to hi.
func (c *compiler) sameLen(lo, hi, path string) ([][]item, error) {
	n := len(lo)
	if n == 0 {
		return [][]item{nil}, nil
	}
	if strings.Trim(lo, "0") == "" && strings.Trim(hi, "9") == "" {
		return [][]item{one(rep(c.b.digit(), int32(n), int32(n)))}, nil
	}
	sub := func(a, b string) ([]item, error) {
		if len(a) == 0 {
			return nil, nil
		}
		alts, err := c.sameLen(a, b, path)
		if err != nil {
			return nil, err
		}
		if len(alts) == 1 {
			return alts[0], nil
		}
		r, err := c.b.rule(path, alts...)
		return one(ref(r)), err
	}
	if lo[0] == hi[0] {
		s, err := sub(lo[1:], hi[1:])
		return [][]item{append(one(c.b.set(setOf(lo[0]))), s...)}, err
	}
	s, err := sub(lo[1:], strings.Repeat("9", n-1))
	if err != nil {
		return nil, err
	}
	alts := [][]item{append(one(c.b.set(setOf(lo[0]))), s...)}
	if lo[0]+1 <= hi[0]-1 {
		a := one(c.b.set(rangeSet(lo[0]+1, hi[0]-1)))
		if n > 1 {
			a = append(a, rep(c.b.digit(), int32(n-1), int32(n-1)))
		}
		alts = append(alts, a)
	}
	if s, err = sub(strings.Repeat("0", n-1), hi[1:]); err != nil {
		return nil, err
	}
	return append(alts, append(one(c.b.set(setOf(hi[0]))), s...)), nil
}

// decRange returns the rule of the decimal numbers within lo and hi.
func (c *compiler) decRange(lo, hi bound, path string) (int32, error) {
	var alts [][]item
	if hi.v == nil || hi.v.Sign() > 0 || hi.v.Sign() == 0 && !hi.excl {
		mlo := bound{v: new(big.Rat)}
		if lo.v != nil && lo.v.Sign() >= 0 {
			mlo = lo
		}
		a, err := c.magnitude(mlo, hi, path)
		if err != nil {
			return 0, err
		}
		alts = append(alts, a...)
	}
	if lo.v == nil || lo.v.Sign() < 0 {
		mlo := bound{v: new(big.Rat), excl: true} // -0 is left to the other side
		if hi.v != nil && hi.v.Sign() < 0 {
			mlo = bound{v: new(big.Rat).Neg(hi.v), excl: hi.excl}
		}
		var mhi bound
		if lo.v != nil {
			mhi = bound{v: new(big.Rat).Neg(lo.v), excl: lo.excl}
		}
		a, err := c.magnitude(mlo, mhi, path)
		if err != nil {
			return 0, err
		}
		if len(a) > 0 {
			r, err := c.b.rule(path, a...)
			if err != nil {
				return 0, err
			}
			alts = append(alts, one(c.b.set(setOf('-')), ref(r)))
		}
	}
	return c.b.rule(path, alts...)
}

// decimal splits r ≥ 0 into its integer part and its fraction digits
// (no trailing zeros).
func decimal(r *big.Rat, path string) (*big.Int, string, error) {
	ip := floor(r)
	rem := new(big.Rat).Sub(r, new(big.Rat).SetInt(ip))
	var f strings.Builder
	ten := big.NewRat(10, 1)
	for rem.Sign() != 0 {
		if f.Len() == maxFracDigits {
			return nil, "", errf(path, "", ErrUnsupported, "a bound with more than %d fraction digits (%s) is not supported", maxFracDigits, r.FloatString(maxFracDigits+1))
		}
		rem.Mul(rem, ten)
		d := floor(rem)
		f.WriteByte(byte('0' + d.Int64()))
		rem.Sub(rem, new(big.Rat).SetInt(d))
	}
	return ip, f.String(), nil
}

// magnitude returns alternatives matching the numbers I or I.F (no sign,
// no exponent) from a to b (a.v ≥ 0; b.v nil: unbounded).
func (c *compiler) magnitude(a, b bound, path string) ([][]item, error) {
	if b.v != nil {
		if k := a.v.Cmp(b.v); k > 0 || k == 0 && (a.excl || b.excl) {
			return nil, nil
		}
	}
	ai, af, err := decimal(a.v, path)
	if err != nil {
		return nil, err
	}
	lower := fracState{lk: fGeq, lf: af}
	if a.excl {
		lower.lk = fGt
	}
	var alts [][]item
	add := func(intPart []item, st fracState) error {
		f, ok, err := c.fraction(st, path)
		if err != nil || !ok {
			return err
		}
		alts = append(alts, append(intPart, f...))
		return nil
	}
	one1 := big.NewInt(1)
	if b.v == nil {
		if err := add(c.b.lit(ai.String()), lower); err != nil {
			return nil, err
		}
		u, err := c.uintAlts(new(big.Int).Add(ai, one1), nil, path)
		if err != nil || len(u) == 0 {
			return alts, err
		}
		r, err := c.b.rule(path, u...)
		if err != nil {
			return nil, err
		}
		return alts, add(one(ref(r)), fracState{})
	}
	bi, bf, err := decimal(b.v, path)
	if err != nil {
		return nil, err
	}
	upper := fracState{uk: fLeq, uf: bf}
	if b.excl {
		upper.uk = fLt
	}
	if ai.Cmp(bi) == 0 {
		st := lower
		st.uk, st.uf = upper.uk, upper.uf
		return alts, add(c.b.lit(ai.String()), st)
	}
	if err := add(c.b.lit(ai.String()), lower); err != nil {
		return nil, err
	}
	u, err := c.uintAlts(new(big.Int).Add(ai, one1), new(big.Int).Sub(bi, one1), path)
	if err != nil {
		return nil, err
	}
	if len(u) > 0 {
		r, err := c.b.rule(path, u...)
		if err != nil {
			return nil, err
		}
		if err := add(one(ref(r)), fracState{}); err != nil {
			return nil, err
		}
	}
	return alts, add(c.b.lit(bi.String()), upper)
}

// Fraction constraints: the digits F after the point (none: 0) compared
// with a bound's fraction digits f, as strings padded with zeros.
const (
	fAny = iota
	fGeq // F ≥ f (lower side) or F ≤ f (upper side, fLeq)
	fGt  // F > f, or F < f (fLt)
	fLeq = fGeq
	fLt  = fGt
)

type fracState struct {
	lk, uk int
	lf, uf string
}

func (s fracState) norm() fracState {
	if s.lk == fGeq && s.lf == "" {
		s.lk = fAny
	}
	return s
}

// step returns the state after digit d, or false if d breaks a bound.
func (s fracState) step(d byte) (fracState, bool) {
	switch s.lk {
	case fGeq, fGt:
		switch {
		case s.lf == "": // fGt "": the digits must not all be 0
			if d > '0' {
				s.lk = fAny
			}
		case d > s.lf[0]:
			s.lk, s.lf = fAny, ""
		case d == s.lf[0]:
			s.lf = s.lf[1:]
		default:
			return s, false
		}
	}
	switch s.uk {
	case fLeq, fLt:
		switch {
		case s.uf == "": // fLeq "": only zeros; fLt "": nothing
			if d > '0' || s.uk == fLt {
				return s, false
			}
		case d < s.uf[0]:
			s.uk, s.uf = fAny, ""
		case d == s.uf[0]:
			s.uf = s.uf[1:]
		default:
			return s, false
		}
	}
	return s.norm(), true
}

// empty reports whether no more digits satisfy the bounds (F ends here).
func (s fracState) empty() bool {
	return s.lk == fAny && (s.uk != fLt || s.uf != "")
}

func (s fracState) key(k int) string {
	return fmt.Sprintf("frac:%d:%s:%d:%s:%d", s.lk, s.lf, s.uk, s.uf, k)
}

// fraction returns the items of the optional fraction part under st, or
// false if none satisfies it.
func (c *compiler) fraction(st fracState, path string) ([]item, bool, error) {
	st = st.norm()
	digits, ok, err := c.fracDigits(st, maxFracDigits, true, path)
	if err != nil {
		return nil, false, err
	}
	var alts [][]item
	if st.empty() {
		alts = append(alts, nil)
	}
	if ok {
		alts = append(alts, append(one(c.b.set(setOf('.'))), digits...))
	}
	if len(alts) == 0 {
		return nil, false, nil
	}
	if len(alts) == 1 {
		return alts[0], true, nil
	}
	r, err := c.b.rule(path, alts...)
	return one(ref(r)), true, err
}

// fracDigits returns items matching 1 to k digits (0 to k when !nonEmpty)
// that satisfy st, or false if none do.
func (c *compiler) fracDigits(st fracState, k int, nonEmpty bool, path string) ([]item, bool, error) {
	if st.lk == fAny && st.uk == fAny {
		lo := int32(0)
		if nonEmpty {
			lo = 1
		}
		if k == 0 {
			return nil, !nonEmpty, nil
		}
		return one(rep(c.b.digit(), lo, int32(k))), true, nil
	}
	key := st.key(k)
	if nonEmpty {
		key += "+"
	}
	if r, ok := c.b.memo[key]; ok {
		return one(ref(r)), len(c.b.rules[r]) > 0, nil
	}
	var alts [][]item
	if !nonEmpty && st.empty() {
		alts = append(alts, nil)
	}
	if k > 0 {
		var sets []byteSet
		var next []fracState
		for d := byte('0'); d <= '9'; d++ {
			ns, ok := st.step(d)
			if !ok {
				continue
			}
			i := 0
			for i < len(next) && next[i] != ns {
				i++
			}
			if i == len(next) {
				next, sets = append(next, ns), append(sets, byteSet{})
			}
			sets[i].add(d)
		}
		for i, ns := range next {
			rest, ok, err := c.fracDigits(ns, k-1, false, path)
			if err != nil {
				return nil, false, err
			}
			if ok {
				alts = append(alts, append(one(c.b.set(sets[i])), rest...))
			}
		}
	}
	if len(alts) == 0 {
		return nil, false, nil
	}
	if len(alts) == 1 && len(alts[0]) == 0 {
		return nil, true, nil
	}
	r, err := c.b.rule(path, alts...)
	if err != nil {
		return nil, false, err
	}
	c.b.memo[key] = r
	return one(ref(r)), true, nil
}
