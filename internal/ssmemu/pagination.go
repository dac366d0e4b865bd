package ssmemu

import (
	"encoding/base64"
	"strconv"
	"strings"
)

// Tokens are opaque to clients but bound to the operation that issued them,
// so a token replayed to another operation is InvalidNextToken as on AWS.
func encodeToken(op string, offset int) *string {
	s := base64.RawURLEncoding.EncodeToString([]byte("ssmemu/" + op + "/" + strconv.Itoa(offset)))
	return &s
}

func decodeToken(op string, tok *string) (int, error) {
	if tok == nil || *tok == "" {
		return 0, nil
	}
	raw, err := base64.RawURLEncoding.DecodeString(*tok)
	if err != nil {
		return 0, clientErr("InvalidNextToken", "the specified token is not valid")
	}
	rest, ok := strings.CutPrefix(string(raw), "ssmemu/"+op+"/")
	n, err := strconv.Atoi(rest)
	if !ok || err != nil || n < 0 {
		return 0, clientErr("InvalidNextToken", "the specified token is not valid")
	}
	return n, nil
}

// page cuts items[offset:offset+size] and says where the next page starts.
func page[T any](op string, items []T, offset, size int) ([]T, *string) {
	if offset > len(items) {
		offset = len(items)
	}
	end := min(offset+size, len(items))
	var next *string
	if end < len(items) {
		next = encodeToken(op, end)
	}
	return items[offset:end], next
}
