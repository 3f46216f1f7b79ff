// Package awsjson writes SDK values the way the AWS JSON protocols and the
// aws CLI's --cli-input-json spell them: lowerCamel member names, timestamps
// as epoch seconds, unset members left out.
package awsjson

import (
	"reflect"
	"time"
	"unicode"
	"unicode/utf8"
)

// Value returns v as plain maps, slices and scalars ready for encoding/json.
func Value(v any) any { return value(reflect.ValueOf(v)) }

var timeType = reflect.TypeFor[time.Time]()

func value(v reflect.Value) any {
	switch v.Kind() {
	case reflect.Invalid:
		return nil
	case reflect.Pointer, reflect.Interface:
		if v.IsNil() {
			return nil
		}
		return value(v.Elem())
	case reflect.Slice:
		if v.IsNil() {
			return nil
		}
		out := make([]any, v.Len())
		for i := range out {
			out[i] = value(v.Index(i))
		}
		return out
	case reflect.Map:
		out := make(map[string]any, v.Len())
		for _, k := range v.MapKeys() {
			out[k.String()] = value(v.MapIndex(k))
		}
		return out
	case reflect.Struct:
		if v.Type() == timeType {
			return float64(v.Interface().(time.Time).UnixMilli()) / 1000
		}
		out := map[string]any{}
		for i := range v.NumField() {
			f := v.Type().Field(i)
			if !f.IsExported() {
				continue
			}
			fv := v.Field(i)
			switch fv.Kind() {
			case reflect.Pointer, reflect.Slice, reflect.Map, reflect.Interface:
				if fv.IsNil() {
					continue
				}
			case reflect.String:
				if fv.Len() == 0 {
					continue // an unset enum
				}
			}
			out[lowerFirst(f.Name)] = value(fv)
		}
		return out
	default:
		return v.Interface()
	}
}

func lowerFirst(s string) string {
	r, n := utf8.DecodeRuneInString(s)
	return string(unicode.ToLower(r)) + s[n:]
}
