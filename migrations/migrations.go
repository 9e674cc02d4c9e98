// Package migrations holds tally's schema changes as numbered SQL files,
// embedded in the binary and applied by goose (see db.Open).
package migrations

import "embed"

// FS holds the *.sql migration files, named NNNNN_what.sql.
//
//go:embed *.sql
var FS embed.FS
