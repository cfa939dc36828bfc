//go:build linux

package replay

import (
	"slices"
	"testing"
)

func TestFlagged(t *testing.T) {
	tests := []struct {
		in   string
		flag byte
		want string
	}{
		{"1.M1P1Q1.h,S=5,W=5:2,", 'S', "1.M1P1Q1.h,S=5,W=5:2,S"},
		{"1.M1P1Q1.h,S=5,W=5:2,S", 'S', "1.M1P1Q1.h,S=5,W=5:2,"},
		{"x:2,S", 'F', "x:2,FS"},
		{"x:2,FRS", 'R', "x:2,FS"},
		{"x", 'S', "x:2,S"},
	}
	for _, tt := range tests {
		if got := flagged(tt.in, tt.flag); got != tt.want {
			t.Errorf("flagged(%q, %c) = %q, want %q", tt.in, tt.flag, got, tt.want)
		}
	}
}

func TestMessageName(t *testing.T) {
	got := messageName(1709539200, 42, 3, 7, sanitizeHost("mx1/a:b"), 6400, 6500)
	want := `1709539200.M42P3Q7.mx1\057a\072b,S=6400,W=6500`
	if got != want {
		t.Errorf("messageName = %q, want %q", got, want)
	}
}

func TestCheckpoints(t *testing.T) {
	tests := []struct {
		in, want []int
	}{
		{[]int{1000, 10000}, []int{250, 500, 1000, 2154, 4642, 10000}},
		{[]int{10000, 1000, 1000}, []int{250, 500, 1000, 2154, 4642, 10000}},
		{[]int{1000, 10000, 100000}, []int{250, 500, 1000, 2154, 4642, 10000, 21544, 46416, 100000}},
		{[]int{100}, []int{25, 50, 100}},
		{[]int{4, 8}, []int{4, 5, 6, 8}},
		{nil, nil},
	}
	for _, tt := range tests {
		if got := Checkpoints(tt.in); !slices.Equal(got, tt.want) {
			t.Errorf("Checkpoints(%v) = %v, want %v", tt.in, got, tt.want)
		}
	}
}
