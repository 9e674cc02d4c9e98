package db

import (
	"context"
	"fmt"
	"testing"
)

// ShipPage walks the telemetry rows in the same order as TelemetryPage,
// page after page from a cursor, across rows that share a created_at and
// rows that do not, skipping other sources.
func TestShipPageWalksInOrder(t *testing.T) {
	ctx := context.Background()
	d := mustOpenDB(t)
	day := int64(86400000)
	var rows []Row
	for i := range 23 {
		rows = append(rows, testRow(SourceTelemetry, fmt.Sprint(i), int64(i/5)*day))
		if i%4 == 0 {
			rows = append(rows, testRow(SourceFrontend, "audit", 0))
		}
	}
	mustInsert(t, d, rows...)
	var want []string
	if err := d.TelemetryPage(ctx, 100, func(r *Row) error { want = append(want, r.Name); return nil }); err != nil {
		t.Fatal(err)
	}
	for _, size := range []int{1, 3, 5, 7, 23, 50} {
		var got []string
		var c, s int64
		for pages := 0; ; pages++ {
			n := 0
			err := d.ShipPage(ctx, c, s, size, func(r *Row) error {
				if r.Source != SourceTelemetry || r.Props != "{}" || r.TrackedAt != r.CreatedAt {
					return fmt.Errorf("row %+v", r)
				}
				got = append(got, r.Name)
				c, s = r.CreatedAt, r.Seq
				n++
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			if n > size || pages > 30 {
				t.Fatalf("size %d: page of %d rows", size, n)
			}
			if n == 0 {
				break
			}
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("size %d: ShipPage walked %v, want %v", size, got, want)
		}
	}
}
