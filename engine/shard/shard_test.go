package shard

import "testing"

// TestRangeCoversChannels checks that the workers' slices tile every
// channel count exactly once, in order, in multiples of align where they
// can.
func TestRangeCoversChannels(t *testing.T) {
	for _, channels := range []int{3, 8, 10, 64, 100, 2048} {
		for count := 1; count <= 5; count++ {
			next := 0
			for i := range count {
				lo, hi := Range(channels, i, count)
				if lo != next || hi < lo {
					t.Fatalf("Range(%d, %d, %d) = [%d, %d), want it to start at %d", channels, i, count, lo, hi, next)
				}
				if hi != channels && (hi-lo)%align != 0 {
					t.Fatalf("Range(%d, %d, %d) = [%d, %d): width not a multiple of %d", channels, i, count, lo, hi, align)
				}
				next = hi
			}
			if next != channels {
				t.Fatalf("%d workers cover %d of %d channels", count, next, channels)
			}
		}
	}
	if lo, hi := Range(2048, 1, 2); lo != 1024 || hi != 2048 {
		t.Fatalf("Range(2048, 1, 2) = [%d, %d)", lo, hi)
	}
}

// TestRowsCoverRows checks that the workers' row slices tile every row
// count exactly once, in order, in multiples of rowAlign where they can.
func TestRowsCoverRows(t *testing.T) {
	for _, rows := range []int{1, 7, 14, 28, 56, 112} {
		for count := 1; count <= 5; count++ {
			next := 0
			for i := range count {
				lo, hi := Rows(rows, i, count)
				if lo != next || hi < lo || (hi != rows && (hi-lo)%rowAlign != 0) {
					t.Fatalf("Rows(%d, %d, %d) = [%d, %d) after %d", rows, i, count, lo, hi, next)
				}
				next = hi
			}
			if next != rows {
				t.Fatalf("%d workers cover %d of %d rows", count, next, rows)
			}
		}
	}
}

func TestCheck(t *testing.T) {
	for _, c := range []struct{ index, count int }{{0, 0}, {-1, 2}, {2, 2}, {0, MaxWorkers + 1}} {
		if Check(c.index, c.count) == nil {
			t.Errorf("Check(%d, %d) accepted", c.index, c.count)
		}
	}
	if err := Check(1, 2); err != nil {
		t.Error(err)
	}
}
