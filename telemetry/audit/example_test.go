package audit_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log"
	"os"
	"path/filepath"

	"tally/db"
	"tally/telemetry/audit"
	"tally/telemetry/value"
)

// A program that embeds tally stores its own backend events with Submit.
// With audit-log on (telemetry stays on by default) one event becomes a
// full backend row and an anonymous telemetry row, in one transaction;
// the password never reaches either.
func ExampleLogger_Submit() {
	dir, err := os.MkdirTemp("", "tally-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)

	ctx := context.Background()
	d, err := db.Open(ctx, filepath.Join(dir, "tally.db"))
	if err != nil {
		log.Fatal(err)
	}
	defer d.Close()

	flags, err := audit.ParseFlags("enable-audit-log", audit.DefaultFlags())
	if err != nil {
		log.Fatal(err)
	}
	logger := &audit.Logger{Store: d, Flags: flags}

	props := &value.Map{}
	props.Append(value.K("email-domain"), "example.com")
	props.Append(value.K("password"), "hunter2")
	err = logger.Submit(ctx, audit.Event{Name: "update-profile", Type: audit.TypeAction, Props: props})
	if err != nil {
		log.Fatal(err)
	}

	// Print the stored rows as `tally events` would, less the fields
	// that change from run to run (id and times).
	err = d.List(ctx, db.ListOptions{}, func(r db.Row) error {
		b, err := audit.RowJSON(r)
		if err != nil {
			return err
		}
		var row struct {
			Source, Name, Type string
			ProfileID          string          `json:"profile_id"`
			IPAddr             string          `json:"ip_addr"`
			Props              json.RawMessage `json:"props"`
		}
		if err := json.Unmarshal(b, &row); err != nil {
			return err
		}
		fmt.Println(row.Source, row.Name, row.Type, row.ProfileID, row.IPAddr, string(row.Props))
		return nil
	})
	if err != nil {
		log.Fatal(err)
	}
	// Output:
	// backend update-profile action 00000000-0000-0000-0000-000000000000 0.0.0.0 {"email-domain":"example.com"}
	// telemetry update-profile action 00000000-0000-0000-0000-000000000000 0.0.0.0 {}
}
