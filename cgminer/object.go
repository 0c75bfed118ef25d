package cgminer

import (
	"encoding/json"
	"math"
	"strconv"
	"strings"
)

// Object is one JSON object of a reply (a SUMMARY entry, a pool, a STATS block). Its
// getters accept the shapes firmware sends for one value: a number, or a number in a
// string ("GHS 5s":"54997.01" in bmminer/stats-s17pro.json, "Step":"-16" in
// luxminer/profiles-s19kpro.json, "power_limit_set":"3600" in
// whatsminer-v2/status-api2.x-power-limit.json).
type Object map[string]any

// String returns the value as a string: strings as they are, numbers and booleans as
// JSON writes them, "" for a missing key or null.
func (o Object) String(key string) string {
	switch v := o[key].(type) {
	case string:
		return v
	case json.Number:
		return v.String()
	case float64:
		return strconv.FormatFloat(v, 'g', -1, 64)
	case bool:
		return strconv.FormatBool(v)
	}
	return ""
}

// Float returns the value as a finite number. Numbers in strings count, also wrapped
// in single quotes as Whatsminer writes some values ("'20201202.22.REL'"). It reports
// false for a missing key, null (the repaired nan), text and infinities.
func (o Object) Float(key string) (float64, bool) {
	var f float64
	var err error
	switch v := o[key].(type) {
	case json.Number:
		f, err = v.Float64()
	case float64:
		f = v
	case string:
		f, err = strconv.ParseFloat(strings.TrimSpace(strings.Trim(v, "'")), 64)
	default:
		return 0, false
	}
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, false
	}
	return f, true
}

// Int returns the value as an integer, rounding a fractional number toward zero. It
// reports false where Float does, and for numbers beyond int64.
func (o Object) Int(key string) (int64, bool) {
	if n, ok := o[key].(json.Number); ok {
		if i, err := n.Int64(); err == nil {
			return i, true
		}
	}
	f, ok := o.Float(key)
	if !ok || f >= math.MaxInt64 || f <= math.MinInt64 {
		return 0, false
	}
	return int64(f), true
}

// Bool returns the value as a boolean: true and false, and the strings "true",
// "false", "Y" and "N" that cgminer and Whatsminer use.
func (o Object) Bool(key string) (value, ok bool) {
	switch v := o[key].(type) {
	case bool:
		return v, true
	case string:
		switch strings.ToLower(strings.Trim(v, "'")) {
		case "true", "y", "yes":
			return true, true
		case "false", "n", "no":
			return false, true
		}
	}
	return false, false
}

// Has reports whether the key is present.
func (o Object) Has(key string) bool {
	_, ok := o[key]
	return ok
}
