package memo

import (
	"bytes"
	"strings"
	"testing"
)

func TestRecent(t *testing.T) {
	var r Recent[string]
	put := func(key, val string) {
		t.Helper()
		v := r.Put([]byte(key))
		if v == nil {
			t.Fatalf("Put(%q) = nil", key)
		}
		*v = val
	}
	get := func(key string) (string, bool) {
		v := r.Get([]byte(key))
		if v == nil {
			return "", false
		}
		return *v, true
	}
	if _, ok := get(""); ok {
		t.Fatal("empty Recent has the empty key")
	}
	put("", "empty")
	put("abc", "1")
	put("abd", "2") // same length, last byte differs
	put("ab", "3")  // a prefix
	for _, tc := range []struct {
		key, want string
		ok        bool
	}{{"", "empty", true}, {"abc", "1", true}, {"abd", "2", true}, {"ab", "3", true}, {"abe", "", false}, {"a", "", false}, {"abcd", "", false}} {
		if got, ok := get(tc.key); got != tc.want || ok != tc.ok {
			t.Errorf("Get(%q) = %q, %t; want %q, %t", tc.key, got, ok, tc.want, tc.ok)
		}
	}
	// The oldest goes first.
	put("new", "4")
	if _, ok := get(""); ok {
		t.Error(`"" still there after a fifth Put`)
	}
	if got, ok := get("abc"); !ok || got != "1" {
		t.Errorf(`Get("abc") = %q, %t after a fifth Put`, got, ok)
	}
	// Put reuses the slot it overwrites: the caller sees the old value.
	if v := r.Put([]byte("newer")); v == nil || *v != "1" {
		t.Errorf(`Put("newer") gave the slot %v, want the one of "abc"`, v)
	}
}

func TestRecentKeepsCopies(t *testing.T) {
	var r Recent[int]
	key := []byte("hello")
	*r.Put(key) = 1
	copy(key, "jello") // the caller's buffer is reused for another message
	if v := r.Get(key); v != nil {
		t.Errorf("Get(%q) = %d: the key was not copied", key, *v)
	}
	if v := r.Get([]byte("hello")); v == nil || *v != 1 {
		t.Errorf(`Get("hello") = %v, want 1`, v)
	}
}

func TestRecentMaxKey(t *testing.T) {
	var r Recent[int]
	long := bytes.Repeat([]byte("x"), MaxKey+1)
	if v := r.Put(long); v != nil {
		t.Fatalf("Put of %d bytes stored it", len(long))
	}
	if r.Get(long) != nil {
		t.Fatal("Get found a key longer than MaxKey")
	}
	*r.Put(long[:MaxKey]) = 7
	if v := r.Get([]byte(strings.Repeat("x", MaxKey))); v == nil || *v != 7 {
		t.Fatalf("key of MaxKey bytes: Get = %v", v)
	}
}

func TestRecentBoundsBytes(t *testing.T) {
	var r Recent[[]byte]
	small := []byte("small")
	*r.Put(small) = []byte("s")
	big := bytes.Repeat([]byte("b"), MaxKey-10)
	*r.Put(big) = bytes.Repeat([]byte("v"), 100<<10)
	if r.Get(small) == nil || r.Get(big) == nil {
		t.Fatal("within MaxKey bytes, a key was dropped")
	}
	third := []byte("third!")
	*r.Put(third) = []byte("t")
	if r.Get(small) != nil {
		t.Error("over MaxKey bytes, the oldest key was kept")
	}
	if r.Get(big) == nil || r.Get(third) == nil {
		t.Error("over MaxKey bytes, more than the oldest key went")
	}
	// The big key's slot, reused for short keys, lets its buffers go.
	*r.Put([]byte("4")) = nil
	*r.Put([]byte("5")) = nil
	v := r.Put([]byte("6"))
	if v == nil || *v != nil {
		t.Fatalf("the slot of the big key kept its value: %d bytes", len(*v))
	}
	if c := cap(r.keys[1]); c > keepCap {
		t.Errorf("the slot of the big key kept a %d-byte buffer", c)
	}
}
